-- examples/mcp_server_agent.lua: what a coding agent does with
-- `mcptest mcp-server` (docs/mcp-server.md), driven here by mcptest's own
-- client over stdio against the built-in fixture server.
--   mcptest examples/mcp_server_agent.lua
local mcp = require("mcptest")

local fixture = mcp.fixture.start{}
local URL = fixture.url .. "/mcp/open"

describe("mcptest mcp-server", function()
  local agent
  -- /proc/self/exe: the mcptest binary running this script
  setup(function() agent = mcp.connect{ command = { "/proc/self/exe", "mcp-server" } } end)
  teardown(function() agent:close() end)

  it("lists the fixture's tools", function()
    local r = agent:call_tool("list_tools", { url = URL })
    assert.tool_ok(r)
    assert.has_tool(r.structuredContent.tools, "echo")
  end)

  it("diagnoses the fixture", function()
    local r = agent:call_tool("doctor", { url = URL })
    assert.is_true(r.structuredContent.ok)
  end)

  it("proposes assertions from a real call", function()
    local r = agent:call_tool("propose_assertions",
      { url = URL, name = "echo", arguments = { message = "hi" }, repeat_ok = true })
    assert.matches('assert.text_equals(r, "hi")', r.structuredContent.lua, 1, true)
  end)

  it("refuses a token where a variable name belongs", function()
    local r = agent:call_tool("list_tools", { url = URL, bearer_token_env = "sk-123 not a name" })
    assert.is_not.tool_ok(r)
    assert.text_contains(r, "NAME of an environment variable")
  end)
end)
