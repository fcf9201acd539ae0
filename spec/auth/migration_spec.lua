-- SEP-2352: the server's PRM starts naming another authorization server
-- (the fixture's TEST ONLY /test/migrate gives its AS a new issuer and
-- forgets every registration and token of the old one). mcptest discovers
-- again, registers at the new AS and logs in again where it can (an
-- unattended grant, or a person at a terminal), and sends nothing of the
-- old AS's (client id, refresh token) to the new one: the fixture counts
-- the requests that present a client id of the old issuer.
local mcp = require("mcptest")
local sys = require("mcptest.core.sys")
local SRC = os.getenv("MCPTEST_SRC") or "."
local BIN = os.getenv("MCPTEST_BIN") or "build/mcptest"

local function fresh_home()
  local home = os.tmpname(); os.remove(home)
  sys.setenv("MCPTEST_HOME", home)
  return home
end

local function state(fx)
  return mcp.json.decode(assert(mcp.http.request{ url = fx.url .. "/", timeout = 5 }).body)
end

local function migrate(fx, path)
  local r = assert(mcp.http.request{ method = "POST", url = fx.url .. "/test/migrate", timeout = 5,
    headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }, body = "issuer_path=" .. path })
  assert.are.equal(200, r.status, r.body)
end

local function whoami(c) return mcp.json.decode(mcp.text(c:call_tool("whoami", {}))) end

describe("an authorization server migration (SEP-2352)", function()
  local fx, url
  before_each(function()
    fresh_home()
    fx = mcp.fixture.start{ auto_approve = true }
    url = fx.url .. "/mcp/oauth"
    sys.setenv("BROWSER", SRC .. "/spec/data/browser.sh")
  end)
  after_each(function() if fx then fx:stop() end end)

  it("an unattended grant registers at the new AS and gets its token, mid-session", function()
    local c = mcp.connect{ url = url, auth = { oauth = { grant = "client_credentials" } } }
    local before = whoami(c).client_id
    assert.are.equal(fx.url, mcp.tokens.get(url).issuer)
    migrate(fx, "/tenant2")
    local after = whoami(c).client_id -- 401, rediscovery, registration, token, retry
    c:close()
    assert.are_not.equal(before, after)
    local s = state(fx)
    assert.are.equal(fx.url .. "/tenant2", s.issuer)
    assert.are.equal(2, s.registrations)
    assert.are.equal(0, s.retired_client_requests)
    local t = mcp.tokens.get(url)
    assert.are.equal(fx.url .. "/tenant2", t.issuer)
    assert.are.equal(after, t.client_id)
    -- registrations are kept per issuer: the old one is still there, apart
    assert.are.equal(before, require("mcptest.auth.cache").client(fx.url).client_id)
    assert.are.equal(after, require("mcptest.auth.cache").client(fx.url .. "/tenant2").client_id)
    assert.are.equal("native", require("mcptest.auth.cache").client(fx.url .. "/tenant2").application_type)
  end)

  it("without a person, drops the old AS's token, sends it nothing, and says what happened", function()
    mcp.oauth.login{ url = url, grant = "authorization_code" }
    assert.is_string(mcp.tokens.get(url).refresh_token)
    local c = mcp.connect{ url = url }
    whoami(c)
    migrate(fx, "/tenant2")
    local ok, err = pcall(c.call_tool, c, "whoami", {})
    c:close()
    assert.is_false(ok)
    assert.are.equal("auth", err.kind)
    assert.matches("now names the authorization server " .. fx.url .. "/tenant2, not " .. fx.url, err.message, 1, true)
    assert.matches("login needs a person", err.message, 1, true)
    assert.is_nil(mcp.tokens.get(url)) -- no later run sends it either
    local s = state(fx)
    assert.are.equal(0, s.retired_client_requests) -- no refresh with the old client id
    assert.are.equal(1, s.registrations)
  end)

  it("a client id configured for the old AS is not presented to the new one", function()
    sys.setenv("SPEC_CC", "dev-confidential-secret")
    local c = mcp.connect{ url = url, auth = { oauth = { grant = "client_credentials",
      client_id = "dev-confidential-client", client_secret_env = "SPEC_CC" } } }
    whoami(c)
    local counts = state(fx).token_requests.client_credentials
    migrate(fx, "/tenant2")
    local ok, err = pcall(c.call_tool, c, "whoami", {})
    c:close()
    assert.is_false(ok)
    assert.matches("the client id dev-confidential-client was issued by " .. fx.url
      .. ": register a client at " .. fx.url .. "/tenant2", err.message, 1, true)
    assert.are.equal(counts, state(fx).token_requests.client_credentials)
  end)

  it("with a person at a terminal, logs in at the new AS (authorization code, new registration)", function()
    local home = fresh_home()
    local out = os.tmpname()
    local cmd = string.format("env -u CI MCPTEST_HOME=%s BROWSER=%s script -qec '%s %s %s %s' /dev/null >%s 2>&1 </dev/null",
      home, SRC .. "/spec/data/browser.sh", BIN, SRC .. "/spec/auth/data/migration_person.lua", url, fx.url, out)
    local _, _, code = os.execute(cmd)
    local f = io.open(out); local s = f:read("a"); f:close(); os.remove(out)
    assert.are.equal(0, code, s)
    local before, after = s:match("before: (%S+)"), s:match("after: (%S+)")
    assert.is_string(before, s)
    assert.is_string(after, s)
    assert.are_not.equal(before, after)
    assert.matches("issuer: " .. fx.url .. "/tenant2", s, 1, true)
    local st = state(fx)
    assert.are.equal(2, st.registrations)
    assert.are.equal(0, st.retired_client_requests)
  end)
end)
