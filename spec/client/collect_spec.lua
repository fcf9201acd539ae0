-- No request is lost to a finalizer: a client collected by the garbage
-- collector only releases its handles (no DELETE, no loop step, a stdio
-- server SIGKILLed without waiting), and the runner holds every client a
-- file opens until that file ends, then closes it properly.
package.path = (os.getenv("MCPTEST_SRC") or ".") .. "/spec/transport/http/?.lua;" .. package.path
local H = require("helpers")
local mcp = require("mcptest")
local client = require("mcptest.client")
local sys = require("mcptest.core.sys")
local BIN = os.getenv("MCPTEST_BIN") or "build/mcptest"
local SRC = os.getenv("MCPTEST_SRC") or "."

describe("clients left open", function()
  local srv
  setup(function() srv = H.start_fault() end)
  teardown(function() srv.stop() end)

  it("are not closed by collection while their file runs, and no request in flight is lost", function()
    local before = srv.stats()
    collectgarbage("incremental")
    collectgarbage("setpause", 100); collectgarbage("setstepmul", 400)
    local main = mcp.connect{ url = srv.url("ok"), timeout = 5 }
    local tasks = {}
    for k = 1, 3 do
      tasks[k] = mcp.spawn(function()
        for i = 1, 20 do
          mcp.connect{ url = srv.url("ok") } -- left open, unreferenced
          assert.are.equal("Echo: x" .. i, mcp.text(main:call_tool("echo", { message = "x" .. i })))
        end
      end)
    end
    mcp.join(tasks)
    collectgarbage(); collectgarbage()
    collectgarbage("generational")
    local after = srv.stats()
    assert.are.equal(60, after.calls - before.calls)
    assert.are.equal(0, after.deletes - before.deletes) -- no finalizer sent one
  end)

  it("are closed by the runner when their file ends", function()
    local cmd = string.format("SPEC_URL=%s SPEC_STATS=%s %s run %s/spec/data/cli/leaves_open.lua"
      .. " %s/spec/data/cli/count_deletes.lua -o tap 2>&1", srv.url("ok"), srv.base .. "/stats", BIN, SRC, SRC)
    local before = srv.stats().deletes
    local p = io.popen(cmd); local out = p:read("a"); local ok = p:close()
    -- count_deletes.lua checks the total it sees; this server counted others' too
    assert.are.equal(before + 3, srv.stats().deletes, out)
    assert.is_truthy(ok or before > 0, out)
  end)

  it("a collected HTTP client sends nothing", function()
    local c = mcp.connect{ url = srv.url("ok") }
    local before = srv.stats().deletes
    client.Client.__gc(c) -- what the collector runs
    assert.is_true(c.closed)
    assert.are.equal(before, srv.stats().deletes)
  end)

  it("a collected stdio client's server is killed at once, even one that ignores SIGTERM", function()
    -- after the server, a shell in its process group that ignores SIGTERM
    -- and stdin: a graceful stop would wait its grace periods for it
    local c = mcp.connect{ command = { "sh", "-c", "trap '' TERM; node " .. SRC
      .. "/spec/data/stdio_server.js; sleep 30" } }
    local pid = c.transport:pid()
    local t0 = sys.now()
    client.Client.__gc(c)
    assert.is_true(sys.now() - t0 < 0.2, "the finalizer waited " .. (sys.now() - t0) .. " s")
    sys.sleep(0.2)
    local f = io.open("/proc/" .. pid .. "/stat")
    local state = f and f:read("a"):match("^%d+ %b() (%a)")
    if f then f:close() end
    assert.is_true(state == nil or state == "Z", "server state " .. tostring(state))
  end)
end)
