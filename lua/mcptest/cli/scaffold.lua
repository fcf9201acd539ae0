-- mcptest.cli.scaffold: `mcptest scaffold (--url URL | --stdio "CMD") [--lua]`:
-- a starting suite from a live server (mcptest.suite.scaffold), YAML or,
-- with --lua, the Lua the YAML compiles to.
local common = require("mcptest.cli.common")

local M = {
  name = "scaffold",
  summary = "print a starting suite (YAML, or Lua with --lua) from a live server",
  usage = { 'mcptest scaffold (--url URL | --stdio "CMD ARGS") [--lua] [server flags]' },
  help = [[
Connects, lists the server's tools, resources and prompts, and prints a
suite: one test per tool (arguments from its inputSchema: the required
properties, with enum's first value or the default; guesses are marked
TODO) expecting no error and, where the tool declares an outputSchema, a
result that validates against it; one list test per list. Tools that
would ask the client for sampling, elicitation or roots are skipped with
the reason. --lua prints the Lua the suite compiles to instead. Exit codes:
0 printed; 2 usage; 3 the server could not be started or reached.]],
  options = {
    common.target,
    { title = "Output", { "--lua", help = "print the suite as Lua (what mcptest compile makes of it)" } },
    common.server,
  },
}

function M.main(opts, words)
  if words[1] then return common.usage_error("unexpected argument " .. words[1], "scaffold") end
  local c, code, err = common.connect(opts)
  if not c then io.stderr:write("mcptest: ", err, "\n"); return code end
  local server = { url = opts["--url"] }
  if common.registered(opts["--url"]) then
    server = { registered = opts["--url"] } -- connected already: the name resolved
  elseif opts["--stdio"] then
    server.command = require("mcptest.transport.stdio").split_command(opts["--stdio"])
  end
  if opts["--bearer-token-env"] and not server.registered then server.auth = { bearer_token_env = opts["--bearer-token-env"] } end
  local ok, text = pcall(require("mcptest.suite.scaffold").yaml, c, server)
  c:close()
  if not ok then
    io.stderr:write("mcptest: ", tostring(text), "\n")
    local errors = require("mcptest.errors")
    if errors.is(text) and not errors.unreachable[text.kind] then return 1 end
    return 3
  end
  if opts["--lua"] then
    local loader = require("mcptest.suite.load")
    local s, errs = loader.text(text, "scaffold.test.yaml")
    local problems = s and require("mcptest.suite.schema").check(s) or errs
    if #problems > 0 then -- a scaffold the schema refuses is a bug here
      io.stderr:write("mcptest: the scaffolded suite does not check: ", problems[1].message, "\n")
      return 1
    end
    local compile = require("mcptest.suite.compile")
    io.write(compile.readable(compile.entries(s)))
    return 0
  end
  io.write(text)
  return 0
end

return M
