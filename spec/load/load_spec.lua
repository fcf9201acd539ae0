-- mcptest load against the fixture (and server-everything over stdio):
-- each executor, thresholds and their exit codes, abort_on_fail, the
-- open model under a stall, the reports (JSON summary, JUnit, k6 JSON
-- output) read back by independent parsers (python3).
local mcp = require("mcptest")
local BIN = os.getenv("MCPTEST_BIN") or "build/mcptest"
local SRC = os.getenv("MCPTEST_SRC") or "."

local dir
local function script(body)
  local path = dir .. "/script" .. tostring(math.random(1e9)) .. ".lua"
  local f = assert(io.open(path, "w"))
  f:write('local mcp = require("mcptest")\n', body)
  f:close()
  return path
end

local function slurp(p) local f = io.open(p); if not f then return nil end local s = f:read("a"); f:close(); return s end

local function load(path, args, env)
  local out, err = dir .. "/out", dir .. "/err"
  local cmd = string.format("%s %s load %s %s >%s 2>%s </dev/null", env or "", BIN, path, args or "", out, err)
  local _, _, code = os.execute(cmd)
  return code, slurp(out), slurp(err)
end

local function py(code)
  local p = io.popen("python3 -c '" .. code:gsub("'", "'\\''") .. "' 2>&1")
  local s = p:read("a")
  p:close()
  return s
end

