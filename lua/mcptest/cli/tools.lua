-- mcptest.cli.tools: `mcptest tools (--stdio "CMD ARGS" | --url URL)`:
-- list a server's tools, every page followed.
local common = require("mcptest.cli.common")

local M = {
  name = "tools",
  summary = "list a server's tools",
  usage = { 'mcptest tools (--stdio "CMD ARGS" | --url URL) [server flags]' },
  help = [[
Prints one line per tool, "name - first line of its description", or with
--json the whole array. Exit codes: 0 listed; 1 the server answered an
error; 2 usage; 3 the server could not be started or reached.]],
  options = { common.target, common.server },
}

function M.main(opts, words)
  if words[1] then return common.usage_error("unexpected argument " .. words[1], "tools") end
  local c, code, err = common.connect(opts)
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
  if opts["--json"] then common.print_json(tools); return 0 end
  for _, t in ipairs(tools) do
    local desc = t.description and (" - " .. tostring(t.description):gsub("\n.*", "")) or ""
    io.write(t.name, desc, "\n")
  end
  return 0
end

return M
