-- Reports tell the truth: every test of spec/data/cli/outside.lua (errors
-- in setup, before_each, after_each, teardown, lazy_setup and a describe
-- body; a print; a message with control characters) appears exactly once
-- in every format with its status, and the reports are read back with
-- parsers mcptest did not write: xmllint (libxml2) for JUnit, Python's
-- json for JSON.
local BIN = os.getenv("MCPTEST_BIN") or "build/mcptest"
local R = dofile((os.getenv("MCPTEST_SRC") or ".") .. "/spec/lib/run.lua")
local run, sh, slurp = R.run, R.sh, R.slurp
local SRC = os.getenv("MCPTEST_SRC") or "."
local FIX = SRC .. "/spec/data/cli/"




-- The tests outside.lua defines, by full name, with the status each must have.
local EXPECTED = {
  ["setup fails first under the setup"] = "errored",
  ["setup fails nested second, in a nested block"] = "errored",
  ["setup fails a pending one under it"] = "skipped",
  ["before_each fails never starts"] = "errored",
  ["after_each fails passes, then its after_each fails"] = "errored",
  ["teardown fails passes before the teardown"] = "passed",
  ["teardown fails teardown"] = "errored",
  ["lazy_setup fails one"] = "errored",
  ["lazy_setup fails two"] = "errored",
  ["body fails registered before the error"] = "errored",
  ["fine prints and passes"] = "passed",
  ["fine fails an assertion"] = "failed",
  ["fine fails with an escape \27[31mred\27[0m and \1 in its message"] = "errored",
}
local COUNTS = { passed = 2, failed = 1, errored = 9, skipped = 1 }
local N = 13

local function tmpdir()
  local d = os.tmpname()
  os.remove(d)
  assert(os.execute("mkdir -p " .. d))
  return d
end

