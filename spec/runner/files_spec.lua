-- mcptest run DIR: the suites under a directory (*_spec.lua, *.test.lua),
-- every level, in sorted order; helpers, a project's mcptest.yaml,
-- dot-directories and node_modules never run. --list prints the tests that
-- would run and runs none of them.
local BIN = os.getenv("MCPTEST_BIN") or "build/mcptest"

local function slurp(p)
  local f = io.open(p); if not f then return nil end
  local s = f:read("a"); f:close(); return s
end

local function run(args, env)
  local out, err = os.tmpname(), os.tmpname()
  local _, _, code = os.execute(string.format("%s%s %s >%s 2>%s", env and (env .. " ") or "", BIN, args, out, err))
  local o, e = slurp(out), slurp(err)
  os.remove(out); os.remove(err)
  return code, o, e
end

local function write(path, text)
  local f = assert(io.open(path, "w")); f:write(text); f:close()
end

describe("mcptest run DIR", function()
  local dir
  setup(function()
    dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. dir .. "/sub " .. dir .. "/.hidden " .. dir .. "/node_modules/pkg " .. dir .. "/empty"))
    local function suite(name) return 'it("' .. name .. ' runs #' .. name:gsub("%W", "") .. '", function() end)\n' end
    -- file names chosen so that creation order is not sorted order
    write(dir .. "/zz_spec.lua", suite("zz"))
    write(dir .. "/b_spec.lua", suite("b"))
    write(dir .. "/sub/c_spec.lua", suite("c"))
    write(dir .. "/a.test.lua", suite("a"))
    local boom = 'error("this file must not run")\n'
    write(dir .. "/helper.lua", boom)
    write(dir .. "/spec_helper_spec.lua.bak", boom)
    write(dir .. "/mcptest.yaml", "servers: {}\n")
    write(dir .. "/.hidden/h_spec.lua", boom)
    write(dir .. "/node_modules/pkg/n_spec.lua", boom)
    write(dir .. "/marker_spec.lua", [[
describe("with a setup", function()
  setup(function() local f = io.open(os.getenv("MARKER"), "w"); f:write("setup ran"); f:close() end)
  it("needs the setup #slow", function() end)
end)
]])
  end)
  teardown(function() os.execute("rm -rf " .. dir) end)

  it("runs the suites under it, every level, in sorted order, and nothing else", function()
    local code, out, err = run("run " .. dir .. " -o tap", "MARKER=" .. dir .. "/marker")
    assert.are.equal(0, code, err)
    local names = {}
    for name in out:gmatch("ok %d+ %- (%S+) runs") do names[#names + 1] = name end
    assert.are.same({ "a", "b", "c", "zz" }, names)
    assert.matches("1%.%.5", out)
  end)

  it("never runs a project's mcptest.yaml, even named", function()
    local code, out, err = run("run " .. dir .. "/mcptest.yaml")
    assert.are.equal(2, code)
    assert.are.equal("", out)
    assert.matches("mcptest%.yaml is a project's server configuration", err)
  end)

  it("a named file runs whatever its name", function()
    local code, out = run("run " .. dir .. "/helper.lua -o tap")
    assert.are.equal(1, code)
    assert.matches("this file must not run", out)
  end)

  it("a directory with no suite is a usage error unless --allow-empty", function()
    local code, _, err = run("run " .. dir .. "/empty")
    assert.are.equal(2, code)
    assert.matches("holds no suite", err)
    assert.matches("no suite to run", err)
    code = run("run " .. dir .. "/empty --allow-empty")
    assert.are.equal(0, code)
  end)

  it("--list prints the tests that would run, with tags, runs none and exits 0", function()
    local marker = os.tmpname()
    os.remove(marker)
    local code, out, err = run("run " .. dir .. " --list --filter-out zz", "MARKER=" .. marker)
    assert.are.equal(0, code, err)
    local lines = {}
    for line in out:gmatch("[^\n]+") do lines[#lines + 1] = line end
    assert.are.equal(4, #lines, out)
    assert.matches("a%.test%.lua:1: a runs #a$", lines[1])
    assert.matches("marker_spec%.lua:3: with a setup needs the setup #slow$", lines[3])
    assert.is_nil(out:find("zz", 1, true))
    -- the setup did not run
    assert.is_nil(io.open(marker))
  end)
end)

describe("mcptest.runner.files", function()
  local files = require("mcptest.runner.files")
  it("has one table of suite suffixes and one of loaders, YAML's left for its compiler", function()
    local kinds = {}
    for _, s in ipairs(files.suites) do kinds[s.suffix] = s.kind end
    assert.are.same({ ["_spec.lua"] = "lua", [".test.lua"] = "lua", [".test.yaml"] = "yaml",
                      [".test.yml"] = "yaml" }, kinds)
    assert.is_function(files.loaders.lua)
    assert.are.equal("yaml", files.kind("x.yaml"))
    assert.are.equal("lua", files.kind("script"))
  end)
end)
