-- mcptest.cli: the command line. main(argv) returns the exit code
-- (DESIGN.md: 0 passed, 1 failed, 2 usage or load error, 3 server
-- unreachable outside a test). Modules a command does not need are not
-- loaded, so a trivial run starts fast.
local M = {}

local VERSION = require("mcptest.protocol").VERSION

-- Options every verb accepts; value = number of arguments it takes.
local OPTIONS = {
  ["-o"] = 1, ["--output"] = 1, ["--output-file"] = 1, ["--filter"] = 1, ["--filter-out"] = 1,
  ["--tags"] = 1, ["--exclude-tags"] = 1, ["-j"] = 1, ["--verbose"] = 0, ["-v"] = 0,
  ["--timeout"] = 1, ["--json"] = 0, ["--help"] = 0, ["-h"] = 0, ["--test-timeout"] = 1,
  -- server flags
  ["--url"] = 1, ["--stdio"] = 1, ["--bearer-token-env"] = 1, ["--header"] = 1,
  ["--protocol"] = 1, ["--cacert"] = 1, ["--insecure"] = 0, ["--tool"] = 1, ["--args"] = 1,
  -- serve (the fixture server)
  ["--port"] = 1, ["--config"] = 1, ["--auto-approve"] = 0, ["--token-ttl"] = 1,
}
local REPEATABLE = { ["--filter"] = true, ["--filter-out"] = true, ["--tags"] = true,
                     ["--exclude-tags"] = true, ["--header"] = true }
local ALIAS = { ["-o"] = "--output", ["-v"] = "--verbose", ["-h"] = "--help" }

local USAGE = [[
usage: mcptest SCRIPT.lua [OPTIONS] [ARGS...]     run a Lua test script
       mcptest run FILE... [-o FORMAT] [--output-file F] [--filter P] [--tags T]
       mcptest tools (--stdio "CMD ARGS") [server flags]
       mcptest call  (--stdio "CMD ARGS") METHOD [PARAMS_JSON]
       mcptest call  (--stdio "CMD ARGS") --tool NAME [--args JSON]
       mcptest serve [--port N] [--config FILE] [--auto-approve] [--token-ttl S]
       mcptest --version | --help | help COMMAND

Output formats (-o): terminal (default), tap, junit, json.
Exit codes: 0 passed, 1 a test failed, 2 usage or load error,
            3 a server could not be reached outside any test.
Documentation: docs/cli.md, docs/lua-api.md]]

local VERBS = { run = true, compile = true, tools = true, call = true, discover = true,
                doctor = true, login = true, logout = true, auth = true, serve = true,
                ["mcp-server"] = true, help = true }

local function usage_error(msg)
  io.stderr:write("mcptest: ", msg, "\n(run mcptest --help for usage)\n")
  return 2
end

