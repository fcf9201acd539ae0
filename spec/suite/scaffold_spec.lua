-- mcptest scaffold: the starting suite for the fixture and for
-- server-everything runs green unmodified (YAML and --lua), and fails when
-- the fixture answers differently (a tool fault), so it asserts something.
local BIN = os.getenv("MCPTEST_BIN") or "build/mcptest"
local SRC = os.getenv("MCPTEST_SRC") or "."
local mcp = require("mcptest")

local function slurp(p) local f = assert(io.open(p)); local s = f:read("a"); f:close(); return s end

-- stdout (the suite, or the run's report), then stderr (warnings, such
-- as a tool the 2026-07-28 header rules leave out), both for messages
local function run(args)
  local out, err = os.tmpname(), os.tmpname()
  local _, _, code = os.execute(string.format("cd %s && CI= %s %s >%s 2>%s", SRC, BIN, args, out, err))
  local text, etext = slurp(out), slurp(err)
  os.remove(out); os.remove(err)
  return code, text, etext
end

local function save(text, ext)
  local path = os.tmpname() .. ext
  local f = assert(io.open(path, "w")); f:write(text); f:close()
  return path
end

describe("mcptest scaffold", function()
  it("writes a fixture suite that runs green, and fails on a fixture fault", function()
    local fx = mcp.fixture.start{}
    local code, suite = run("scaffold --url " .. fx.url .. "/mcp/open")
    assert.equals(0, code, suite)
    assert.matches("tool: echo\n    args: { message: TODO }   # TODO: message was guessed", suite, 1, true)
    assert.matches("skip: \"the tool may ask the client for sampling", suite, 1, true)
    assert.matches("  - name: tool fail\n    tool: fail\n    expect: { is_error: true }   # TODO", suite, 1, true)
    assert.matches("expect: { is_error: false }   # not called when scaffolded (destructive)", suite, 1, true)
    local path = save(suite, ".test.yaml")
    local c1, o1 = run(path)
    assert.equals(0, c1, o1)
    assert.matches(" 0 failed, 0 errored", o1, 1, true)
    -- the same suite in Lua
    local c2, lua = run("scaffold --lua --url " .. fx.url .. "/mcp/open")
    assert.equals(0, c2, lua)
    local lpath = save(lua, "_spec.lua")
    local c3, o3 = run("run " .. lpath)
    assert.equals(0, c3, o3)
    -- a fixture whose echo answers with an error: the scaffold notices
    local faulty = mcp.fixture.start{ faults = { tools = { echo = { tool_error = true } } } }
    local f = assert(io.open(path, "w"))
    f:write((suite:gsub(fx.url:gsub("%p", "%%%0"), faulty.url)))
    f:close()
    local c4, o4 = run(path)
    os.remove(path); os.remove(lpath)
    assert.equals(1, c4, o4)
    assert.matches("1 failed", o4, 1, true)
    assert.matches("tool echo", o4, 1, true)
    assert.matches("Expected the tool result not to be an error", o4, 1, true)
  end)

  it("writes a server-everything suite over stdio that runs green", function()
    local SE = ".deps/npm/node_modules/@modelcontextprotocol/server-everything/dist/index.js"
    local f = io.open(SRC .. "/" .. SE)
    if not f then pending("server-everything is not installed under .deps"); return end
    f:close()
    local code, suite = run("scaffold --stdio 'node " .. SE .. " stdio'")
    assert.equals(0, code, suite)
    assert.matches("output_schema: true", suite, 1, true)
    local path = save(suite, ".test.yaml")
    local c1, o1 = run(path)
    os.remove(path)
    assert.equals(0, c1, o1)
  end)

  it("needs a server", function()
    local code, out, err = run("scaffold")
    assert.equals(2, code)
    assert.matches("needs --stdio", out .. err, 1, true)
  end)
end)
