-- mcptest.cli.call: `mcptest call (--stdio ... | --url URL) METHOD
-- [PARAMS_JSON]` or `--tool NAME [--args JSON]`: one request, the result
-- printed as JSON.
local common = require("mcptest.cli.common")

local M = {
  name = "call",
  summary = "send one request and print the result as JSON",
  usage = {
    'mcptest call (--stdio "CMD ARGS" | --url URL) METHOD [PARAMS_JSON]',
    'mcptest call (--stdio "CMD ARGS" | --url URL) --tool NAME [--args JSON]',
  },
  help = [[
Sends METHOD with the PARAMS_JSON object, or with --tool a tools/call, and
prints the result as JSON. Exit codes: 0 success; 1 the server answered a
JSON-RPC error or the tool result has isError: true; 2 usage; 3 the server
could not be started or reached.]],
  options = {
    { title = "Tool call",
      { "--tool", arg = "NAME", help = "call the tool NAME (tools/call)" },
      { "--args", arg = "JSON", help = "the tool's arguments, a JSON object (default {})" },
    },
    common.target,
    common.server,
  },
}

function M.main(opts, words)
  local function usage(msg) return common.usage_error(msg, "call") end
  local json = require("mcptest.json")
  local method, params
  if opts["--tool"] then
    if words[1] then return usage("unexpected argument " .. words[1] .. " (--tool NAME calls a tool; METHOD is not needed)") end
    local args = json.object()
    if opts["--args"] then
      local ok, v = pcall(json.decode, opts["--args"])
      if not ok or type(v) ~= "table" then return usage("--args must be a JSON object: " .. tostring(v)) end
      args = v
    end
    method, params = "tools/call", { name = opts["--tool"], arguments = args }
  else
    method = words[1]
    if not method then return usage("call needs METHOD [PARAMS_JSON] or --tool NAME") end
    if opts["--args"] then return usage("--args goes with --tool NAME; give METHOD's params as PARAMS_JSON") end
    if words[3] then return usage("unexpected argument " .. words[3]) end
    if words[2] then
      local ok, v = pcall(json.decode, words[2])
      if not ok or type(v) ~= "table" then return usage("PARAMS_JSON must be a JSON object: " .. tostring(v)) end
      params = v
    end
  end
  local c, code, err = common.connect(opts)
  if not c then io.stderr:write("mcptest: ", err, "\n"); return code end
  local ok, res = c:try(method, params)
  c:close()
  if not ok then
    local errors = require("mcptest.errors")
    io.stderr:write("mcptest: ", tostring(res), "\n")
    if errors.is(res) and errors.unreachable[res.kind] then return 3 end
    return 1
  end
  common.print_json(res)
  if type(res) == "table" and res.isError == true then return 1 end
  return 0
end

return M
