-- Seed 002's manual token prompt: a server that offers no OAuth, in an
-- interactive terminal (script(1) gives mcptest a pseudo-terminal) outside
-- CI, asks for a token, keeps it in the cache for that URL, and later runs
-- use it; in CI (or with no terminal) nothing is asked.
local mcp = require("mcptest")
local H = dofile(os.getenv("MCPTEST_SRC") .. "/spec/transport/http/helpers.lua")
local BIN = os.getenv("MCPTEST_BIN") or "build/mcptest"

describe("the manual token prompt", function()
  local srv
  setup(function() srv = H.start_fault() end)
  teardown(function() if srv then srv.stop() end end)

  local function run(env, input)
    local home = os.tmpname(); os.remove(home)
    local out = os.tmpname()
    local cmd = string.format("(sleep 2; printf '%s\\n' 2>/dev/null) | env -u CI %s MCPTEST_HOME=%s script -qec '%s tools --url %s' /dev/null >%s 2>&1",
      input, env, home, BIN, srv.url("auth"), out)
    local _, _, code = os.execute(cmd)
    local f = io.open(out); local s = f:read("a"); f:close(); os.remove(out)
    return code, s, home
  end

  it("asks in a terminal, keeps the pasted token, and later runs use it", function()
    local code, out, home = run("", "good-token")
    assert.are.equal(0, code, out)
    assert.matches("offers no OAuth login", out, 1, true)
    assert.matches("echo", out, 1, true)
    assert.is_nil(out:find("good-token", 1, true)) -- not echoed
    local f = io.popen(string.format("MCPTEST_HOME=%s %s tools --url %s </dev/null 2>&1", home, BIN, srv.url("auth")))
    local again = f:read("a"); f:close()
    assert.matches("echo", again, 1, true)
  end)

  it("asks nothing in CI", function()
    local code, out = run("CI=true", "good-token")
    assert.are.equal(3, code, out)
    assert.is_nil(out:find("offers no OAuth login", 1, true))
    assert.matches("no credentials were supplied", out, 1, true)
  end)
end)
