-- YAML suites' `snapshot:` (mcptest.snapshot): a missing snapshot is
-- written on a local run and fails under CI, a mismatch fails with a line
-- diff, --update-snapshots rewrites.
local BIN = os.getenv("MCPTEST_BIN") or "build/mcptest"

local function slurp(p) local f = io.open(p); if not f then return nil end; local s = f:read("a"); f:close(); return s end

local function run(dir, args, env)
  local out = os.tmpname()
  local _, _, code = os.execute(string.format("cd %s && %s%s %s >%s 2>&1", dir, env or "", BIN, args, out))
  local text = slurp(out)
  os.remove(out)
  return code, text
end

describe("snapshots", function()
  local dir
  before_each(function()
    dir = os.tmpname(); os.remove(dir)
    os.execute("mkdir -p " .. dir .. "/suites")
  end)
  after_each(function() os.execute("rm -rf " .. dir) end)

  local function suite(message)
    local f = assert(io.open(dir .. "/suites/s.test.yaml", "w"))
    f:write("servers: { fx: { fixture: true } }\ntests:\n  - name: echo\n    tool: echo\n"
      .. "    args: { message: " .. message .. " }\n    expect: { snapshot: true }\n"
      .. "  - name: named\n    tool: ping\n    expect: { snapshot: the ping }\n")
    f:close()
  end
  local SNAP = "/suites/__snapshots__/s.snap.json"

  it("writes a missing snapshot beside the suite on a local run, and says so", function()
    suite("hi")
    local code, out = run(dir, "suites/s.test.yaml", "CI= ")
    assert.equals(0, code, out)
    assert.matches('snapshot "echo" written in suites/__snapshots__/s.snap.json', out, 1, true)
    local stored = slurp(dir .. SNAP)
    assert.matches('"text": "hi"', stored, 1, true)
    assert.matches('"the ping": {', stored, 1, true)
    local code2, out2 = run(dir, "suites/s.test.yaml", "CI=true ")
    assert.equals(0, code2, out2)
    assert.is_nil(out2:find("written", 1, true))
  end)

  it("fails a missing snapshot when CI is set, writing nothing", function()
    suite("hi")
    local code, out = run(dir, "suites/s.test.yaml", "CI=true ")
    assert.equals(1, code)
    assert.matches('suites/s.test.yaml:6: snapshot "echo" is missing from suites/__snapshots__/s.snap.json and CI is set', out, 1, true)
    assert.is_nil(slurp(dir .. SNAP))
  end)

  it("fails a mismatch with a diff at the YAML line; --update-snapshots rewrites", function()
    suite("hi")
    run(dir, "suites/s.test.yaml", "CI= ")
    suite("ho")
    local code, out = run(dir, "suites/s.test.yaml", "CI= ")
    assert.equals(1, code)
    assert.matches('suites/s.test.yaml:6: snapshot "echo" in suites/__snapshots__/s.snap.json differs', out, 1, true)
    -- the diff's lines, whatever the report indents them by
    assert.matches('\n%s*%-       "text": "hi",\n%s*%+       "text": "ho",', out)
    local code2, out2 = run(dir, "run suites/s.test.yaml --update-snapshots", "CI=true ")
    assert.equals(0, code2, out2)
    assert.matches('"text": "ho"', slurp(dir .. SNAP), 1, true)
    assert.equals(0, (run(dir, "suites/s.test.yaml", "CI=true ")))
  end)
end)
