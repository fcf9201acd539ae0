-- One request path for many calls in flight: tasks (mcp.spawn) on one
-- client and across clients, over stdio and Streamable HTTP.
local mcp = require("mcptest")
local sys = require("mcptest.core.sys")
local SRC = os.getenv("MCPTEST_SRC") or "."
local SERVER = SRC .. "/spec/data/stdio_server.js"

describe("concurrent requests", function()
  local fx
  setup(function() fx = mcp.fixture.start{} end)
  teardown(function() if fx then fx:stop() end end)

  it("runs 10 slow calls on one stdio client at once", function()
    local c = mcp.connect{ command = { "node", SERVER } }
    local t0 = sys.now()
    local tasks = {}
    for i = 1, 10 do
      tasks[i] = mcp.spawn(function()
        return mcp.text(c:call_tool("sleep", { ms = 300 }))
      end)
    end
    assert.is_true(mcp.join(tasks, 10))
    local took = sys.now() - t0
    for i = 1, 10 do assert.are.equal("slept", tasks[i].results[1]) end
    -- one after another would take 3 s
    assert.is_true(took < 1.5, "10 calls of 300 ms took " .. took .. " s")
    c:close()
  end)

  it("runs calls across stdio and HTTP clients at once, and the main script's call too", function()
    local a = mcp.connect{ command = { "node", SERVER } }
    local b = mcp.connect{ url = fx.url .. "/mcp/open" }
    local t0 = sys.now()
    local ta = mcp.spawn(function() return mcp.text(a:call_tool("sleep", { ms = 400 })) end)
    local tb = mcp.spawn(function() return mcp.text(b:call_tool("sleep", { seconds = 0.4 })) end)
    local tb2 = mcp.spawn(function() return mcp.text(b:call_tool("echo", { message = "x" })) end)
    -- the main script's own request drives the loop for the tasks too
    assert.are.equal("hi", mcp.text(a:call_tool("echo", { message = "hi" })))
    assert.are.equal("slept", mcp.join(ta, 5))
    assert.is_truthy(mcp.join(tb, 5))
    assert.are.equal("x", mcp.join(tb2, 5))
    assert.is_true(sys.now() - t0 < 0.75, "took " .. (sys.now() - t0) .. " s")
    a:close(); b:close()
  end)

  it("raises a task's error from join, as the task's own", function()
    local c = mcp.connect{ command = { "node", SERVER } }
    local t = mcp.spawn(function() return c:request("no/such/method") end)
    local ok, err = pcall(mcp.join, t, 5)
    assert.is_false(ok)
    assert.are.equal("jsonrpc", err.kind)
    assert.are.equal(-32601, err.code)
    c:close()
  end)

  it("times a task's request out at its own timeout while another completes", function()
    local c = mcp.connect{ command = { "node", SERVER }, timeout = 0.3 }
    local slow = mcp.spawn(function() return c:call_tool("sleep", { ms = 2000 }) end)
    local fast = mcp.spawn(function() return mcp.text(c:call_tool("echo", { message = "q" })) end)
    assert.are.equal("q", mcp.join(fast, 5))
    local ok, err = pcall(mcp.join, slow, 5)
    assert.is_false(ok)
    assert.are.equal("timeout", err.kind)
    c:close()
  end)

  it("wakes a waiting task when its server exits", function()
    local c = mcp.connect{ command = { "node", SERVER } }
    local t = mcp.spawn(function() return c:call_tool("sleep", { ms = 5000 }) end)
    local t0 = sys.now()
    pcall(c.call_tool, c, "exit-now", {})
    local ok, err = pcall(mcp.join, t, 5)
    assert.is_false(ok)
    assert.are.equal("transport", err.kind)
    assert.is_true(sys.now() - t0 < 1.5)
    c:close()
  end)

  it("fails join at its timeout", function()
    local c = mcp.connect{ command = { "node", SERVER } }
    local t = mcp.spawn(function() return c:call_tool("sleep", { ms = 1500 }) end)
    local ok, err = pcall(mcp.join, t, 0.2)
    assert.is_false(ok)
    assert.are.equal("timeout", err.kind)
    c:close()
  end)

  it("fails the run when a task's error is never joined", function()
    local BIN = os.getenv("MCPTEST_BIN") or "build/mcptest"
    local f = io.popen(BIN .. " " .. SRC .. "/spec/data/cli/task_error.lua 2>&1; echo EXIT $?")
    local out = f:read("a"); f:close()
    assert.matches("boom in a task", out, 1, true)
    assert.matches("EXIT 1", out, 1, true)
  end)

  it("refuses to join what is not a task", function()
    local ok, err = pcall(mcp.join, { 1 })
    assert.is_false(ok)
    assert.are.equal("usage", err.kind)
    assert.matches("not a task from mcp.spawn", err.message, 1, true)
  end)
end)
