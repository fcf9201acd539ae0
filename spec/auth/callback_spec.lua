-- What the login refuses at the loopback callback and at the start:
-- a callback whose state is not the request's (a stale or forged one, no
-- token request made), an authorization server that refused the sign-in
-- (error=access_denied), and --device against an authorization server
-- without a device endpoint (the message suggests --no-browser).
local mcp = require("mcptest")
local sys = require("mcptest.core.sys")
local SRC = os.getenv("MCPTEST_SRC") or "."
local BIN = os.getenv("MCPTEST_BIN") or "build/mcptest"

local function fresh_home()
  local home = os.tmpname(); os.remove(home)
  sys.setenv("MCPTEST_HOME", home)
  return home
end

describe("the login's bad inputs", function()
  local fx, url
  setup(function()
    fx = mcp.fixture.start{ auto_approve = true, device_authorization = false }
    url = fx.url .. "/mcp/oauth"
    sys.setenv("BROWSER", SRC .. "/spec/auth/data/bad_callback.sh")
  end)
  teardown(function()
    if fx then fx:stop() end
    sys.setenv("BROWSER", nil)
    sys.setenv("BAD_CALLBACK", nil)
  end)
  before_each(fresh_home)

  local function code_requests()
    local s = mcp.json.decode(assert(mcp.http.request{ url = fx.url .. "/", timeout = 5 }).body)
    return s.token_requests.authorization_code or 0
  end

  it("refuses a callback whose state is not the request's, and exchanges no code", function()
    sys.setenv("BAD_CALLBACK", "state")
    local before = code_requests()
    local ok, err = pcall(mcp.oauth.login, { url = url, say = function() end, callback_timeout = 20 })
    assert.is_false(ok)
    assert.are.equal("auth", err.kind)
    assert.matches("the OAuth callback's state did not match the request's", err.message, 1, true)
    assert.are.equal(before, code_requests())
    assert.is_nil(mcp.tokens.get(url))
  end)

  it("reports error=access_denied from the authorization server", function()
    sys.setenv("BAD_CALLBACK", "denied")
    local ok, err = pcall(mcp.oauth.login, { url = url, say = function() end, callback_timeout = 20 })
    assert.is_false(ok)
    assert.matches("the authorization server refused the sign-in: access_denied: the person said no", err.message, 1, true)
    assert.are.equal("access_denied", err.oauth_error)
  end)

  it("a busy callback port that was asked for is an error, not another port", function()
    local busy = assert(require("mcptest.core.httpd").start{ port = 0 })
    local port = busy:port()
    local ok, err = pcall(mcp.oauth.login, { url = url, callback_port = port, say = function() end, callback_timeout = 5 })
    busy:close()
    assert.is_false(ok)
    assert.matches("cannot listen for the OAuth callback on 127.0.0.1:" .. port, err.message, 1, true)
    assert.matches("free the port or choose another with --callback-port", err.message, 1, true)
  end)

  it("login --device on an AS without a device endpoint says so and suggests --no-browser", function()
    local f = io.popen(string.format("MCPTEST_HOME=%s %s login %s --device </dev/null 2>&1; echo rc=$?",
      os.getenv("MCPTEST_HOME"), BIN, url))
    local out = f:read("a"); f:close()
    assert.matches("rc=3", out, 1, true)
    assert.matches("has no device authorization endpoint, so --device cannot work here; use --no-browser", out, 1, true)
  end)
end)
