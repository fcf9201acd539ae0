-- Load mode with calls in flight at once on ONE client (a client from
-- setup() shared by the VUs, or mcp.spawn in a VU): each call's wire time
-- and tags are its own. (The wire-time sum was once per client: the call
-- that started first reset it when it ended, and the other then raised
-- "arithmetic on a nil value"; call_tool's params table was once per
-- client, so a call's name tag could be another's, or none.)
local mcp = require("mcptest")
local BIN = os.getenv("MCPTEST_BIN") or "build/mcptest"

describe("load mode, concurrent calls on one client", function()
  local fx, dir
  setup(function()
    fx = mcp.fixture.start{}
    dir = os.tmpname(); os.remove(dir)
    assert(os.execute("mkdir -p " .. dir))
  end)
  teardown(function()
    if fx then fx:stop() end
    os.execute("rm -rf " .. dir)
  end)

  it("a call that ends after an overlapping one is recorded, not raised", function()
    local path = dir .. "/shared.lua"
    local f = assert(io.open(path, "w"))
    f:write([[
local mcp = require("mcptest")
options = { scenarios = { s = { executor = "per-vu-iterations", vus = 2, iterations = 1 } } }
function setup() return { c = mcp.connect{ url = os.getenv("URL") } } end
function default(data, vu)
  data.c:call_tool("sleep", { seconds = vu.id == 1 and 0.1 or 0.4 })
end
]])
    f:close()
    local out, err = dir .. "/out", dir .. "/err"
    local _, _, code = os.execute(string.format("URL=%s/mcp/open %s load %s --quiet -o json:%s/s.json >%s 2>%s </dev/null",
      fx.url, BIN, path, dir, out, err))
    local e = io.open(err):read("a")
    assert.is_nil(e:find("arithmetic on a nil value", 1, true), e)
    assert.are.equal(0, code, e)
    local r = mcp.json.decode(io.open(dir .. "/s.json"):read("a"))
    assert.are.equal(2, r.metrics["mcp_req_duration{method:tools/call}"].values.count)
    -- each call's wire time is its own: none is longer than the longest call
    local wire, call = r.metrics.mcp_req_duration.values, r.metrics.mcp_call_duration.values
    assert.is_true(wire.max <= call.max, "wire max " .. wire.max .. " ms > call max " .. call.max .. " ms")
  end)

  it("every call on a shared client keeps its own tool name tag", function()
    local path = dir .. "/names.lua"
    local f = assert(io.open(path, "w"))
    f:write([[
local mcp = require("mcptest")
options = { scenarios = { s = { executor = "per-vu-iterations", vus = 4, iterations = 50 } },
            thresholds = { ["mcp_req_duration{name:echo}"] = { "count>0" }, ["mcp_req_duration{name:ping}"] = { "count>0" } } }
function setup() return { c = mcp.connect{ url = os.getenv("URL") } } end
function default(data, vu)
  if vu.id % 2 == 0 then data.c:call_tool("echo", { message = "x" }) else data.c:call_tool("ping") end
end
]])
    f:close()
    local _, _, code = os.execute(string.format("URL=%s/mcp/open %s load %s --quiet -o json:%s/n.json >/dev/null 2>%s/e </dev/null",
      fx.url, BIN, path, dir, dir))
    assert.are.equal(0, code, io.open(dir .. "/e"):read("a"))
    local m = mcp.json.decode(io.open(dir .. "/n.json"):read("a")).metrics
    assert.are.equal(200, m["mcp_req_duration{method:tools/call}"].values.count)
    assert.are.equal(100, m["mcp_req_duration{name:echo}"].values.count)
    assert.are.equal(100, m["mcp_req_duration{name:ping}"].values.count)
  end)
end)
