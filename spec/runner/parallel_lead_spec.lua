-- `-j N` and `--shard I/N`, checked from outside (written beside another
-- implementation, kept as a second reading of the contract): files run in
-- worker processes give the report one process gives (every test once, in file order, the same statuses,
-- messages and lines); a worker that dies is its file's error; the
-- selection is judged over the whole run; --fail-fast and Ctrl-C stop
-- the workers; shards are disjoint and their union is the whole run.
local sys = require("mcptest.core.sys")
local json = require("mcptest.json")
local BIN = os.getenv("MCPTEST_BIN") or "build/mcptest"
local R = dofile((os.getenv("MCPTEST_SRC") or ".") .. "/spec/lib/run.lua")
local run, slurp = R.run, R.slurp



local function write(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

-- A tree of suites: six files that sleep (so parallel runs overlap), one
-- failing, one erroring, one printing, one pending test.
local function tree()
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir -p " .. dir .. "/sub"))
  for i = 1, 6 do
    write(string.format("%s/f%d_spec.lua", dir, i), table.concat({
      "local sys = require('mcptest.core.sys')",
      "describe('file " .. i .. "', function()",
      "  it('a #t" .. i .. "', function()",
      "    local f = io.open(" .. string.format("%q", dir .. "/pids") .. ", 'a'); f:write(sys.pid(), '\\n'); f:close()",
      "    sys.sleep(0.05)",
      "  end)",
      "  it('b', function() assert.are.equal(1, 1) end)",
      "end)", "" }, "\n"))
  end
  write(dir .. "/sub/fail_spec.lua", "it('fails here', function()\n  assert.are.equal(1, 2)\nend)\n"
    .. "it('errors here', function() error('kaboom') end)\npending('later')\n")
  write(dir .. "/sub/print_spec.lua", "it('prints', function()\n  for i = 1, 200 do print('line ' .. i .. ' ' .. string.rep('x', 60)) end\nend)\n")
  return dir
end

local function report(code, out)
  local doc = json.decode(out)
  local rows = {}
  for _, t in ipairs(doc.tests) do
    rows[#rows + 1] = table.concat({ t.file, t.name, t.status, tostring(t.line), (tostring(t.message or ""):gsub("%(%d+ ms%)", "")) }, " | ")
  end
  return code, rows, doc
end

describe("mcptest run -j", function()
  local dir
  setup(function() dir = tree() end)
  teardown(function() os.execute("rm -rf " .. dir) end)

  it("gives the report one process gives: every test once, in file order, same statuses and lines", function()
    local c1, serial = report(run("run " .. dir .. " -o json"))
    os.remove(dir .. "/pids")
    local c2, par, doc = report(run("run " .. dir .. " -j 3 -o json"))
    assert.are.equal(1, c1)
    assert.are.equal(1, c2)
    assert.are.same(serial, par)
    assert.are.equal(16, #par)
    assert.are.equal(8, #doc.files)
    -- the files ran in more than one process (not a timing: bench/ times -j)
    local pids = {}
    for pid in slurp(dir .. "/pids"):gmatch("%d+") do pids[pid] = true end
    local n = 0
    for _ in pairs(pids) do n = n + 1 end
    assert.is_true(n >= 2, n .. " worker process(es)")
  end)

  it("writes JUnit and TAP with the same content as a serial run", function()
    local _, serial = run("run " .. dir .. " -o tap")
    local _, par = run("run " .. dir .. " -j 4 -o tap")
    local function strip(s) return (s:gsub("%(%d+ ms%)", ""):gsub("# [^\n]*duration[^\n]*\n", "")) end
    assert.are.equal(strip(serial), strip(par))
    local xml = os.tmpname()
    run("run " .. dir .. " -j 2 -o junit:" .. xml)
    local ok = os.execute("xmllint --noout " .. xml)
    assert.is_true(ok)
    local text = slurp(xml)
    os.remove(xml)
    assert.are.equal(8, select(2, text:gsub("<testsuite ", "")))
    assert.matches('tests="16"', text, 1, true)
  end)

  it("shows what a file printed whole, after its file, never interleaved", function()
    local _, out, err = run("run " .. dir .. " -j 4 -o tap")
    assert.is_nil(out:find("line 1 ", 1, true)) -- prints go to stderr with TAP on stdout
    local n = 0
    for l in err:gmatch("[^\n]+") do
      if l:match("^line %d+ x+$") then n = n + 1 else assert.is_nil(l:find("line %d+ x"), l) end
    end
    assert.are.equal(200, n)
  end)

  it("reports a worker that dies as its file's error, and runs the others", function()
    write(dir .. "/sub/crash_spec.lua", "it('dies', function() require('mcptest.core.sys'); os.execute('kill -9 ' .. require('mcptest.core.sys').pid()) end)\n")
    local code, out = run("run " .. dir .. " -j 2 -o json")
    os.remove(dir .. "/sub/crash_spec.lua")
    assert.are.equal(1, code)
    local doc = json.decode(out)
    local crash
    for _, t in ipairs(doc.tests) do if t.file:find("crash_spec") then crash = t end end
    assert.is_table(crash)
    assert.are.equal("errored", crash.status)
    assert.matches("killed by signal 9", crash.message, 1, true)
    assert.are.equal(17, #doc.tests)
  end)

  it("judges the selection over the whole run: a tag in one file is no warning, a tag in none is exit 2", function()
    local code, out, err = run("run " .. dir .. " -j 3 --tags t4 -o json")
    assert.are.equal(0, code, err)
    assert.are.equal(1, #json.decode(out).tests)
    assert.is_nil(err:find("matched no test", 1, true), err)
    assert.is_nil(err:find("no test selected", 1, true), err)
    code, _, err = run("run " .. dir .. " -j 3 --tags nope")
    assert.are.equal(2, code)
    assert.matches("no test selected: --tags nope matched no test", err, 1, true)
    code, _, err = run("run " .. dir .. " -j 3 --tags t4 --tags nope")
    assert.are.equal(0, code)
    assert.matches("--tags nope matched no test", err, 1, true)
  end)

  it("stops starting files after a failure with --fail-fast; the rest are reported not run", function()
    local code, out = run("run " .. dir .. "/sub/fail_spec.lua " .. dir .. " -j 1 --fail-fast -o json")
    assert.are.equal(1, code)
    local doc = json.decode(out)
    local not_run = 0
    for _, f in ipairs(doc.files) do if f.not_run then not_run = not_run + 1 end end
    assert.is_true(not_run >= 6, out)
  end)

  it("stops every worker on SIGTERM and exits 143", function()
    write(dir .. "/slow_spec.lua", "it('waits', function() require('mcptest.core.sys').sleep(30) end)\n")
    write(dir .. "/slow2_spec.lua", "it('waits', function() require('mcptest.core.sys').sleep(30) end)\n")
    local out = os.tmpname()
    local t0 = sys.now()
    local pidf, codef = out .. ".pid", out .. ".code"
    os.execute(string.format("sh -c '%s run %s/slow_spec.lua %s/slow2_spec.lua -j 2 -o json >%s 2>&1 & echo $! >%s; wait $!; echo $? >%s' &",
      BIN, dir, dir, out, pidf, codef))
    local pid
    while not pid and sys.now() - t0 < 5 do pid = slurp(pidf); sys.sleep(0.02) end
    pid = pid:match("%d+")
    sys.sleep(1)
    os.execute("kill -TERM " .. pid)
    while os.execute("kill -0 " .. pid .. " 2>/dev/null") and sys.now() - t0 < 10 do sys.sleep(0.05) end
    os.remove(dir .. "/slow_spec.lua"); os.remove(dir .. "/slow2_spec.lua")
    assert.is_true(sys.now() - t0 < 5, "still running after SIGTERM")
    local f = io.popen("pgrep -f '" .. dir .. "/slow_spec[.]lua'")
    local left = f:read("a")
    f:close()
    assert.are.equal("", left)
    local code
    while not code and sys.now() - t0 < 5 do code = slurp(codef); sys.sleep(0.02) end
    assert.are.equal("143", code:match("%d+"))
    local doc = json.decode(slurp(out):match("{.*}"))
    assert.are.equal(2, #doc.tests)
    -- each worker says where its test stood, as a serial run does
    -- (the parent passes the stop on to its workers as SIGINT)
    for _, t in ipairs(doc.tests) do assert.matches("interrupted by SIG", t.message, 1, true) end
    os.remove(out); os.remove(pidf); os.remove(codef)
  end)

  it("gives the workers every run option, --protocol and --timeout among them", function()
    for i = 1, 2 do
      write(string.format("%s/opt%d_spec.lua", dir, i), table.concat({
        "local client = require('mcptest.client')",
        "it('sees the run options', function()",
        "  assert.are.equal('2025-11-25', client.default_protocol)",
        "  assert.are.equal(7, client.default_timeout)",
        "end)", "" }, "\n"))
    end
    local code, out, err = run("run " .. dir .. "/opt1_spec.lua " .. dir .. "/opt2_spec.lua -j 2 --protocol 2025-11-25 --timeout 7 -o tap")
    os.remove(dir .. "/opt1_spec.lua"); os.remove(dir .. "/opt2_spec.lua")
    assert.are.equal(0, code, out .. err)
    assert.matches("ok 2 ", out, 1, true)
  end)

  it("refuses a bad -j", function()
    local code, _, err = run("run " .. dir .. " -j 0")
    assert.are.equal(2, code)
    assert.matches("-j needs a whole number of worker processes", err, 1, true)
  end)
end)

describe("mcptest run --shard", function()
  local dir
  setup(function() dir = tree() end)
  teardown(function() os.execute("rm -rf " .. dir) end)

  local function files_of(args)
    local code, out, err = run(args .. " --list")
    assert.are.equal(0, code, err)
    local set = {}
    for file in out:gmatch("([^\n:]+_spec%.lua):%d+:") do set[file] = true end
    local list = {}
    for file in pairs(set) do list[#list + 1] = file end
    table.sort(list)
    return list
  end

  it("splits the files into disjoint parts whose union is the whole run", function()
    local whole = files_of("run " .. dir)
    assert.are.equal(8, #whole)
    local seen, total = {}, 0
    for i = 1, 3 do
      local part = files_of("run " .. dir .. " --shard " .. i .. "/3")
      assert.is_true(#part >= 2 and #part <= 3)
      for _, file in ipairs(part) do
        assert.is_nil(seen[file], file .. " in two shards")
        seen[file] = true
        total = total + 1
      end
    end
    assert.are.equal(#whole, total)
  end)

  it("merges the shards' JSON reports into the whole run's", function()
    local parts = {}
    for i = 1, 2 do
      parts[i] = os.tmpname()
      run("run " .. dir .. " --shard " .. i .. "/2 -o json:" .. parts[i])
    end
    local _, merged = report(run("report merge " .. parts[1] .. " " .. parts[2] .. " -o json"))
    local _, whole = report(run("run " .. dir .. " -o json"))
    table.sort(merged); table.sort(whole)
    assert.are.same(whole, merged)
    for _, p in ipairs(parts) do os.remove(p) end
  end)

  it("balances the parts by a previous report's durations", function()
    -- f1..f6 sleep 0.3 s each, the rest nearly nothing: by time, each of 3
    -- parts gets two sleeping files
    local rep = os.tmpname()
    run("run " .. dir .. " -o json:" .. rep)
    for i = 1, 3 do
      local part = files_of("run " .. dir .. " --shard " .. i .. "/3 --shard-durations " .. rep)
      local sleepers = 0
      for _, file in ipairs(part) do if file:match("/f%d_spec%.lua$") then sleepers = sleepers + 1 end end
      assert.are.equal(2, sleepers)
    end
    os.remove(rep)
  end)

  it("refuses a bad form, and an empty shard is exit 2 unless --allow-empty", function()
    for _, bad in ipairs({ "0/2", "3/2", "1-2", "a/b" }) do
      local code, _, err = run("run " .. dir .. " --shard " .. bad)
      assert.are.equal(2, code, bad)
      assert.matches("--shard takes I/N", err, 1, true)
    end
    local code, _, err = run("run " .. dir .. "/f1_spec.lua --shard 2/2")
    assert.are.equal(2, code)
    assert.matches("--shard 2/2 selected no file", err, 1, true)
    code = run("run " .. dir .. "/f1_spec.lua --shard 2/2 --allow-empty")
    assert.are.equal(0, code)
    code = run("run " .. dir .. " --shard-durations x.json")
    assert.are.equal(2, code)
  end)
end)
