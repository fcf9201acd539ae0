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

-- A server that offers OAuth: in a terminal outside CI, a 401 with no
-- credentials runs the login (authorization code, $BROWSER) with the
-- challenge's scope, and the request goes through; in CI nothing opens.
describe("the OAuth login on a 401 in a terminal", function()
  local fx, url
  setup(function()
    fx = mcp.fixture.start{ auto_approve = true }
    url = fx.url .. "/mcp/oauth"
  end)
  teardown(function() if fx then fx:stop() end end)

  local function run(env)
    local home = os.tmpname(); os.remove(home)
    local out = os.tmpname()
    local cmd = string.format("env -u CI %s MCPTEST_HOME=%s BROWSER=%s/spec/data/browser.sh script -qec '%s call --url %s --tool whoami' /dev/null >%s 2>&1 </dev/null",
      env, home, os.getenv("MCPTEST_SRC"), BIN, url, out)
    local _, _, code = os.execute(cmd)
    local f = io.open(out); local s = f:read("a"); f:close(); os.remove(out)
    return code, s, home
  end

  it("logs in, retries the request, and keeps the token for later runs", function()
    local code, out, home = run("")
    assert.are.equal(0, code, out)
    assert.matches("Opened a browser to sign in", out, 1, true)
    assert.matches('\\"scopes\\":[\\"mcp:read\\",\\"mcp:write\\"]', out, 1, true)
    local f = io.popen(string.format("MCPTEST_HOME=%s %s call --url %s --tool whoami </dev/null 2>&1", home, BIN, url))
    local again = f:read("a"); f:close()
    assert.matches("client_id", again, 1, true)
    assert.is_nil(again:find("Opened a browser", 1, true))
  end)

  it("opens nothing in CI", function()
    local code, out = run("CI=true")
    assert.are.equal(3, code, out)
    assert.is_nil(out:find("Opened a browser", 1, true))
    assert.matches("no credentials were supplied", out, 1, true)
  end)
end)
