-- Which tests a run selects: --filter is plain text, --filter-pattern and
-- --filter-out-pattern take Lua patterns (a bad one is a usage error), tags
-- match whole tags, and a selection that picks nothing exits 2 naming what
-- selected nothing unless --allow-empty.
local BIN = os.getenv("MCPTEST_BIN") or "build/mcptest"
local SRC = os.getenv("MCPTEST_SRC") or "."
local FIX = SRC .. "/spec/data/cli/"
local select_ = require("mcptest.runner.select")

local function run(args, env)
  local out, err = os.tmpname(), os.tmpname()
  local _, _, code = os.execute(string.format("%s%s %s >%s 2>%s", env and (env .. " ") or "", BIN, args, out, err))
  local function slurp(p) local f = io.open(p); local s = f:read("a"); f:close(); os.remove(p); return s end
  return code, slurp(out), slurp(err)
end

describe("mcptest selection", function()
  it("--filter is plain text: '-', '(' and '%' match themselves", function()
    for _, f in ipairs({ "with -32601", "(fs)", "100%" }) do
      local code, out, err = run(FIX .. "select.lua -o tap --filter '" .. f .. "'")
      assert.are.equal(0, code, err)
      assert.matches("1%.%.1", out)
      assert.is_truthy(out:find(f, 1, true), out)
    end
  end)

  it("--filter-pattern takes a Lua pattern", function()
    local code, out = run(FIX .. "select.lua -o tap --filter-pattern '%(fs%)'")
    assert.are.equal(0, code)
    assert.matches("1%.%.1", out)
    code, out = run(FIX .. "select.lua -o tap --filter-pattern '^errors [ar]'")
    assert.are.equal(0, code)
    assert.matches("1%.%.2", out)
  end)

  for _, opt in ipairs({ "--filter-pattern", "--filter-out-pattern" }) do
    it(opt .. " with a bad pattern is a usage error, before anything runs", function()
      for _, p in ipairs({ "(fs", "a%", "[abc", "%1", "x.)" }) do
        local code, out, err = run(FIX .. "select.lua -o tap " .. opt .. " '" .. p .. "'")
        assert.are.equal(2, code, p)
        assert.are.equal("", out)
        assert.matches("bad Lua pattern for " .. opt:gsub("%-", "%%-"), err)
      end
    end)
  end

  it("--filter-out is plain text, --filter-out-pattern a pattern", function()
    local code, out = run(FIX .. "select.lua -o tap --filter-out '(fs)'")
    assert.are.equal(0, code)
    assert.matches("1%.%.2", out)
    assert.is_nil(out:find("(fs)", 1, true))
    code, out = run(FIX .. "select.lua -o tap --filter-out-pattern '%d%d%d%%'")
    assert.are.equal(0, code)
    assert.matches("1%.%.2", out)
    assert.is_nil(out:find("100%", 1, true))
  end)

  it("--tags matches whole tags, not prefixes", function()
    local code, out = run(FIX .. "select.lua -o tap --tags slow-io")
    assert.are.equal(0, code)
    assert.matches("1%.%.1", out)
    local _, _, err
    code, _, err = run(FIX .. "select.lua -o tap --tags slow")
    assert.are.equal(2, code)
    assert.matches("%-%-tags slow matched no test", err)
  end)

  it("exits 2 naming the filter that selected nothing", function()
    local code, out, err = run(FIX .. "select.lua -o tap --filter nope")
    assert.are.equal(2, code)
    assert.matches("no test selected: %-%-filter nope matched no test %(3 tests were defined", err)
    assert.is_nil(out:find("\nok ", 1, true))
    code, _, err = run(FIX .. "select.lua -o tap --tags nope,smoke --filter-pattern zzz")
    assert.are.equal(2, code)
    assert.matches("%-%-filter%-pattern zzz", err)
    assert.is_nil(err:find("--tags smoke", 1, true))
  end)

  it("names the combination when each filter matched but together nothing", function()
    local code, _, err = run(FIX .. "select.lua -o tap --tags smoke --filter '(fs)'")
    assert.are.equal(2, code)
    assert.matches("%-%-filter \"%(fs%)\" with %-%-tags smoke left no test", err)
    code, _, err = run(FIX .. "select.lua -o tap --filter-out errors")
    assert.are.equal(2, code)
    assert.matches("%-%-filter%-out errors left no test", err)
  end)

  it("--allow-empty makes an empty selection pass, with a warning", function()
    local code, _, err = run(FIX .. "select.lua -o tap --tags nope --allow-empty")
    assert.are.equal(0, code)
    assert.matches("warning: no test selected", err)
  end)

  it("a plain script with no it blocks still passes when nothing narrows the run", function()
    local code = run(FIX .. "plain_pass.lua")
    assert.are.equal(0, code)
    code = run(FIX .. "plain_pass.lua --filter x")
    assert.are.equal(2, code)
  end)

  it("warns about a filter that matched nothing when another did", function()
    local code, _, err = run(FIX .. "select.lua -o tap --filter 32601 --filter typo")
    assert.are.equal(0, code)
    assert.matches("warning: %-%-filter typo matched no test", err)
  end)
end)

describe("mcptest.runner.select.check_pattern", function()
  it("accepts what string.find accepts and refuses what it raises on", function()
    for _, p in ipairs({ "", ")", "a)", "^a$", "%(x%)", "[%]]", "[]]", "[^]a]", "%bxy", "%f[%w]", "(a)%1", "()", "a-b*c+d?" }) do
      assert.is_true(select_.check_pattern(p), p)
      assert.is_true(pcall(string.find, "some text", p), p)
    end
    for _, p in ipairs({ "(", ".)", "%", "[a", "%b", "%f", "%fa", "%1", "(a%2)", "[%", "%bx" }) do
      assert.is_nil(select_.check_pattern(p), p)
      -- string.find raises on each of them for some subject
      local raised = false
      for _, s in ipairs({ "", "a", "ab", "aaa", "xa)", "(a" }) do
        if not pcall(string.find, s, p) then raised = true end
      end
      assert.is_true(raised, p)
    end
  end)
end)

describe("mcptest selection and setup hooks", function()
  it("runs no setup or teardown of a block left with no selected test", function()
    local marker = os.tmpname()
    local function marks()
      local f = io.open(marker); local t = f:read("a"); f:close(); return t
    end
    local code = run(FIX .. "setup_marker.lua -o tap --tags quick", "MARKER=" .. marker)
    assert.are.equal(0, code)
    assert.are.equal("", marks())
    code = run(FIX .. "setup_marker.lua -o tap --tags server", "MARKER=" .. marker)
    assert.are.equal(0, code)
    assert.are.equal("setup\nteardown\n", marks())
    os.remove(marker)
  end)
end)
