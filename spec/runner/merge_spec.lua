-- mcptest report merge: the JSON reports of two runs become one report in
-- any format, the same as one run of both files gives.
local BIN = os.getenv("MCPTEST_BIN") or "build/mcptest"
local R = dofile((os.getenv("MCPTEST_SRC") or ".") .. "/spec/lib/run.lua")
local run, sh, slurp = R.run, R.sh, R.slurp
local SRC = os.getenv("MCPTEST_SRC") or "."
local FIX = SRC .. "/spec/data/cli/"
local json = require("mcptest.json")




-- status and full name of every test of a JSON report, in order
local function statuses(doc)
  local out = {}
  for _, t in ipairs(doc.tests) do
    out[#out + 1] = t.status .. " " .. table.concat(t.path, " ") .. " " .. t.name .. " @" .. t.file
  end
  return out
end

describe("mcptest report merge", function()
  local dir
  setup(function()
    dir = os.tmpname()
    os.remove(dir)
    os.execute("mkdir -p " .. dir)
  end)
  teardown(function() os.execute("rm -rf " .. dir) end)

  it("merges two runs' JSON into what one run of both reports", function()
    run(FIX .. "mixed.lua -o json:" .. dir .. "/a.json")
    run(FIX .. "outside.lua -o json:" .. dir .. "/b.json")
    local _, both = run("run " .. FIX .. "mixed.lua " .. FIX .. "outside.lua -o json")
    local code, merged, err = run("report merge " .. dir .. "/a.json " .. dir .. "/b.json -o json")
    assert.are.equal(1, code, err)
    local m, b = json.decode(merged), json.decode(both)
    assert.are.same(statuses(b), statuses(m))
    for _, k in ipairs({ "tests", "passed", "failed", "errored", "skipped", "files" }) do
      assert.are.equal(b.summary[k], m.summary[k], k)
    end
    -- and to JUnit that xmllint reads, with the failure texts kept
    code = run("report merge " .. dir .. "/a.json " .. dir .. "/b.json -o junit:" .. dir .. "/all.xml -o plain")
    assert.are.equal(1, code)
    local c2, count = sh("xmllint --xpath 'count(//testcase)' " .. dir .. "/all.xml")
    assert.are.equal(0, c2)
    assert.are.equal(tostring(#b.tests), (count:gsub("%s", "")))
    assert.matches("kaboom", slurp(dir .. "/all.xml"))
  end)

  it("exits 0 when every merged test passed", function()
    run(FIX .. "pass.lua -o json:" .. dir .. "/p.json")
    local code, out = run("report merge " .. dir .. "/p.json -o plain")
    assert.are.equal(0, code)
    assert.matches("2 passed, 0 failed, 0 errored, 0 skipped", out, 1, true)
  end)

  it("refuses what is not an mcptest JSON report, naming the file (exit 2)", function()
    local f = io.open(dir .. "/bad.json", "w"); f:write('{"summary":{}}'); f:close()
    local code, _, err = run("report merge " .. dir .. "/bad.json")
    assert.are.equal(2, code)
    assert.matches("bad%.json is not an mcptest JSON report", err)
    f = io.open(dir .. "/text.json", "w"); f:write("not json"); f:close()
    code, _, err = run("report merge " .. dir .. "/text.json")
    assert.are.equal(2, code)
    assert.matches("text%.json is not JSON", err)
    code, _, err = run("report merge " .. dir .. "/missing.json")
    assert.are.equal(2, code)
    assert.matches("missing%.json: No such file or directory", err)
    code, _, err = run("report join x.json")
    assert.are.equal(2, code)
    assert.matches("unknown report command join", err)
  end)
end)
