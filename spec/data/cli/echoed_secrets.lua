-- runner/echoed_secrets_spec: every test calls a server that echoes the
-- credentials it was sent (spec/data/echo_secret_server.py) and fails on
-- what it answers; and one prints a client.
local mcp = require("mcptest")
local base = os.getenv("SPEC_BASE")
for _, scenario in ipairs({ "500", "jsonrpc", "401", "html", "redirect" }) do
  it("meets the " .. scenario .. " echo", function()
    local c = mcp.connect{ url = base .. "/" .. scenario .. "/mcp?api_key=" .. os.getenv("SPEC_QUERY_KEY"),
      headers = { Authorization = "Bearer ${SPEC_ECHO_TOKEN}", ["X-Api-Key"] = "${SPEC_ECHO_KEY}" } }
    c:call_tool("echo", { message = "hi" })
  end)
end
it("prints a client", function()
  local c = mcp.connect{ url = base .. "/ok/mcp", headers = { Authorization = "Bearer ${SPEC_ECHO_TOKEN}",
    ["X-Api-Key"] = "${SPEC_ECHO_KEY}" } }
  assert.are.same({}, { c, c.transport })
end)
