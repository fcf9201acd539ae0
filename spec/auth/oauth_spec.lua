-- The OAuth client against the fixture's authorization server, headless:
-- discovery, each grant through mcp.connect and mcp.oauth.login, the token
-- cache (reuse, expiry, refresh with rotation, corrupt files, permissions).
local mcp = require("mcptest")
local sys = require("mcptest.core.sys")
local fs = require("mcptest.core.fs")
local SRC = os.getenv("MCPTEST_SRC") or "."

local home
local function fresh_home()
  home = os.tmpname()
  os.remove(home)
  sys.setenv("MCPTEST_HOME", home)
end

describe("OAuth client", function()
  local fx, url
  setup(function()
    fx = mcp.fixture.start{ auto_approve = true, device_interval = 1 }
    url = fx.url .. "/mcp/oauth"
    sys.setenv("MCPTEST_SPEC_CC_SECRET", "dev-confidential-secret")
    sys.setenv("BROWSER", SRC .. "/spec/data/browser.sh")
  end)
  teardown(function() if fx then fx:stop() end end)
  before_each(fresh_home)

  it("walks discovery: challenge, path-inserted PRM, AS metadata, each URL recorded", function()
    local d = mcp.oauth.discover(url)
    assert.are.equal(url, d.resource)
    assert.are.equal(fx.url, d.issuer)
    assert.are.equal("mcp:read mcp:write", d.scopes)
    assert.are.equal(401, d.walk[1].status)
    assert.are.equal(fx.url .. "/.well-known/oauth-protected-resource/mcp/oauth", d.walk[2].url)
    assert.are.equal(fx.url .. "/.well-known/oauth-authorization-server", d.walk[3].url)
    assert.are.equal(fx.url .. "/token", d.as.token_endpoint)
  end)

  it("gets a client-credentials token through mcp.connect, caches it and reuses it", function()
    local c = mcp.connect{ url = url, auth = { oauth = { grant = "client_credentials",
      client_id = "dev-confidential-client", client_secret_env = "MCPTEST_SPEC_CC_SECRET" } } }
    local who = mcp.json.decode(mcp.text(c:call_tool("whoami", {})))
    assert.are.equal("dev-confidential-client", who.client_id)
    c:close()
    local t = mcp.tokens.get(url)
    assert.are.equal("client_credentials", t.grant)
    assert.are.equal(fx.url, t.issuer)
    assert.are.equal("MCPTEST_SPEC_CC_SECRET", t.client_secret_env)
    assert.is_nil(t.client_secret) -- only the env var's name is stored
    -- a later connect with no auth option uses the cached token as it is
    local c2 = mcp.connect{ url = url }
    assert.are.equal("cache", c2.transport.auth.source)
    c2:call_tool("whoami", {})
    c2:close()
    assert.are.equal(t.access_token, mcp.tokens.get(url).access_token)
  end)

  it("mints a new client-credentials token when the cached one expired", function()
    mcp.oauth.login{ url = url, grant = "client_credentials", client_id = "dev-confidential-client",
                     client_secret_env = "MCPTEST_SPEC_CC_SECRET" }
    local before = mcp.tokens.get(url).access_token
    mcp.tokens.expire(url)
    local c = mcp.connect{ url = url }
    c:call_tool("whoami", {})
    c:close()
    assert.are_not.equal(before, mcp.tokens.get(url).access_token)
  end)

  it("logs in with authorization code + PKCE through a loopback callback, with dynamic registration", function()
    local t = mcp.oauth.login{ url = url, grant = "authorization_code" }
    assert.are.equal("authorization_code", t.grant)
    assert.is_string(t.refresh_token)
    local reg = require("mcptest.auth.cache").client(fx.url)
    assert.are.equal(t.client_id, reg.client_id)
    -- a second login reuses the registration
    local t2 = mcp.oauth.login{ url = url, grant = "authorization_code" }
    assert.are.equal(t.client_id, t2.client_id)
    local c = mcp.connect{ url = url }
    c:call_tool("whoami", {})
    c:close()
  end)

  it("refreshes an expired login token, keeping the rotated refresh token", function()
    local t = mcp.oauth.login{ url = url, grant = "authorization_code" }
    mcp.tokens.expire(url)
    local c = mcp.connect{ url = url }
    c:call_tool("whoami", {})
    c:close()
    local t2 = mcp.tokens.get(url)
    assert.are_not.equal(t.access_token, t2.access_token)
    assert.are_not.equal(t.refresh_token, t2.refresh_token) -- rotated, and stored
    local t3 = mcp.oauth.refresh(url)
    assert.are_not.equal(t2.refresh_token, t3.refresh_token)
  end)

  it("logs in with the device flow", function()
    local shown = {}
    local t = mcp.oauth.login{ url = url, grant = "device_code", client_id = "dev-public-client",
                               say = function(s) shown[#shown + 1] = s end }
    assert.are.equal("device_code", t.grant)
    assert.matches("enter the code", shown[1], 1, true)
    assert.matches("user_code=", shown[2], 1, true)
  end)

  it("says the cached token expired and could not be refreshed when nothing can renew it", function()
    mcp.tokens.put(url, { access_token = "mcp_at_not-a-real-token", grant = "authorization_code",
                          issuer = fx.url, expires_at = os.time() - 10 })
    local ok, err = pcall(mcp.connect, { url = url })
    assert.is_false(ok)
    assert.are.equal("auth", err.kind)
    assert.matches("the cached login token for " .. url .. " has expired and could not be refreshed; run mcptest login", err.message, 1, true)
  end)

  it("sets a corrupt cache file aside and never uses it", function()
    mcp.oauth.login{ url = url, grant = "client_credentials", client_id = "dev-confidential-client",
                     client_secret_env = "MCPTEST_SPEC_CC_SECRET" }
    local key = require("mcptest.auth.cache").key(url)
    local path = home .. "/auth/tokens/" .. key .. ".json"
    local f = assert(io.open(path, "w")); f:write("{not json"); f:close()
    assert.is_nil(mcp.tokens.get(url))
    local names = fs.list(home .. "/auth/tokens")
    assert.are.equal(1, #names)
    assert.matches("%.json%.corrupt%-%d+T%d+Z%-%d+$", names[1])
  end)

  it("refuses a cache folder others can read or write, naming the fix", function()
    mcp.tokens.put(url, { access_token = "mcp_at_some-token-value" })
    fs.chmod(home .. "/auth", tonumber("755", 8))
    local ok, err = pcall(mcp.tokens.get, url)
    assert.is_false(ok)
    assert.matches("fix with: chmod 700 " .. home .. "/auth", err.message, 1, true)
  end)

  it("writes the cache 0600 in 0700 folders", function()
    mcp.tokens.put(url, { access_token = "mcp_at_some-token-value" })
    assert.are.equal(tonumber("700", 8), fs.stat(home .. "/auth").mode)
    assert.are.equal(tonumber("700", 8), fs.stat(home .. "/auth/tokens").mode)
    local name = fs.list(home .. "/auth/tokens")[1]
    assert.are.equal(tonumber("600", 8), fs.stat(home .. "/auth/tokens/" .. name).mode)
  end)

  it("steps up on 403 insufficient_scope with the union of the scopes, then retries", function()
    sys.setenv("MCPTEST_SPEC_ADMIN_SECRET", "dev-admin-secret")
    local c = mcp.connect{ url = url, auth = { oauth = { grant = "client_credentials", scope = "mcp:read",
      client_id = "dev-admin-client", client_secret_env = "MCPTEST_SPEC_ADMIN_SECRET" } } }
    assert.are.equal("mcp:read", mcp.tokens.get(url).scope)
    local r = c:call_tool("admin_reset", {})
    assert.is_not_true(r.isError)
    assert.are.same({ "mcp:read mcp:admin" }, c.transport.auth.scopes_asked)
    assert.are.equal("mcp:read mcp:admin", mcp.tokens.get(url).scope)
    c:close()
  end)

  it("gives up a step-up the client may not have, naming the scopes it asked for", function()
    local c = mcp.connect{ url = url, auth = { oauth = { grant = "client_credentials", scope = "mcp:read",
      client_id = "dev-confidential-client", client_secret_env = "MCPTEST_SPEC_CC_SECRET" } } }
    local ok, err = pcall(c.call_tool, c, "admin_reset", {})
    assert.is_false(ok)
    assert.are.equal("auth", err.kind)
    assert.are.equal(403, err.http_status)
    assert.matches('the server asks for scope "mcp:admin"', err.message, 1, true)
    assert.matches('asking for "mcp:read mcp:admin"', err.message, 1, true)
    c:close()
  end)

  it("takes the next callback port when the first is busy", function()
    local httpd = require("mcptest.core.httpd")
    local busy = httpd.start{ port = 8085 }
    local seen
    local t = mcp.oauth.login{ url = url, grant = "authorization_code", register = true,
                               on_authorize_url = function(u) seen = u end }
    if busy then busy:close() end
    assert.is_string(t.access_token)
    if busy then assert.matches("redirect_uri=http%%3A%%2F%%2F127.0.0.1%%3A8086", seen) end
  end)
end)