-- Parse argv into opts and positional words. Options may stand before or
-- after the script; after the first positional (the script) of an
-- implicit run, unknown words go to the script; after "--" everything does.
function M.parse(argv, implicit_script)
  local opts, words, passthrough = { multi = {} }, {}, {}
  local i = 1
  while i <= #argv do
    local a = argv[i]
    if a == "--" then
      for j = i + 1, #argv do passthrough[#passthrough + 1] = argv[j] end
      break
    end
    local name, inline = a:match("^(%-%-[%w%-]+)=(.*)$")
    name = name or a
    local arity = OPTIONS[name]
    if arity then
      local key = ALIAS[name] or name
      local value = true
      if arity == 0 and inline then return nil, "option " .. name .. " takes no value" end
      if arity == 1 then
        if inline then value = inline
        else
          i = i + 1
          value = argv[i]
          if value == nil then return nil, "option " .. name .. " needs a value" end
        end
      end
      if REPEATABLE[key] then
        opts.multi[key] = opts.multi[key] or {}
        table.insert(opts.multi[key], value)
      end
      opts[key] = value
    elseif a:sub(1, 1) == "-" and #a > 1 and not (implicit_script and #words > 0) then
      return nil, "unknown option " .. a
    elseif implicit_script and #words > 0 then
      passthrough[#passthrough + 1] = a
    else
      words[#words + 1] = a
    end
    i = i + 1
  end
  return opts, words, passthrough
end

-- "a,b" repeated -> {"a","b"}
local function list_option(opts, key)
  local out = {}
  for _, v in ipairs(opts.multi[key] or {}) do
    for item in tostring(v):gmatch("[^,]+") do out[#out + 1] = item end
  end
  return out
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

local function apply_common(opts)
  local client = require("mcptest.client")
  if opts["--timeout"] then
    local t = tonumber(opts["--timeout"])
    if not t or t <= 0 then return nil, "--timeout needs a positive number of seconds" end
    client.default_timeout = t
  end
  if opts["--verbose"] then client.default_verbose = true end
  return true
end

local function run_scripts(files, opts, script_args)
  local ok, err = apply_common(opts)
  if not ok then return usage_error(err) end
  local fmt = opts["--output"]
  if fmt and not ({ terminal = 1, tap = 1, junit = 1, json = 1, plain = 1, utf = 1 })[fmt]
     and not fmt:match("%.") then
    return usage_error("unknown output format " .. fmt .. " (terminal, tap, junit, json)")
  end
  local test_timeout = 600
  if opts["--test-timeout"] then
    test_timeout = tonumber(opts["--test-timeout"])
    if not test_timeout or test_timeout < 0 or test_timeout ~= test_timeout then
      return usage_error("--test-timeout needs a number of seconds (0: no limit)")
    end
  end
  if opts["-j"] and opts["-j"] ~= "1" then
    io.stderr:write("mcptest: warning: -j ", opts["-j"], " is not supported yet; running serially\n")
  end
  return require("mcptest.runner").run(files, {
    output = fmt, output_file = opts["--output-file"],
    filter = opts.multi["--filter"], filter_out = opts.multi["--filter-out"],
    tags = list_option(opts, "--tags"), exclude_tags = list_option(opts, "--exclude-tags"),
    verbose = opts["--verbose"], args = script_args, test_timeout = test_timeout,
  })
end

-- Connect for an imperative verb (tools, call); exit 3 when unreachable.
local function connect_for_verb(opts)
  local mcp = require("mcptest")
  local conn = { timeout = tonumber(opts["--timeout"]), verbose = opts["--verbose"],
                 protocol = opts["--protocol"] }
  if opts["--stdio"] then
    conn.command = opts["--stdio"]
  elseif opts["--url"] then
    conn.url = opts["--url"]
    conn.headers = opts.multi["--header"] -- "Name: value", ${VAR} expanded by the transport
    if opts["--bearer-token-env"] then conn.auth = { bearer_token_env = opts["--bearer-token-env"] } end
    if opts["--cacert"] or opts["--insecure"] then
      conn.tls = { ca_file = opts["--cacert"], insecure = opts["--insecure"] and true or nil }
    end
  else
    return nil, 2, "this command needs --stdio \"CMD ARGS\" or --url URL"
  end
  local ok, c = pcall(mcp.connect, conn)
  if not ok then
    local errors = require("mcptest.errors")
    if errors.is(c) and c.kind == "usage" then return nil, 2, tostring(c.message) end
    return nil, 3, tostring(c)
  end
  return c
end

local function print_json(v)
  io.write(require("mcptest.json").encode(v), "\n")
end

local function verb_tools(opts)
  local c, code, err = connect_for_verb(opts)
  if not c then io.stderr:write("mcptest: ", err, "\n"); return code end
  local ok, tools = pcall(c.list_tools, c)
  c:close()
  if not ok then
    io.stderr:write("mcptest: ", tostring(tools), "\n")
    -- the server answered an error: a failed check (1); it did not answer: 3
    local errors = require("mcptest.errors")
    if errors.is(tools) and not errors.unreachable[tools.kind] then return 1 end
    return 3
  end
  if opts["--json"] then print_json(tools); return 0 end
  for _, t in ipairs(tools) do
    local desc = t.description and (" - " .. tostring(t.description):gsub("\n.*", "")) or ""
    io.write(t.name, desc, "\n")
  end
  return 0
end

local function verb_call(opts, words)
  local json = require("mcptest.json")
  local method, params
  if opts["--tool"] then
    local args = json.object()
    if opts["--args"] then
      local ok, v = pcall(json.decode, opts["--args"])
      if not ok or type(v) ~= "table" then return usage_error("--args must be a JSON object: " .. tostring(v)) end
      args = v
    end
    method, params = "tools/call", { name = opts["--tool"], arguments = args }
  else
    method = words[1]
    if not method then return usage_error("call needs METHOD [PARAMS_JSON] or --tool NAME") end
    if words[2] then
      local ok, v = pcall(json.decode, words[2])
      if not ok or type(v) ~= "table" then return usage_error("PARAMS_JSON must be a JSON object: " .. tostring(v)) end
      params = v
    end
  end
  local c, code, err = connect_for_verb(opts)
  if not c then io.stderr:write("mcptest: ", err, "\n"); return code end
  local ok, res = c:try(method, params)
  c:close()
  if not ok then
    local errors = require("mcptest.errors")
    io.stderr:write("mcptest: ", tostring(res), "\n")
    if errors.is(res) and errors.unreachable[res.kind] then return 3 end
    return 1
  end
  print_json(res)
  if type(res) == "table" and res.isError == true then return 1 end
  return 0
end

function M.main(argv)
  local first = argv[1]
  if first == nil then io.stderr:write(USAGE, "\n"); return 2 end
  if first == "--version" then io.write("mcptest ", VERSION, "\n"); return 0 end
  if first == "--help" or first == "-h" then io.write(USAGE, "\n"); return 0 end

  local verb = VERBS[first] and first or nil
  local rest = argv
  if verb then rest = table.move(argv, 2, #argv, 1, {}) end
  local implicit = verb == nil
  local opts, words, passthrough = M.parse(rest, implicit)
  if not opts then return usage_error(words) end
  if opts["--help"] then io.write(USAGE, "\n"); return 0 end
  M.load_dotenv()

  if implicit then
    if #words == 0 then return usage_error("no script given") end
    return run_scripts({ words[1] }, opts, passthrough)
  elseif verb == "run" then
    if #words == 0 then return usage_error("run needs at least one FILE") end
    return run_scripts(words, opts, passthrough)
  elseif verb == "help" then
    io.write(USAGE, "\n")
    return 0
  elseif verb == "tools" then
    local ok, err = apply_common(opts)
    if not ok then return usage_error(err) end
    return verb_tools(opts)
  elseif verb == "call" then
    local ok, err = apply_common(opts)
    if not ok then return usage_error(err) end
    return verb_call(opts, words)
  end
  if verb == "serve" then return require("mcptest.fixture.serve").main(opts, words) end
  return usage_error("'" .. verb .. "' is not available in this build yet (planned; see DESIGN.md)")
end

return M
