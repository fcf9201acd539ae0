-- The terminal report's forms (tree, --quiet dots, colours by --color and
-- NO_COLOR) and the run options --shuffle, --seed and --repeat.
local BIN = os.getenv("MCPTEST_BIN") or "build/mcptest"
local SRC = os.getenv("MCPTEST_SRC") or "."
local FIX = SRC .. "/spec/data/cli/"

local function run(args, env)
  local out, err = os.tmpname(), os.tmpname()
  local _, _, code = os.execute(string.format("%s%s %s >%s 2>%s", env or "", BIN, args, out, err))
  local function slurp(p) local f = io.open(p); local s = f:read("a"); f:close(); os.remove(p); return s end
  return code, slurp(out), slurp(err)
end

local function order(tap)
  local names = {}
  for n in tap:gmatch("ok %d+ %- many (t%d)") do names[#names + 1] = n end
  return table.concat(names, " ")
end

describe("the terminal report", function()
  it("is a tree of files, describe names and tests with status and time, then a summary", function()
    local code, out = run(FIX .. "mixed.lua -o plain")
    assert.are.equal(1, code)
    assert.matches("mixed%.lua\n  mixed\n    ok passes #fast %(%d+ ms%)\n    FAIL fails #slow %(%d+ ms%)\n"
      .. "    skip is not written yet %(pending%)\n    ERROR errors %(%d+ ms%)\n", out)
    assert.matches("Failure 1: mixed fails #slow\n  .*mixed%.lua:3: Expected objects to be the same%.", out)
    assert.matches("Error 2: mixed errors\n  .*mixed%.lua:5: kaboom", out)
    assert.matches("\n1 passed, 1 failed, 1 errored, 1 skipped in %d+ ms %(4 tests, 1 file%)\n$", out)
  end)

  it("--quiet prints one character per test", function()
    local code, out = run(FIX .. "mixed.lua -o plain --quiet")
    assert.are.equal(1, code)
    assert.matches("^%.FsE\n", out)
    assert.is_nil(out:find("ok passes", 1, true))
  end)

  it("colours only when asked or on a terminal, and never under NO_COLOR unless --color=always", function()
    local _, out = run(FIX .. "pass.lua")
    assert.is_nil(out:find("\27[", 1, true)) -- stdout is a file here
    _, out = run(FIX .. "pass.lua --color=always")
    assert.matches("\27[32mok\27[0m", out, 1, true)
    _, out = run(FIX .. "pass.lua --color always -o utf")
    assert.matches("\27[32m✓\27[0m", out, 1, true)
    _, out = run(FIX .. "pass.lua --color=never -o utf")
    assert.is_nil(out:find("\27[", 1, true))
    assert.matches("✓ adds", out, 1, true)
    -- on a terminal (script(1) gives one): colours, unless NO_COLOR
    if os.execute("command -v script >/dev/null 2>&1") then
      local function tty(env)
        local f = os.tmpname()
        os.execute(string.format("%s script -qec '%s %s' /dev/null >%s 2>&1", env, BIN, FIX .. "pass.lua", f))
        local h = io.open(f); local s = h:read("a"); h:close(); os.remove(f)
        return s
      end
      out = tty("")
      assert.matches("\27[32m✓\27[0m", out, 1, true)
      out = tty("NO_COLOR=1")
      assert.is_nil(out:find("\27[32m", 1, true))
      assert.matches("✓ adds", out, 1, true)
    end
  end)

  it("--color takes auto, always or never", function()
    local code, _, err = run(FIX .. "pass.lua --color=sometimes")
    assert.are.equal(2, code)
    assert.matches("unknown %-%-color value sometimes %(valid: auto, always, never%)", err)
  end)
end)

describe("run order and repetition", function()
  it("--seed gives the same shuffled order every time, and prints the seed", function()
    local _, a, err = run(FIX .. "many.lua -o tap --seed 42")
    local _, b = run(FIX .. "many.lua -o tap --seed 42")
    assert.are.equal(order(a), order(b))
    assert.are_not.equal("t1 t2 t3 t4 t5 t6 t7 t8", order(a))
    assert.matches("shuffled with seed 42", err)
    local _, plain = run(FIX .. "many.lua -o tap")
    assert.are.equal("t1 t2 t3 t4 t5 t6 t7 t8", order(plain))
  end)

  it("--shuffle draws a seed and says which, so the order can be repeated", function()
    local _, a, err = run(FIX .. "many.lua -o tap --shuffle")
    local seed = err:match("shuffled with seed (%d+)")
    assert.is_truthy(seed, err)
    local _, b = run(FIX .. "many.lua -o tap --seed " .. seed)
    assert.are.equal(order(a), order(b))
  end)

  it("--repeat N runs the files N times, each run reported", function()
    local code, out = run(FIX .. "many.lua -o tap --repeat 3")
    assert.are.equal(0, code)
    assert.matches("1%.%.24", out)
    code, out = run(FIX .. "many.lua -o junit --repeat 2")
    assert.matches('<testsuite name="[^"]*many%.lua %(run 1/2%)" tests="8"', out)
    assert.matches('<testsuite name="[^"]*many%.lua %(run 2/2%)" tests="8"', out)
    code = run(FIX .. "many.lua --repeat 0")
    assert.are.equal(2, code)
  end)

  it("--verbose traces name the connection and the test that made them", function()
    local code, _, err = run(FIX .. "verbose_two.lua --verbose", "MCPTEST_SRC=" .. SRC .. " ")
    assert.are.equal(0, code, err)
    assert.matches("\n%[two servers lists with the first%] >> stdio server 'node [^\n]*stdio_server%.js[^\n]*': {[^\n]*\"tools/list\"", err)
    assert.matches("\n%[two servers lists with the second%] >> stdio server 'node [^\n]*stdio_server%.js[^\n]*': {[^\n]*\"tools/list\"", err)
    -- outside a test (the setup's handshake) no test is named
    assert.matches("\n>> stdio server '[^\n]*: {[^\n]*\"initialize\"", "\n" .. err)
  end)
end)
