-- retry: a test that passes on a retry is reported passed and flaky in
-- every format, with its attempts counted; one that fails every attempt
-- fails with the last attempt's failure and says how many attempts ran.
-- The Lua form (it(name, { retry = N }, fn)) and the YAML key (retry: N,
-- against the fixture server) share the runner.
local BIN = os.getenv("MCPTEST_BIN") or "build/mcptest"
local SRC = os.getenv("MCPTEST_SRC") or "."
local LUA = SRC .. "/spec/data/cli/retry.lua"
local YAML = SRC .. "/spec/data/cli/retry.test.yaml"
local json = require("mcptest.json")

local function slurp(p)
  local f = io.open(p); if not f then return nil end
  local s = f:read("a"); f:close(); return s
end

local function run(args)
  local out, err = os.tmpname(), os.tmpname()
  local _, _, code = os.execute(string.format("%s %s >%s 2>%s", BIN, args, out, err))
  local o, e = slurp(out), slurp(err)
  os.remove(out); os.remove(err)
  return code, o, e
end

local function by_name(report)
  local t = {}
  for _, x in ipairs(report.tests) do t[x.name] = x end
  return t
end

describe("retry", function()
  it("Lua: JSON has the attempts, flaky = true and summary.flaky; the last failure is kept", function()
    local code, out = run("run " .. LUA .. " -o json")
    assert.equals(1, code)
    local r = json.decode(out)
    local t = by_name(r)
    assert.equals("passed", t["passes on the second attempt"].status)
    assert.is_true(t["passes on the second attempt"].flaky)
    assert.equals(2, t["passes on the second attempt"].attempts)
    assert.equals("errored", t["fails every attempt"].status)
    assert.equals(3, t["fails every attempt"].attempts)
    assert.is_nil(t["fails every attempt"].flaky)
    assert.matches("boom on attempt 3\n(errored on all 3 attempts; the last attempt's failure is shown)",
      t["fails every attempt"].message, 1, true)
    assert.not_matches("attempt 1", t["fails every attempt"].message, 1, true)
    assert.is_nil(t["runs once without the option"].attempts)
    assert.equals(1, t["passes at once"].attempts)
    assert.is_nil(t["passes at once"].flaky)
    assert.equals(1, r.summary.flaky)
    assert.equals(3, r.summary.passed)
  end)

  it("Lua: the terminal, TAP and JUnit (xmllint) show the flaky test", function()
    local _, term = run("run " .. LUA .. " -o plain")
    assert.matches("ok passes on the second attempt (flaky: passed on attempt 2, ", term, 1, true)
    assert.matches("\n1 flaky (passed on a retry): retry passes on the second attempt (attempt 2)\n", term, 1, true)
    local _, tap = run("run " .. LUA .. " -o tap")
    assert.matches("ok 1 - retry passes on the second attempt\n# flaky: passed on attempt 2\nnot ok 2", tap, 1, true)
    local path = os.tmpname()
    run("run " .. LUA .. " -o junit:" .. path)
    local p = io.popen("xmllint --xpath 'string(//testcase[@name=\"passes on the second attempt\"]"
      .. "/properties/property[@name=\"flaky\"]/@value)' " .. path)
    assert.equals("true", (p:read("a"):gsub("%s+$", "")))
    p:close()
    p = io.popen("xmllint --xpath 'string(//testcase[@name=\"passes on the second attempt\"]"
      .. "/properties/property[@name=\"attempts\"]/@value)' " .. path)
    assert.equals("2", (p:read("a"):gsub("%s+$", "")))
    p:close()
    os.remove(path)
  end)

  it("report merge keeps attempts and flaky", function()
    local path = os.tmpname()
    run("run " .. LUA .. " -o json:" .. path)
    local _, out = run("report merge " .. path .. " -o json")
    os.remove(path)
    local t = by_name(json.decode(out))
    assert.is_true(t["passes on the second attempt"].flaky)
    assert.equals(3, t["fails every attempt"].attempts)
  end)

  it("Lua: an unknown option or a bad count is an error naming the test", function()
    local dir = os.tmpname()
    local f = io.open(dir, "w")
    f:write('it("x", { retyr = 1 }, function() end)\nit("y", { retry = -1 }, function() end)\n')
    f:close()
    local code, out, err = run("run " .. dir .. " -o plain")
    os.remove(dir)
    assert.equals(1, code)
    assert.matches('it("x", OPTIONS, fn): unknown option retyr (known: retry)', out .. err, 1, true)
  end)

  it("YAML: retry: N compiles to it's option and runs against the fixture", function()
    local code, lua = run("compile " .. YAML)
    assert.equals(0, code)
    assert.matches('it("passes on the second attempt", { retry = 2 }, function()', lua, 1, true)
    assert.matches('it("echo passes at once", { retry = 1 }, function()', lua, 1, true)
    local code2, out = run(YAML .. " -o json")
    assert.equals(1, code2)
    local t = by_name(json.decode(out))
    assert.is_true(t["passes on the second attempt"].flaky)
    assert.equals("failed", t["echo fails every attempt"].status)
    assert.equals(2, t["echo fails every attempt"].attempts)
    -- the YAML line of the expectation, then the attempts
    assert.matches("retry.test.yaml:19: Expected the result text to equal \"bye\"", t["echo fails every attempt"].message, 1, true)
    assert.matches("(failed on all 2 attempts; the last attempt's failure is shown)", t["echo fails every attempt"].message, 1, true)
  end)

  it("YAML: retry must be a whole number, 0 or more, at its line and column", function()
    local path = os.tmpname() .. ".test.yaml"
    local f = io.open(path, "w")
    f:write("tests:\n  - name: a\n    retry: -1\n    lua: assert(true)\n  - name: b\n    retry: two\n    lua: assert(true)\n")
    f:close()
    local code, _, err = run(path)
    os.remove(path)
    assert.equals(2, code)
    assert.matches(":3:12: `retry` in tests[1] (a) is how many more attempts a failing test gets: 0 or more", err, 1, true)
    assert.matches(":6:12: `retry` in tests[2] (b) must be an integer, got a string", err, 1, true)
  end)
end)
