-- mcptest run -j N, --shard I/N and --watch: files in worker processes
-- with the reports of one run, a deterministic split for CI jobs, and a
-- rerun on change.
local BIN = os.getenv("MCPTEST_BIN") or "build/mcptest"
local R = dofile((os.getenv("MCPTEST_SRC") or ".") .. "/spec/lib/run.lua")
local run, sh, slurp = R.run, R.sh, R.slurp
local json = require("mcptest.json")


local function spit(p, s)
  local f = assert(io.open(p, "w")); f:write(s); f:close()
end



-- a JSON report without what differs between runs (times)
local function timeless(text)
  local doc = json.decode(text)
  doc.summary.duration = nil
  for _, t in ipairs(doc.tests) do t.duration = nil end
  for _, f in ipairs(doc.files) do f.duration, f.timestamp = nil, nil end
  for _, k in ipairs({ "successes", "failures", "errors", "pendings" }) do
    for _, t in ipairs(doc[k]) do t.duration = nil end
  end
  return doc
end

local function tmpdir()
  local d = os.tmpname()
  os.remove(d)
  os.execute("mkdir -p " .. d)
  return d
end

describe("mcptest run -j N", function()
  local dir
  before_each(function()
    dir = tmpdir()
    -- each test notes the process it ran in
    local note = 'local function note() local f = io.open("' .. dir .. '/pids", "a"); '
      .. 'f:write(require("mcptest.core.sys").pid(), "\\n"); f:close() end\n'
    spit(dir .. "/a_spec.lua", note .. [[
describe("a", function()
  it("passes #smoke", function() note() end)
  it("fails", function() note(); assert.are.equal(1, 2) end)
  pending("later")
end)]])
    spit(dir .. "/b_spec.lua", note .. [[
describe("b", function()
  setup(function() error("setup broke") end)
  it("never runs", function() end)
end)
it("top", function() note(); print("printed by b") end)]])
    spit(dir .. "/c_spec.lua", note .. [[
describe("c", function()
  it("errors", function() note(); error("kaboom") end)
  it("sleeps", function() note(); local t = os.clock(); while os.clock() - t < 0.2 do end end)
end)]])
    spit(dir .. "/d_spec.lua", note .. [[it("d passes", function() note() end)]])
  end)
  after_each(function() os.execute("rm -rf " .. dir) end)

  it("runs files in several processes with reports identical to -j 1 apart from times", function()
    local c1, j1, e1 = run("run " .. dir .. " -o json -o junit:" .. dir .. "/1.xml -o tap:" .. dir .. "/1.tap")
    os.remove(dir .. "/pids")
    local c3, j3, e3 = run("run " .. dir .. " -j 3 -o json -o junit:" .. dir .. "/3.xml -o tap:" .. dir .. "/3.tap")
    assert.are.equal(1, c1, e1)
    assert.are.equal(c1, c3, e3)
    assert.are.same(timeless(j1), timeless(j3))
    assert.are.equal(slurp(dir .. "/1.tap"), slurp(dir .. "/3.tap"))
    local function untimed(p)
      return (slurp(p):gsub(' time="[^"]*"', ""):gsub(' timestamp="[^"]*"', ""))
    end
    assert.are.equal(untimed(dir .. "/1.xml"), untimed(dir .. "/3.xml"))
    assert.are.equal(0, (sh("xmllint --noout " .. dir .. "/3.xml")))
    -- the tests ran in more than one worker, none in this run's parent
    local pids = {}
    for p in slurp(dir .. "/pids"):gmatch("%d+") do pids[p] = true end
    local n = 0
    for _ in pairs(pids) do n = n + 1 end
    assert.is_true(n >= 2, "the tests ran in " .. n .. " process(es)")
    -- a print of a worker reaches stderr when the report is on stdout
    assert.matches("printed by b", e3, 1, true)
    assert.not_matches("printed by b", j3, 1, true)
    assert.not_matches("not supported", e3, 1, true)
  end)

  it("shows a worker that was killed as its file errored, and runs the others", function()
    spit(dir .. "/b_spec.lua", [[it("kills its worker", function() os.execute("kill -9 $PPID") end)]])
    -- enough files that a worker gets several: the crash is pinned on b alone
    for i = 1, 12 do spit(("%s/e%02d_spec.lua"):format(dir, i), 'it("e", function() end)') end
    local code, out, err = run("run " .. dir .. " -j 2 -o json")
    assert.are.equal(1, code, err)
    local doc = json.decode(out)
    local files, killed = {}, nil
    for _, t in ipairs(doc.tests) do
      files[t.file:match("[^/]+$")] = true
      if t.file:match("b_spec") then killed = t end
    end
    assert.is_true(files["a_spec.lua"] and files["c_spec.lua"] and files["d_spec.lua"])
    assert.are.equal("errored", killed.status)
    assert.matches("killed by signal 9", killed.message)
    assert.are.equal(16, #doc.files)
    assert.are.equal(2, doc.summary.errored) -- c's "errors" and b's worker
    assert.are.equal(3 + 12, doc.summary.passed) -- a, c, d and e01-e12, each once
  end)

  it("passes workers' output on whole lines, never mixed inside a line", function()
    for _, name in ipairs({ "a", "b", "c", "d" }) do
      spit(dir .. "/" .. name .. "_spec.lua", ([[
it("writes", function()
  local f = io.open("]] .. dir .. [[/pids", "a"); f:write(require("mcptest.core.sys").pid(), "\n"); f:close()
  for i = 1, 300 do
    io.write(("%s"):rep(40)); io.stdout:flush()
    io.write(("%s"):rep(40)); io.stdout:flush()
    io.write(("%s"):rep(40), "\n"); io.stdout:flush()
  end
end)]]):format(name, name, name))
    end
    local code, out, err = run("run " .. dir .. " -j 4 -o json:" .. dir .. "/r.json")
    assert.are.equal(0, code, err)
    local n = 0
    for line in out:gmatch("[^\n]+") do
      if not line:match("^mcptest:") then
        n = n + 1
        assert.is_truthy(line:match("^a+$") or line:match("^b+$") or line:match("^c+$") or line:match("^d+$"),
          "a mixed line: " .. line:sub(1, 80))
        assert.are.equal(120, #line)
      end
    end
    assert.are.equal(1200, n)
    -- written by several workers at once, not one after the other
    local pids, np = {}, 0
    for p in slurp(dir .. "/pids"):gmatch("%d+") do if not pids[p] then pids[p] = true; np = np + 1 end end
    assert.is_true(np >= 2, "the files ran in " .. np .. " process(es)")
  end)

  it("stops every worker on Ctrl-C; the files left are reported not run", function()
    for _, name in ipairs({ "a", "b", "c", "d" }) do
      spit(dir .. "/" .. name .. "_spec.lua", [[
it("spins", function() local t = os.clock(); while os.clock() - t < 20 do end end)
it("after", function() end)]])
    end
    local t0 = os.time()
    local code = sh("sh -c '" .. BIN .. " run " .. dir .. " -j 2 -o json:" .. dir .. "/r.json & p=$!;"
      .. " sleep 1; kill -INT $p; wait $p'")
    assert.are.equal(130, code)
    assert.is_true(os.time() - t0 < 10, "Ctrl-C took " .. (os.time() - t0) .. " s")
    -- no worker is left spinning
    local _, left = sh("pgrep -f '" .. dir .. "/.*_spec.lua' || true")
    assert.are.equal("", left)
    local doc = json.decode(slurp(dir .. "/r.json"))
    assert.are.equal(4, #doc.files)
    local not_run = 0
    for _, f in ipairs(doc.files) do if f.not_run then not_run = not_run + 1 end end
    assert.are.equal(2, not_run)
    assert.are.equal(0, doc.summary.passed)
  end)

  it("--fail-fast stops the other workers: what they were running and what is left is skipped", function()
    spit(dir .. "/a_spec.lua", 'it("fails", function() assert.is_true(false) end)\nit("x", function() end)')
    for _, name in ipairs({ "b", "c", "d" }) do
      spit(dir .. "/" .. name .. "_spec.lua",
        'it("spins", function() local t = os.clock(); while os.clock() - t < 20 do end end)\nit("after", function() end)')
    end
    local t0 = os.time()
    local code, out, err = run("run " .. dir .. " -j 2 --fail-fast -o json")
    assert.are.equal(1, code, err)
    assert.is_true(os.time() - t0 < 10, "--fail-fast took " .. (os.time() - t0) .. " s")
    local doc = json.decode(out)
    assert.are.equal(1, doc.summary.failed)
    assert.are.equal(0, doc.summary.errored)
    -- a's x; b's spins and after, or b not run when it was stopped while loading
    local b_not_run = false
    for _, f in ipairs(doc.files) do if f.name:match("b_spec") and f.not_run then b_not_run = true end end
    assert.are.equal(b_not_run and 1 or 3, doc.summary.skipped)
    for _, t in ipairs(doc.tests) do
      if t.status == "skipped" then assert.matches("--fail-fast stopped the run", t.message, 1, true) end
    end
    assert.not_matches("interrupted", err)
  end)

  it("refuses a -j that is not a whole number of 1 or more (exit 2)", function()
    for _, bad in ipairs({ "0", "x", "1.5" }) do
      local code, _, err = run("run " .. dir .. " -j " .. bad)
      assert.are.equal(2, code)
      assert.matches("-j needs a whole number", err, 1, true)
    end
  end)

  it("says once which selection picked nothing across the workers (exit 2, or 0 with --allow-empty)", function()
    local code, _, err = run("run " .. dir .. " -j 2 --tags nope")
    assert.are.equal(2, code)
    local _, count = err:gsub("matched no test", "")
    assert.are.equal(1, count, err)
    assert.not_matches("not supported", err, 1, true)
    assert.are.equal(0, (run("run " .. dir .. " -j 2 --tags nope --allow-empty")))
    -- and a tag that is in one file runs just that test
    local c2, out, err2 = run("run " .. dir .. " -j 2 --tags smoke -o json")
    assert.are.equal(0, c2)
    assert.are.equal(1, json.decode(out).summary.tests)
    -- a filter that matched nothing while another did: one warning, as -j 1 gives
    local _, _, e1 = run("run " .. dir .. " --filter passes --filter nosuch -o json")
    local _, _, e2 = run("run " .. dir .. " -j 2 --filter passes --filter nosuch -o json")
    assert.matches("warning: --filter nosuch matched no test", e1, 1, true)
    assert.are.equal(e1, e2)
    assert.are.equal("", err2)
  end)
end)

describe("mcptest run --shard I/N", function()
  local dir
  setup(function()
    dir = tmpdir()
    for i = 1, 7 do
      spit(("%s/f%d_spec.lua"):format(dir, i), ('it("t%d", function() end)'):format(i))
    end
  end)
  teardown(function() os.execute("rm -rf " .. dir) end)

  local function names(out)
    local list = {}
    for _, t in ipairs(json.decode(out).tests) do list[#list + 1] = t.name end
    return list
  end

  it("splits the files into disjoint parts whose union is the whole run", function()
    local _, whole = run("run " .. dir .. " -o json")
    local all, seen = names(whole), {}
    assert.are.equal(7, #all)
    local union = 0
    for i = 1, 3 do
      local code, out, err = run("run " .. dir .. " --shard " .. i .. "/3 -o json")
      assert.are.equal(0, code, err)
      local part = names(out)
      assert.is_true(#part == 2 or #part == 3)
      for _, n in ipairs(part) do
        assert.is_nil(seen[n], n .. " is in two shards")
        seen[n] = true
        union = union + 1
      end
      -- the same shard again is the same files (deterministic)
      local _, again = run("run " .. dir .. " --shard " .. i .. "/3 -j 2 -o json")
      assert.are.same(part, names(again))
    end
    assert.are.equal(#all, union)
    -- the documented rule: file k is in part ((k-1) mod N)+1
    local _, one = run("run " .. dir .. " --shard 1/3 -o json")
    assert.are.same({ all[1], all[4], all[7] }, names(one))
  end)

  it("balances the parts by an earlier report's file times with --shard-durations", function()
    local files = {}
    for i = 1, 7 do files[#files + 1] = { name = ("%s/f%d_spec.lua"):format(dir, i), duration = i == 3 and 10 or 1 } end
    spit(dir .. "/times.json", json.encode({ tests = json.array(), files = files, summary = {} }))
    local parts = {}
    for i = 1, 2 do
      local code, out, err = run("run " .. dir .. " --shard " .. i .. "/2 --shard-durations " .. dir .. "/times.json -o json")
      assert.are.equal(0, code, err)
      parts[i] = names(out)
    end
    -- the 10 s file alone in part 1, the six 1 s files in part 2
    assert.are.same({ "t3" }, parts[1])
    assert.are.same({ "t1", "t2", "t4", "t5", "t6", "t7" }, parts[2])
    local code, _, err = run("run " .. dir .. " --shard 1/2 --shard-durations " .. dir .. "/missing.json")
    assert.are.equal(2, code)
    assert.matches("--shard-durations: cannot read the report", err, 1, true)
    code, _, err = run("run " .. dir .. " --shard-durations " .. dir .. "/times.json")
    assert.are.equal(2, code)
    assert.matches("give --shard I/N too", err, 1, true)
  end)

  it("refuses a shard that is not I/N with 1 <= I <= N (exit 2)", function()
    for _, bad in ipairs({ "0/3", "4/3", "1", "a/b", "1/0", "1/3x", "-1/3" }) do
      local code, _, err = run("run " .. dir .. " --shard " .. bad)
      assert.are.equal(2, code, bad)
      assert.matches("--shard takes I/N", err, 1, true)
    end
  end)

  it("a shard with no file is an empty selection: exit 2, or 0 with --allow-empty", function()
    local code, _, err = run("run " .. dir .. "/f1_spec.lua " .. dir .. "/f2_spec.lua --shard 3/3")
    assert.are.equal(2, code)
    assert.matches("--shard 3/3 selected no file", err, 1, true)
    assert.are.equal(0, (run("run " .. dir .. "/f1_spec.lua --shard 2/2 --allow-empty")))
  end)
end)

describe("mcptest run --watch", function()
  local dir
  setup(function() dir = tmpdir() end)
  teardown(function() os.execute("rm -rf " .. dir) end)

  it("runs again when a suite or a file beside it changes, until stopped", function()
    spit(dir .. "/w_spec.lua", [[
local helper = dofile((debug.getinfo(1, "S").source:sub(2):match("^(.*)/")) .. "/helper.lua")
it("sees the helper", function() print("helper says " .. helper) end)]])
    spit(dir .. "/helper.lua", 'return "one"')
    local process = require("mcptest.core.process")
    local sys = require("mcptest.core.sys")
    local proc = assert(process.spawn{ argv = { BIN, "run", dir, "--watch", "-o", "plain" } })
    local out, err = {}, ""
    local function wait_for(pattern, seconds)
      local t = sys.now()
      while sys.now() - t < seconds do
        local lines, n = proc:read_lines()
        for i = 1, n or 0 do out[#out + 1] = lines[i] end
        err = err .. (proc:read_stderr() or "")
        if (table.concat(out, "\n") .. "\n" .. err):find(pattern) then return true end
        sys.sleep(0.05)
      end
      return false
    end
    assert.is_true(wait_for("waiting for a change", 20), err)
    assert.is_true(wait_for("helper says one", 1), table.concat(out, "\n"))
    spit(dir .. "/helper.lua", 'return "two, changed"')
    assert.is_true(wait_for("helper says two", 20), err)
    assert.matches("run 2", err)
    proc:close(0) -- SIGTERM stops the watch
    local st = proc:status()
    assert.are_not.equal("running", st)
  end)
end)