describe("reports", function()
  local dir
  setup(function() dir = tmpdir() end)
  teardown(function() os.execute("rm -rf " .. dir) end)

  it("JSON lists every test once with its status and counts them all (python3 json)", function()
    local code, out, err = run(FIX .. "outside.lua -o json")
    assert.are.equal(1, code, err)
    local f = io.open(dir .. "/r.json", "w"); f:write(out); f:close()
    -- one line per test: status TAB full name (with escapes), then the summary
    local py = [==[
import json, sys
d = json.load(open(sys.argv[1]))
for t in d["tests"]:
    print(t["status"] + "\t" + " ".join(t["path"] + [t["name"]]).encode("unicode_escape").decode())
s = d["summary"]
print("summary", s["tests"], s["passed"], s["failed"], s["errored"], s["skipped"], len(d["files"]))
]==]
    local pf = io.open(dir .. "/read.py", "w"); pf:write(py); pf:close()
    local pcode, pout, perr = sh("python3 " .. dir .. "/read.py " .. dir .. "/r.json")
    assert.are.equal(0, pcode, perr)
    local seen, n = {}, 0
    for status, name in pout:gmatch("(%a+)\t([^\n]*)\n") do
      name = name:gsub("\\x1b", "\27"):gsub("\\x01", "\1")
      assert.is_nil(seen[name], "twice: " .. name)
      seen[name] = true
      n = n + 1
      assert.are.equal(EXPECTED[name], status, name)
    end
    assert.are.equal(N, n)
    assert.matches(string.format("summary %d %d %d %d %d 1", N, COUNTS.passed, COUNTS.failed,
      COUNTS.errored, COUNTS.skipped), pout)
  end)

  it("JSON on stdout holds the report alone: a test's print goes to stderr", function()
    local _, out, err = run(FIX .. "outside.lua -o json")
    assert.is_nil(out:find("PRINTED BY A TEST", 1, true))
    assert.is_nil(out:find("WRITTEN BY A TEST", 1, true))
    assert.is_nil(out:find("STDOUT WRITE BY A TEST", 1, true))
    assert.matches("PRINTED BY A TEST", err)
    assert.matches("WRITTEN BY A TEST", err)
    assert.matches("STDOUT WRITE BY A TEST", err)
    assert.matches("^{[^\n]*}\n$", out)
  end)

  it("a command a test runs writes to stderr when a report is on stdout", function()
    local code, out, err = run(FIX .. "child_output.lua -o json")
    assert.are.equal(0, code, out .. err)
    assert.matches("^{[^\n]*}\n$", out)
    assert.matches("CHILD SAID HI", err)
    assert.matches("POPEN WRITER", err)
    -- with the terminal report the commands print where they always did
    code, out = run(FIX .. "child_output.lua")
    assert.are.equal(0, code)
    assert.matches("CHILD SAID HI", out)
  end)

  it("JUnit is well-formed XML with one testsuite per file and every test once (xmllint)", function()
    local xml = dir .. "/r.xml"
    local code, out = run("run " .. FIX .. "outside.lua " .. FIX .. "pass.lua -o junit:" .. xml)
    assert.are.equal(1, code)
    assert.is_nil(out:find("<", 1, true)) -- only what the test printed
    local ok, _, lint = sh("xmllint --noout " .. xml)
    assert.are.equal(0, ok, lint)
    local function xpath(q)
      local c, o, e = sh("xmllint --xpath '" .. q .. "' " .. xml)
      assert.are.equal(0, c, e)
      return (o:gsub("\n$", ""))
    end
    assert.are.equal("2", xpath("count(/testsuites/testsuite)"))
    local suite = "/testsuites/testsuite[1]"
    assert.are.equal(tostring(N), xpath("count(" .. suite .. "/testcase)"))
    assert.are.equal(tostring(N), xpath("string(" .. suite .. "/@tests)"))
    assert.are.equal(tostring(COUNTS.failed), xpath("count(" .. suite .. "/testcase/failure)"))
    assert.are.equal(tostring(COUNTS.failed), xpath("string(" .. suite .. "/@failures)"))
    assert.are.equal(tostring(COUNTS.errored), xpath("count(" .. suite .. "/testcase/error)"))
    assert.are.equal(tostring(COUNTS.errored), xpath("string(" .. suite .. "/@errors)"))
    assert.are.equal(tostring(COUNTS.skipped), xpath("count(" .. suite .. "/testcase/skipped)"))
    assert.are.equal(tostring(N + 2), xpath("string(/testsuites/@tests)"))
    -- nothing directly under testsuite but properties and testcases
    assert.are.equal("0", xpath("count(/testsuites/testsuite/*[not(self::testcase or self::properties)])"))
    -- the file is the suite's name, the describe path the classname, no #tags in names
    assert.matches("outside%.lua$", xpath("string(" .. suite .. "/@name)"))
    assert.are.equal("setup fails / nested",
      xpath("string(" .. suite .. "/testcase[@name=\"second, in a nested block\"]/@classname)"))
    local pass_suite = "/testsuites/testsuite[2]"
    assert.are.equal("adds", xpath("string(" .. pass_suite .. "/testcase[1]/@name)"))
    -- failure: message attribute and type, the full text inside
    local failure = suite .. "/testcase[@name=\"fails an assertion\"]/failure"
    assert.are.equal("AssertionError", xpath("string(" .. failure .. "/@type)"))
    assert.matches("Expected objects to be equal%.$", xpath("string(" .. failure .. "/@message)"))
    assert.matches("Passed in:", xpath("string(" .. failure .. ")"))
    -- the control characters a server sent are shown, not written raw
    local e = xpath("string(" .. suite .. "/testcase[contains(@name, \"escape\")]/error)")
    assert.matches("server said: \\x1b[31mbad\\x1b[0m \\x00 \\x08 \\xff end", e, 1, true)
    -- times are numbers
    assert.matches("^%d+%.%d+$", xpath("string(" .. suite .. "/testcase[1]/@time)"))
  end)

  it("JUnit reads back with the counts CI would show (junit2json, pinned in scripts/npm-junit)", function()
    -- MCPTEST_JUNIT_READER: another install of the same reader
    local reader = os.getenv("MCPTEST_JUNIT_READER")
      or (SRC .. "/.deps/npm-junit/node_modules/junit2json/dist/esm/cli.js")
    assert.is_truthy(io.open(reader), "junit2json is not installed at " .. reader .. "; run scripts/deps.sh")
    local xml = dir .. "/ci.xml"
    run("run " .. FIX .. "outside.lua " .. FIX .. "mixed.lua -o junit:" .. xml)
    local code, out, err = sh("node " .. reader .. " " .. xml)
    assert.are.equal(0, code, err)
    local doc = require("mcptest.json").decode(out)
    assert.are.equal(N + 4, doc.tests)
    assert.are.equal(2, #doc.testsuite)
    local s = doc.testsuite[1]
    local seen = { failure = 0, error = 0, skipped = 0 }
    for _, tc in ipairs(s.testcase) do
      for k in pairs(seen) do if tc[k] then seen[k] = seen[k] + 1 end end
    end
    assert.are.same({ failure = COUNTS.failed, error = COUNTS.errored, skipped = COUNTS.skipped }, seen)
    assert.are.equal(N, #s.testcase)
    assert.are.same({ COUNTS.failed, COUNTS.errored, COUNTS.skipped }, { s.failures, s.errors, s.skipped })
    local mixed = doc.testsuite[2]
    assert.are.equal("passes", mixed.testcase[1].name) -- no #fast
    assert.are.equal("kaboom", mixed.testcase[4].error[1].inner:match("kaboom"))
  end)

  it("TAP and terminal list every test once and show control characters as \\x1b", function()
    local _, tap = run(FIX .. "outside.lua -o tap")
    local oks = select(2, tap:gsub("\nok %d+", "")) + (tap:match("^ok %d+") and 1 or 0)
    local not_oks = select(2, tap:gsub("not ok %d+", ""))
    assert.are.equal(N, oks + not_oks)
    assert.are.equal(COUNTS.failed + COUNTS.errored, not_oks)
    assert.matches("1%.%." .. N .. "\n$", tap)
    assert.is_nil(tap:find("\27", 1, true))
    assert.matches("\\x1b[31mbad\\x1b[0m", tap, 1, true)
    local _, term = run(FIX .. "outside.lua -o plain")
    assert.is_nil(term:find("\27", 1, true))
    assert.matches("\\x1b[31mbad", term, 1, true)
    assert.matches("2 passed, 1 failed, 9 errored, 1 skipped in ", term, 1, true)
  end)

  it("TAP keeps one line per test when a name or message holds a newline", function()
    local f = dir .. "/nl.lua"
    local h = io.open(f, "w")
    h:write('it("two\\nlines", function() end)\n'
      .. 'it("ok 5 - fake\\nok 6", function() error("x\\nok 7 - y") end)\n')
    h:close()
    local code, tap = run(f .. " -o tap")
    assert.are.equal(1, code)
    assert.are.equal("ok 1 - two\\nlines\nnot ok 2 - ok 5 - fake\\nok 6\n", tap:match("^ok 1.-\n.-\n"))
    assert.is_nil(tap:find("\nok [567]"))
    assert.matches("\n1%.%.2\n$", tap)
  end)

  it("-o repeats: a console and two files from one run", function()
    local xml, json = dir .. "/a.xml", dir .. "/a.json"
    local code, out = run(FIX .. "mixed.lua -o plain -o junit:" .. xml .. " -o json:" .. json)
    assert.are.equal(1, code)
    assert.matches("1 passed, 1 failed, 1 errored, 1 skipped", out, 1, true)
    assert.are.equal(0, (sh("xmllint --noout " .. xml)))
    local pcode, pout = sh("python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))[\"summary\"]; print(s[\"tests\"], s[\"failed\"])' " .. json)
    assert.are.equal(0, pcode)
    assert.are.equal("4 1\n", pout)
  end)

  it("two reports to stdout, or two to one file, are usage errors", function()
    local code, out, err = run(FIX .. "pass.lua -o tap -o junit")
    assert.are.equal(2, code)
    assert.are.equal("", out)
    assert.matches("two reports would go to stdout", err)
    code, _, err = run(FIX .. "pass.lua -o tap:" .. dir .. "/x -o json:" .. dir .. "/x")
    assert.are.equal(2, code)
    assert.matches("two reports would be written to", err)
    code, _, err = run(FIX .. "pass.lua -o tap -o junit --output-file " .. dir .. "/y")
    assert.are.equal(2, code)
    assert.matches("%-%-output%-file names the file of one report", err)
  end)

  it("a report file that cannot be written says why, before anything runs", function()
    local code, out, err = run(FIX .. "args.lua -o junit:/nonexistent/dir/r.xml")
    assert.are.equal(2, code)
    assert.are.equal("", out)
    assert.matches("cannot write the report to /nonexistent/dir/r.xml: No such file or directory", err, 1, true)
    assert.is_nil(err:find("args:", 1, true)) -- the script did not run
    code, _, err = run(FIX .. "pass.lua -o tap:" .. dir)
    assert.are.equal(2, code)
    assert.matches("Is a directory", err, 1, true)
  end)

  it("a report that fails while being written exits non-zero with the reason", function()
    if not io.open("/dev/full", "w") then return pending("no /dev/full here") end
    local code, _, err = run(FIX .. "pass.lua -o json:/dev/full")
    assert.are_not.equal(0, code)
    assert.matches("could not write the json report to /dev/full: .*No space left on device", err)
  end)

  it("--fail-fast stops after the first failure; the rest is reported skipped", function()
    local json = dir .. "/ff.json"
    local code, out = run("run " .. FIX .. "mixed.lua " .. FIX .. "pass.lua --fail-fast -o plain -o json:" .. json)
    assert.are.equal(1, code)
    assert.matches("1 passed, 1 failed, 0 errored, 2 skipped", out, 1, true)
    assert.matches("pass.lua: not run (--fail-fast stopped the run after a failure)", out, 1, true)
    local pcode, pout = sh("python3 -c 'import json,sys; d=json.load(open(sys.argv[1]));"
      .. " print([t[\"status\"] for t in d[\"tests\"]], [f.get(\"not_run\") for f in d[\"files\"]])' " .. json)
    assert.are.equal(0, pcode)
    assert.are.equal("['passed', 'failed', 'skipped', 'skipped'] [None, '--fail-fast stopped the run after a failure']\n", pout)
  end)
end)
