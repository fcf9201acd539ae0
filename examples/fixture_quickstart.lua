-- examples/fixture_quickstart.lua: the README's main job. Starts mcptest's
-- built-in fixture server (an MCP server with an OAuth 2.1 authorization
-- server inside) on a free port and tests it over Streamable HTTP.
--   mcptest examples/fixture_quickstart.lua
local mcp = require("mcptest")

-- stopped automatically when the script ends, however it ends
local fixture = mcp.fixture.start{ auto_approve = true }

describe("fixture /mcp/open", function()
  local c
  setup(function() c = mcp.connect{ url = fixture.url .. "/mcp/open" } end)
  teardown(function() c:close() end)

  it("speaks the newest protocol era both sides know", function()
    assert.are.equal("mcptest-fixture", c.server_info.name)
    -- protocol = "auto" (the default) found 2026-07-28; protocol =
    -- "2025-11-25" in mcp.connect would pin the legacy era (sessions)
    assert.are.equal("modern", c.era)
    assert.are.equal("2026-07-28", c.protocol_version)
  end)

  it("lists its tools, every page", function()
    local tools = c:list_tools()
    assert.has_tool(tools, "echo")
    assert.has_tool(tools, "whoami")
  end)

  it("echoes, upper-cased on request", function()
    assert.text_equals(c:call_tool("echo", { message = "hello", uppercase = true }), "HELLO")
  end)

  it("returns a failing tool's result instead of raising", function()
    local r = c:call_tool("fail", {})
    assert.is_not.tool_ok(r)
  end)

  it("answers an unknown method with -32601", function()
    local ok, err = c:try("no/such/method")
    assert.is_false(ok)
    assert.error_code(err, -32601)
  end)
end)

describe("fixture /mcp/bearer-token", function()
  it("refuses a request without credentials", function()
    local ok, err = pcall(mcp.connect, { url = fixture.url .. "/mcp/bearer-token" })
    assert.is_false(ok)
    assert.are.equal("auth", err.kind)
    assert.are.equal(401, err.http_status)
  end)

  -- FIXTURE_TOKEN=test-bearer-token (the fixture's default static token;
  -- scripts/main.sh exports it). Only the variable's name is in the suite.
  if os.getenv("FIXTURE_TOKEN") then
    it("accepts the static bearer token named by bearer_token_env", function()
      local c = mcp.connect{ url = fixture.url .. "/mcp/bearer-token",
                             auth = { bearer_token_env = "FIXTURE_TOKEN" } }
      assert.text_contains(c:call_tool("whoami", {}), "subject")
      c:close()
    end)
  else
    pending("export FIXTURE_TOKEN=test-bearer-token to test the bearer route")
  end
end)
