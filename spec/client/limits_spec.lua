-- Bounded memory against a careless or hostile server: notifications are
-- kept up to a cap (the rest counted), and an HTTP JSON answer larger than
-- max_message_size fails its request with a message naming the server,
-- the size and the option.
local mcp = require("mcptest")
local SRC = os.getenv("MCPTEST_SRC") or "."
local SERVER = SRC .. "/spec/data/stdio_server.js"

describe("limits", function()
  it("keeps notifications up to max_notifications and counts the rest", function()
    local c = mcp.connect{ command = { "node", SERVER }, max_notifications = 100 }
    assert.are.equal("flooded", mcp.text(c:call_tool("flood", { count = 1000 })))
    assert.are.equal(100, #c.notifications)
    assert.are.equal(900, c.notifications_dropped)
    assert.are.equal("n0", c.notifications[1].params.data) -- the first ones, in order
    c:close()
  end)

  it("says how many notifications arrived when a flooding server never answers", function()
    local c = mcp.connect{ command = { "node", SERVER }, max_notifications = 10, timeout = 1 }
    local ok, err = pcall(c.call_tool, c, "flood", { count = 500, answer = false })
    assert.is_false(ok)
    assert.are.equal("timeout", err.kind)
    assert.matches("meanwhile it sent 500 notifications (490 past the cap of 10", err.message, 1, true)
    c:close()
  end)

  it("ends a stdio server's endless line at max_message_size, naming the server, the size and the option", function()
    local sys = require("mcptest.core.sys")
    local c = mcp.connect{ command = { "node", SERVER }, max_message_size = 8 * 1024 * 1024, timeout = 20 }
    local t0 = sys.now()
    local ok, err = pcall(c.call_tool, c, "endless", {})
    assert.is_false(ok)
    assert.are.equal("protocol", err.kind)
    assert.matches("stdio server 'node", err.message, 1, true)
    assert.matches("line longer than 8388608 bytes on stdout (max_message_size)", err.message, 1, true)
    assert.is_true(sys.now() - t0 < 10, "took " .. (sys.now() - t0) .. " s")
    c:close()
  end)

  it("applies max_message_size to a whole stdio line that arrives in one read", function()
    local c = mcp.connect{ command = { "node", SERVER }, max_message_size = 300 }
    local ok, err = pcall(c.call_tool, c, "echo", { message = string.rep("x", 2000) })
    assert.is_false(ok)
    assert.matches("line longer than 300 bytes on stdout (max_message_size)", err.message, 1, true)
    c:close()
  end)

  it("refuses a bad max_notifications", function()
    local ok, err = pcall(mcp.connect, { command = { "node", SERVER }, max_notifications = -1 })
    assert.is_false(ok)
    assert.are.equal("usage", err.kind)
  end)

  it("fails an HTTP JSON answer over max_message_size, naming the server, the size and the option", function()
    local fx = mcp.fixture.start{ response_mode = "auto" }
    local c = mcp.connect{ url = fx.url .. "/mcp/open", max_message_size = 2000 }
    local ok, err = pcall(c.call_tool, c, "echo", { message = string.rep("x", 5000) })
    assert.is_false(ok)
    assert.are.equal("protocol", err.kind)
    assert.matches(fx.url .. "/mcp/open sent a JSON response to tools/call", err.message, 1, true)
    assert.matches("larger than 2000 bytes (max_message_size)", err.message, 1, true)
    -- the connection is still usable for answers under the cap
    assert.are.equal("ok", mcp.text(c:call_tool("echo", { message = "ok" })))
    c:close()
    fx:stop()
  end)
end)
