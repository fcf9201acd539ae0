-- mcptest.cli: the command line. main(argv) returns the exit code
-- (DESIGN.md: 0 passed, 1 failed, 2 usage or load error, 3 server
-- unreachable outside a test).
--
-- A registry of verbs: each is a module of this folder (run.lua,
-- tools.lua, ...) declaring its usage, help and option table, and a
-- main(opts, words, passthrough). mcptest.cli.parse parses the words
-- against the verb's table; mcptest.cli.help generates every help text
-- from the tables. Only the verb that runs is loaded, so a trivial script
-- starts fast. `mcptest SCRIPT.lua ...` is the run verb, implicitly.
local parse = require("mcptest.cli.parse")

local M = {}

-- name -> module, in the order `mcptest --help` lists them.
M.verbs = {
  { "run", "mcptest.cli.run" },
  { "report", "mcptest.cli.report" },
  { "compile", "mcptest.cli.compile" },
  { "scaffold", "mcptest.cli.scaffold" },
  { "tools", "mcptest.cli.tools" },
  { "call", "mcptest.cli.call" },
  { "serve", "mcptest.cli.serve" },
  { "login", "mcptest.cli.login" },
  { "logout", "mcptest.cli.logout" },
  { "auth", "mcptest.cli.auth" },
  { "discover", "mcptest.cli.discover" },
  { "server", "mcptest.cli.server" },
  { "test", "mcptest.cli.test" },
  { "doctor", "mcptest.cli.doctor" },
  { "load", "mcptest.cli.load" },
  { "mcp-server", "mcptest.cli.mcp_server" },
  { "help", "mcptest.cli.help" },
}
local modules, names = {}, {}
for _, v in ipairs(M.verbs) do
  modules[v[1]] = v[2]
  names[#names + 1] = v[1]
end

-- DESIGN.md's verbs that are not built yet: they say so (exit 2) instead
-- of being taken for a script's name. The help lists none of them.
local PLANNED = {}

-- The module of a verb, or nil.
function M.verb(name)
  local mod = modules[name]
  return mod and require(mod)
end

local function usage_error(msg, verb, hint)
  return require("mcptest.cli.common").usage_error(msg, verb, hint)
end

-- A word in a verb's place that names no verb: exit 2, with a suggestion.
function M.unknown_command(name)
  if PLANNED[name] then
    return usage_error("'" .. name .. "' is not available in this build yet (planned; see DESIGN.md)")
  end
  local s = parse.suggest(name, names)
  return usage_error("unknown command " .. name .. (s and (" (did you mean " .. s .. "?)")
    or (" (commands: " .. table.concat(names, ", ") .. ")")))
end

-- .env in the working directory: KEY=VALUE lines; never overrides.
function M.load_dotenv(path)
  local f = io.open(path or ".env", "r")
  if not f then return end
  local sys = require("mcptest.core.sys")
  for line in f:lines() do
    local k, v = line:match("^%s*export%s+([%w_]+)%s*=%s*(.-)%s*$")
    if not k then k, v = line:match("^%s*([%w_]+)%s*=%s*(.-)%s*$") end
    if k and os.getenv(k) == nil then
      local q = v:sub(1, 1)
      if q == '"' then -- "value" with \" \\ \n escapes, then an optional comment
        local inner = v:match('^"(.*)"%s*#.*$') or v:match('^"(.*)"%s*$') or v:sub(2)
        v = inner:gsub("\\(.)", { n = "\n", ['"'] = '"', ["\\"] = "\\" })
      elseif q == "'" then -- 'value' literally, then an optional comment
        v = v:match("^'(.*)'%s*#.*$") or v:match("^'(.*)'%s*$") or v:sub(2)
      else
        v = v:gsub("%s+#.*$", "")
      end
      sys.setenv(k, v)
    end
  end
  f:close()
end

-- Is word a typo of a verb rather than a script? Only a bare word (no
-- dot, no slash) close to a verb's name, with no file of that name.
local function typo_of_verb(word)
  if word:find("[./]") or word:sub(1, 1) == "-" or not parse.suggest(word, names) then return false end
  local f = io.open(word, "r")
  if f then f:close(); return false end
  return true
end

function M.main(argv)
  local first = argv[1]
  if first == nil then
    io.stderr:write(require("mcptest.cli.help").overview(), "\n")
    return 2
  end
  if first == "--version" then
    io.write("mcptest ", require("mcptest.protocol").VERSION, "\n")
    return 0
  end
  if first == "--help" or first == "-h" then
    io.write(require("mcptest.cli.help").overview(), "\n")
    return 0
  end

  local name, start, mode = first, 2, nil
  if not modules[first] then
    if PLANNED[first] or typo_of_verb(first) then return M.unknown_command(first) end
    name, start, mode = "run", 1, "script" -- mcptest SCRIPT.lua ...
  end
  local verb = M.verb(name)
  local opts, words, pass = parse.parse(verb, argv, start, mode or verb.words)
  if not opts then return usage_error(words, name, pass) end
  if opts["--help"] then
    io.write(require("mcptest.cli.help").verb_text(verb), "\n")
    return 0
  end
  M.load_dotenv()
  return verb.main(opts, words, pass, mode == "script")
end

return M