describe("mcptest load", function()
  local fx, url
  setup(function()
    fx = mcp.fixture.start{}
    url = fx.url .. "/mcp/open"
    dir = os.tmpname(); os.remove(dir)
    assert(os.execute("mkdir -p " .. dir))
  end)
  teardown(function()
    if fx then fx:stop() end
    os.execute("rm -rf " .. dir)
  end)

  local ECHO = [[
function setup() return { url = os.getenv("URL") } end
function default(data, vu)
  vu.c = vu.c or mcp.connect{ url = data.url }
  local r = vu.c:call_tool("echo", { message = "hi" })
  check(r, { ["echo ok"] = function(r) return mcp.text(r) == "hi" end })
end
]]

  it("constant-vus with thresholds that hold: exit 0, and the reports agree", function()
    local path = script([[
options = {
  scenarios = { echo = { executor = "constant-vus", vus = 4, duration = "2s" } },
  thresholds = { ["mcp_req_duration{method:tools/call}"] = { "p(95)<2000" }, mcp_req_failed = { "rate<0.01" },
                 checks = { "rate>0.99" } },
}
]] .. ECHO)
    local code, out, err = load(path, "-o json:" .. dir .. "/s.json -o junit:" .. dir .. "/j.xml --out json=" .. dir .. "/k6.json",
      "URL=" .. url)
    assert.are.equal(0, code, err)
    assert.matches("✓ mcp_req_duration{method:tools/call}: p%(95%)<2000", out)
    local r = mcp.json.decode(slurp(dir .. "/s.json"))
    local calls = r.metrics["mcp_req_duration{method:tools/call}"].values.count
    assert.is_true(calls > 50, "only " .. calls .. " calls in 2 s")
    assert.are.equal(r.metrics.iterations.values.count, calls)
    assert.are.equal(calls + 4, r.metrics.mcp_reqs.values.count) -- and 4 initializes
    assert.are.equal(4, r.metrics.vus_max.values.max)
    -- k6's JSON output, line by line: as many duration Points as requests
    local counted = py([[
import json
n = {}
for line in open("]] .. dir .. [[/k6.json"):
    d = json.loads(line)
    if d["type"] == "Point":
        m = d["metric"]
        n[m] = n.get(m, 0) + 1
print(n.get("mcp_req_duration", 0), n.get("checks", 0))
]])
    assert.are.equal(r.metrics.mcp_reqs.values.count .. " " .. calls, counted:match("^(%d+ %d+)"))
    -- JUnit: each threshold a testcase, none failing
    local junit = py([[
import xml.etree.ElementTree as ET
t = ET.parse("]] .. dir .. [[/j.xml").getroot()
print(len(t.findall(".//testcase")), len(t.findall(".//failure")))
]])
    assert.are.equal("3 0", junit:match("^(%d+ %d+)"))
  end)

  it("a crossed threshold exits 1 and its JUnit testcase fails", function()
    local path = script([[
options = { vus = 2, duration = "1s", thresholds = { mcp_req_duration = { "p(99)<0.001" }, iterations = { "count>0" } } }
]] .. ECHO)
    local code, out = load(path, "-o text -o junit:" .. dir .. "/j2.xml", "URL=" .. url)
    assert.are.equal(1, code)
    assert.matches("✗ mcp_req_duration: p%(99%)<0.001", out)
    assert.matches("✓ iterations: count>0", out)
    local junit = py([[
import xml.etree.ElementTree as ET
t = ET.parse("]] .. dir .. [[/j2.xml").getroot()
print(len(t.findall(".//testcase")), len(t.findall(".//failure")))
]])
    assert.are.equal("2 1", junit:match("^(%d+ %d+)"))
  end)

  it("abort_on_fail ends the run early", function()
    local path = script([[
options = {
  scenarios = { bad = { executor = "constant-vus", vus = 2, duration = "30s" } },
  thresholds = { mcp_req_failed = { { threshold = "rate<0.5", abort_on_fail = true } } },
}
function default(data, vu)
  vu.c = vu.c or mcp.connect{ url = os.getenv("URL") }
  vu.c:call_tool("echo", { message = "x", _fault = "tool_error" })
end
]])
    local t0 = os.time()
    local code, out, err = load(path, "", "URL=" .. url)
    assert.are.equal(1, code)
    assert.is_true(os.time() - t0 < 10, "the run was not aborted")
    assert.matches("crossed, aborting the run", err)
    assert.matches("aborted by a threshold", out)
    assert.matches("{ kind:tool", out, 1, true)
  end)

  it("a threshold on a metric that does not exist, or a bad executor, is a usage error", function()
    local code, _, err = load(script('options = { thresholds = { mcp_req_duraton = { "p(95)<1" } } }\nfunction default() end\n'))
    assert.are.equal(2, code)
    assert.matches("no metric named mcp_req_duraton", err)
    code, _, err = load(script('options = { thresholds = { checks = { "p(95)<1" } } }\nfunction default() end\n'))
    assert.are.equal(2, code)
    assert.matches("p%(N%) applies to trends", err)
    code, _, err = load(script('options = { scenarios = { a = { executor = "constant-vu", vus = 1 } } }\nfunction default() end\n'))
    assert.are.equal(2, code)
    assert.matches("executor \"constant%-vu\" is not one of", err)
    code, _, err = load(script('function default() end\n'), "--vus 0")
    assert.are.equal(2, code)
  end)

  it("constant-arrival-rate: 500 iterations/s over 10 s, within 2%", function()
    local path = script(ECHO)
    local code, _, err = load(path, "--rate 500 --duration 10s -o json:" .. dir .. "/rate.json", "URL=" .. url)
    assert.are.equal(0, code, err)
    local r = mcp.json.decode(slurp(dir .. "/rate.json"))
    local n = r.metrics.iterations.values.count
    assert.is_true(n >= 4900 and n <= 5100, n .. " iterations for 5000 scheduled")
    assert.are.equal(0, r.metrics.dropped_iterations.values.count)
  end)

  it("the open model shows a stalled server in its latencies and drops iterations", function()
    local path = script([[
options = { scenarios = { slow = { executor = "constant-arrival-rate", rate = 20, duration = "2s",
                                    pre_allocated_vus = 3, max_vus = 3 } } }
function default(data, vu)
  vu.c = vu.c or mcp.connect{ url = os.getenv("URL") }
  vu.c:call_tool("echo", { message = "x", _fault = "latency_ms=500" })
end
]])
    local code, _, err = load(path, "-o json:" .. dir .. "/stall.json", "URL=" .. url)
    assert.are.equal(0, code, err)
    local r = mcp.json.decode(slurp(dir .. "/stall.json"))
    assert.is_true(r.metrics.dropped_iterations.values.count >= 20, "dropped " .. r.metrics.dropped_iterations.values.count)
    local p95 = r.metrics["mcp_req_duration"].values["p(95)"]
    assert.is_true(p95 >= 500 and p95 < 2000, "p95 " .. p95 .. " ms with 500 ms of latency")
  end)

  it("mcp_req_duration is the wire time: the client's work between exchanges is in mcp_call_duration only", function()
    -- 2026-07-28: the elicitation tool answers input_required; the
    -- handler spends 300 ms of the client's CPU; the tool call is then
    -- sent again with the answer. Two exchanges on the wire, each about a
    -- millisecond on 127.0.0.1: the 300 ms belong to the call alone.
    local path = script([[
local function busy() local t = os.clock() + 0.3; while os.clock() < t do end end
options = { thresholds = { ["mcp_call_duration{method:tools/call}"] = { "count>0" },
                           ["mcp_req_duration{method:tools/call}"] = { "count>0" } } }
function default(data, vu)
  vu.c = vu.c or mcp.connect{ url = os.getenv("URL"), protocol = "2026-07-28",
    on = { ["elicitation/create"] = function() busy(); return { action = "accept", content = { name = "x" } } end } }
  local r = vu.c:call_tool("elicitation", {})
  check(r, { accepted = function(r) return r.structuredContent.action == "accept" end })
end
]])
    local code, out, err = load(path, "--vus 1 --iterations 3 -o json:" .. dir .. "/wire.json", "URL=" .. url)
    assert.are.equal(0, code, err)
    local r = mcp.json.decode(slurp(dir .. "/wire.json"))
    assert.are.equal(0, r.checks[1].fails, out .. err)
    local call = r.metrics["mcp_call_duration{method:tools/call}"].values
    local wire = r.metrics["mcp_req_duration{method:tools/call}"].values
    assert.are.equal(3, call.count)
    assert.are.equal(3, wire.count)
    assert.is_true(call.min >= 300, "the call includes the handler: min " .. call.min .. " ms")
    assert.is_true(wire.max < 150, "the wire time excludes it: max " .. wire.max .. " ms")
  end)

  it("VUs whose iterations never wait still take turns, and the run ends on time", function()
    local path = script([[
local counts = {}
function default(data, vu) counts[vu.id] = (counts[vu.id] or 0) + 1 end
function teardown()
  for id = 1, 3 do io.stderr:write("vu ", id, " ", counts[id] or 0, "\n") end
end
]])
    local code, _, err = load(path, "--vus 3 --duration 1s -o json:" .. dir .. "/busy.json")
    assert.are.equal(0, code, err)
    for id = 1, 3 do
      local n = tonumber(err:match("vu " .. id .. " (%d+)"))
      assert.is_true(n and n > 100, "VU " .. id .. " ran " .. tostring(n) .. " iterations: " .. err)
    end
    local r = mcp.json.decode(slurp(dir .. "/busy.json"))
    assert.is_true(r.state.duration_s < 5, "the run took " .. r.state.duration_s .. " s")
  end)

  -- Calls in flight at once on ONE client (a client from setup() shared
  -- by the VUs, or mcp.spawn in a VU): each call's wire time and tags are
  -- its own. (The wire-time sum was once per client: the call that started
  -- first reset it when it ended, and the other then raised "arithmetic on
  -- a nil value"; call_tool's params table was once per client, so a call's
  -- name tag could be another's, or none.)
  it("a call that ends after an overlapping one is recorded, not raised", function()
    local path = script([[
options = { scenarios = { s = { executor = "per-vu-iterations", vus = 2, iterations = 1 } } }
function setup() return { c = mcp.connect{ url = os.getenv("URL") } } end
function default(data, vu)
  data.c:call_tool("sleep", { seconds = vu.id == 1 and 0.1 or 0.4 })
end
]])
    local code, _, err = load(path, "--quiet -o json:" .. dir .. "/s.json", "URL=" .. url)
    assert.is_nil(err:find("arithmetic on a nil value", 1, true), err)
    assert.are.equal(0, code, err)
    local r = mcp.json.decode(slurp(dir .. "/s.json"))
    assert.are.equal(2, r.metrics["mcp_req_duration{method:tools/call}"].values.count)
    -- each call's wire time is its own: none is longer than the longest call
    local wire, call = r.metrics.mcp_req_duration.values, r.metrics.mcp_call_duration.values
    assert.is_true(wire.max <= call.max, "wire max " .. wire.max .. " ms > call max " .. call.max .. " ms")
  end)

  it("every call on a shared client keeps its own tool name tag", function()
    local path = script([[
options = { scenarios = { s = { executor = "per-vu-iterations", vus = 4, iterations = 50 } },
            thresholds = { ["mcp_req_duration{name:echo}"] = { "count>0" }, ["mcp_req_duration{name:ping}"] = { "count>0" } } }
function setup() return { c = mcp.connect{ url = os.getenv("URL") } } end
function default(data, vu)
  if vu.id % 2 == 0 then data.c:call_tool("echo", { message = "x" }) else data.c:call_tool("ping") end
end
]])
    local code, _, err = load(path, "--quiet -o json:" .. dir .. "/n.json", "URL=" .. url)
    assert.are.equal(0, code, err)
    local m = mcp.json.decode(slurp(dir .. "/n.json")).metrics
    assert.are.equal(200, m["mcp_req_duration{method:tools/call}"].values.count)
    assert.are.equal(100, m["mcp_req_duration{name:echo}"].values.count)
    assert.are.equal(100, m["mcp_req_duration{name:ping}"].values.count)
  end)

  it("ramping-vus follows its stages", function()
    local path = script([[
options = { scenarios = { ramp = { executor = "ramping-vus", start_vus = 0,
  stages = { { duration = "1s", target = 6 }, { duration = "1s", target = 6 }, { duration = "1s", target = 0 } } } } }
]] .. ECHO)
    local code, _, err = load(path, "-o json:" .. dir .. "/ramp.json", "URL=" .. url)
    assert.are.equal(0, code, err)
    local r = mcp.json.decode(slurp(dir .. "/ramp.json"))
    assert.are.equal(6, r.metrics.vus.values.max)
    assert.is_true(r.metrics.iterations.values.count > 0)
    assert.is_true(r.state.duration_s >= 2.9 and r.state.duration_s < 10, "took " .. r.state.duration_s)
  end)

  it("a setup that cannot reach its server exits 3", function()
    local code, _, err = load(script('function setup() mcp.connect{ url = "http://127.0.0.1:9/mcp" } end\nfunction default() end\n'))
    assert.are.equal(3, code)
    assert.matches("setup failed", err)
  end)

  it("over stdio: server-everything, a process per VU", function()
    local se = SRC .. "/.deps/npm/node_modules/@modelcontextprotocol/server-everything/dist/index.js"
    local path = script([[
function default(data, vu)
  vu.c = vu.c or mcp.connect{ command = { "node", "]] .. se .. [[", "stdio" } }
  local r = vu.c:call_tool("echo", { message = "hi" })
  check(r, { ["echo"] = function(r) return mcp.text(r) == "Echo: hi" end })
end
]])
    local code, out, err = load(path, "--vus 2 --iterations 40 -o json:" .. dir .. "/stdio.json")
    assert.are.equal(0, code, err)
    local r = mcp.json.decode(slurp(dir .. "/stdio.json"))
    assert.are.equal(40, r.metrics.iterations.values.count, out .. err)
    assert.are.equal(2, r.metrics.vus_max.values.max)
    assert.are.equal(0, r.checks[1].fails)
  end)

  local function fixture_state(f)
    return mcp.json.decode(mcp.http.request{ url = f.url .. "/", timeout = 5 }.body)
  end

  it("leaves no session behind: the fixture's session count returns to zero", function()
    local path = script([[
function setup() return { url = os.getenv("URL") } end
function default(data, vu)
  vu.c = vu.c or mcp.connect{ url = data.url, protocol = "2025-11-25" } -- the era with sessions
  vu.c:call_tool("echo", { message = "hi" })
end
]])
    local code, _, err = load(path, "--vus 6 --iterations 60 -q", "URL=" .. url)
    assert.are.equal(0, code, err)
    assert.are.equal(0, fixture_state(fx).stats.sessions)
    -- and the count is a real one: a client left open shows
    local c = mcp.connect{ url = url, protocol = "2025-11-25" }
    assert.are.equal(1, fixture_state(fx).stats.sessions)
    c:close()
    assert.are.equal(0, fixture_state(fx).stats.sessions)
  end)

  it("shards merge exactly: counts of a single run, p95 within the histogram's error", function()
    local path = script(ECHO)
    local hist = require("mcptest.core.hist")
    local code, _, err = load(path, "--vus 4 --iterations 600 -q -o json:" .. dir .. "/one.json", "URL=" .. url)
    assert.are.equal(0, code, err)
    local at = math.floor(require("mcptest.core.sys").time()) + 2
    local files = {}
    for i = 1, 3 do
      files[i] = dir .. "/shard" .. i .. ".json"
      code, _, err = load(path, string.format("--vus 4 --iterations 600 --shard %d/3 --start-at %d -q -o json:%s --out json=%s.k6",
        i, at, files[i], files[i]), "URL=" .. url)
      assert.are.equal(0, code, err)
    end
    local merged = dir .. "/merged.json"
    local mcode, mout, merr = (function()
      local o, e = dir .. "/mout", dir .. "/merr"
      local _, _, c = os.execute(string.format("%s report merge %s %s %s -o json:%s -o text >%s 2>%s", BIN,
        files[1], files[2], files[3], merged, o, e))
      return c, slurp(o), slurp(e)
    end)()
    assert.are.equal(0, mcode, merr)
    assert.matches("merged: 3 summaries", mout)
    local one, m = mcp.json.decode(slurp(dir .. "/one.json")), mcp.json.decode(slurp(merged))
    for _, name in ipairs({ "iterations", "mcp_reqs", "mcp_req_duration{method:tools/call}" }) do
      assert.are.equal(one.metrics[name].values.count, m.metrics[name].values.count, name)
    end
    assert.are.equal(600, m.metrics.iterations.values.count)
    assert.are.equal(one.checks[1].passes, m.checks[1].passes)
    -- the shards each ran a third
    for i = 1, 3 do
      assert.are.equal(200, mcp.json.decode(slurp(files[i])).metrics.iterations.values.count)
    end
    -- the merged p95 against the exact p95 of every sample the shards
    -- timed (their k6 output): within the histogram's stated error
    local samples = {}
    for i = 1, 3 do
      for line in io.lines(files[i] .. ".k6") do
        local d = mcp.json.decode(line)
        if d.type == "Point" and d.metric == "mcp_req_duration" and d.data.tags.method == "tools/call" then
          samples[#samples + 1] = d.data.value
        end
      end
    end
    assert.are.equal(600, #samples)
    table.sort(samples)
    local exact = samples[math.ceil(0.95 * #samples)]
    local got = m.metrics["mcp_req_duration{method:tools/call}"].values["p(95)"]
    -- the stated error, plus the 1 µs the histogram rounds samples to
    assert.is_true(math.abs(got - exact) <= exact * hist.ERROR + 0.001,
      string.format("merged p95 %.4f ms, exact %.4f ms", got, exact))
  end)

  it("report merge evaluates thresholds again on the merged metrics", function()
    local path = script([[
options = { thresholds = { mcp_reqs = { "count>8" } } }
]] .. ECHO)
    local a, b = dir .. "/ta.json", dir .. "/tb.json"
    assert.are.equal(1, (load(path, "--vus 1 --iterations 10 --shard 1/2 -q -o json:" .. a, "URL=" .. url)))
    assert.are.equal(1, (load(path, "--vus 1 --iterations 10 --shard 2/2 -q -o json:" .. b, "URL=" .. url)))
    -- each shard: 5 iterations and its connect, 6 requests (crossed);
    -- merged: 12, and the merged run holds it
    local _, _, c = os.execute(string.format("%s report merge %s %s -o json:%s >/dev/null 2>&1", BIN, a, b, dir .. "/tm.json"))
    assert.are.equal(0, c)
    local m = mcp.json.decode(slurp(dir .. "/tm.json"))
    assert.are.equal(12, m.metrics.mcp_reqs.values.count)
    assert.is_true(m.thresholds[1].ok)
    assert.are.equal(12, m.thresholds[1].observed)
  end)

  -- client-side sockets in TIME-WAIT towards port (the side that closes a
  -- TCP connection keeps it): /proc/net/tcp, state 06
  local function client_closed(port)
    local n = 0
    for _, f in ipairs({ "/proc/net/tcp", "/proc/net/tcp6" }) do
      local fh = io.open(f)
      if fh then
        for line in fh:lines() do
          local rport, st = line:match("^%s*%d+: %x+:%x+ %x+:(%x+) (%x%x)")
          if rport and tonumber(rport, 16) == port and st == "06" then n = n + 1 end
        end
        fh:close()
      end
    end
    return n
  end

  it("keeps its connections alive: VUs between requests do not make curl close them", function()
    local port = tonumber(url:match(":(%d+)/"))
    local before = client_closed(port)
    local path = script(ECHO)
    local code, _, err = load(path, "--vus 32 --duration 2s -q -o json:" .. dir .. "/ka.json", "URL=" .. url)
    assert.are.equal(0, code, err)
    local reqs = mcp.json.decode(slurp(dir .. "/ka.json")).metrics.mcp_reqs.values.count
    local closed = client_closed(port) - before
    -- at most one connection per VU (closed at the end); before the fix
    -- curl closed about one per ten requests
    assert.is_true(reqs > 1000, "only " .. reqs .. " requests")
    assert.is_true(closed <= 32, closed .. " connections closed by the client for " .. reqs .. " requests")
  end)

  it("--start-at waits until TIME, after setup, before the VUs start", function()
    local sys = require("mcptest.core.sys")
    local path = script([[
function setup() io.stderr:write("SETUP ", string.format("%.3f", require("mcptest.core.sys").time()), "\n") return { url = os.getenv("URL") } end
function default(data, vu)
  vu.c = vu.c or mcp.connect{ url = data.url }
  io.stderr:write("VU ", string.format("%.3f", require("mcptest.core.sys").time()), "\n")
end
]])
    local at = math.floor(sys.time()) + 2
    local code, _, err = load(path, "--iterations 1 -q --start-at " .. os.date("!%Y-%m-%dT%H:%M:%SZ", at), "URL=" .. url)
    assert.are.equal(0, code, err)
    local setup_t, vu_t = tonumber(err:match("SETUP ([%d.]+)")), tonumber(err:match("VU ([%d.]+)"))
    assert.is_true(setup_t < at, err)
    assert.is_true(vu_t >= at and vu_t < at + 1, err)
  end)

  it("--shard and --start-at: bad values are usage errors", function()
    local path = script(ECHO)
    local code, _, err = load(path, "--shard 3/2")
    assert.are.equal(2, code)
    assert.matches("%-%-shard takes I/N", err)
    code, _, err = load(path, "--start-at tomorrow")
    assert.are.equal(2, code)
    assert.matches("%-%-start%-at takes", err)
  end)

  it("OAuth under load: one client-credentials token for every VU, renewed once when it expires", function()
    local ofx = mcp.fixture.start{ auto_approve = true, token_ttl = 4 }
    local home = dir .. "/home"
    local path = script([[
function setup() return { url = os.getenv("URL") } end
function default(data, vu)
  vu.c = vu.c or mcp.connect{ url = data.url, auth = { oauth = {
    grant = "client_credentials", client_id = "dev-confidential-client", client_secret_env = "CC_SECRET" } } }
  vu.c:call_tool("echo", { message = "hi" })
end
]])
    local ok, code, _, err = pcall(load, path, "--vus 8 --duration 6s -q -o json:" .. dir .. "/oauth.json",
      "MCPTEST_HOME=" .. home .. " CC_SECRET=dev-confidential-secret URL=" .. ofx.url .. "/mcp/oauth")
    local st = fixture_state(ofx)
    ofx:stop()
    assert.is_true(ok, code)
    assert.are.equal(0, code, err)
    local r = mcp.json.decode(slurp(dir .. "/oauth.json"))
    assert.are.equal(0, r.metrics.mcp_req_failed.values.passes)
    assert.is_true(r.metrics.mcp_reqs.values.count > 100)
    -- one token at the start, shared by 8 VUs; one more after it expired at 4 s
    assert.are.equal(2, st.token_requests.client_credentials)
  end)
end)
