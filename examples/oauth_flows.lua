-- examples/oauth_flows.lua: testing a server's OAuth itself with mcptest's
-- OAuth modules (docs/auth.md), against the built-in fixture: the 401
-- challenge, each discovery document, dynamic registration, every grant,
-- a forced refresh, a dropped refresh token.
--   mcptest examples/oauth_flows.lua
-- The browser for the authorization-code grant is $BROWSER; here a curl
-- that follows the fixture's auto-approve redirect plays the person.
local mcp = require("mcptest")
local sys = require("mcptest.core.sys")

local fx = mcp.fixture.start{ auto_approve = true, device_interval = 1 }
local URL = fx.url .. "/mcp/oauth"
-- a token cache of this suite's own, and the fixture's documented secret
sys.setenv("MCPTEST_HOME", os.tmpname() .. ".home")
sys.setenv("EXAMPLE_CC_SECRET", "dev-confidential-secret")
sys.setenv("BROWSER", "sh -c 'curl -s -L -b \"\" -o /dev/null \"$0\"'")

local function whoami()
  local c = mcp.connect{ url = URL } -- the cached token, refreshed as needed
  local who = mcp.json.decode(mcp.text(c:call_tool("whoami", {})))
  c:close()
  return who
end

describe("the fixture's OAuth, step by step", function()
  it("challenges an unauthenticated request with the PRM's URL and scopes", function()
    local r = mcp.http.request{ method = "POST", url = URL, body = '{"jsonrpc":"2.0","id":1,"method":"ping"}',
      headers = { ["Content-Type"] = "application/json", Accept = "application/json, text/event-stream" } }
    assert.are.equal(401, r.status)
    assert.matches('resource_metadata="' .. fx.url .. '/.well-known/oauth-protected-resource/mcp/oauth"',
      r.headers["www-authenticate"], 1, true)
  end)

  it("publishes discovery documents that agree with each other", function()
    local d = mcp.oauth.discover(URL)
    assert.are.equal(URL, d.resource)               -- RFC 9728: the resource is this server
    assert.are.equal(d.prm.authorization_servers[1], d.issuer)
    assert.are.equal(d.issuer, d.as.issuer)         -- RFC 8414 3.3
    assert.are.same({ "S256" }, d.as.code_challenge_methods_supported)
    for _, step in ipairs(d.walk) do print(step.step, step.status, step.url) end
  end)

  it("registers a client dynamically", function()
    local d = mcp.oauth.discover(URL)
    local reg = mcp.oauth.register(d.as, { client_name = "example", grant_types = mcp.json.array({ "client_credentials" }),
      token_endpoint_auth_method = "client_secret_basic" })
    assert.is_string(reg.client_id)
    assert.is_string(reg.client_secret) -- registered as a secret: never printed
  end)

  it("grants client credentials", function()
    local t = mcp.oauth.login{ url = URL, grant = "client_credentials", client_id = "dev-confidential-client",
                               client_secret_env = "EXAMPLE_CC_SECRET", scope = "mcp:read" }
    assert.are.equal("mcp:read", t.scope)
    assert.are.equal("dev-confidential-client", whoami().client_id)
  end)

  it("grants an authorization code with PKCE (dynamic registration, loopback callback)", function()
    local t = mcp.oauth.login{ url = URL, grant = "authorization_code", say = function() end }
    assert.is_string(t.refresh_token)
    assert.are.equal(t.client_id, whoami().client_id)
  end)

  it("grants a device code", function()
    local t = mcp.oauth.login{ url = URL, grant = "device_code", client_id = "dev-public-client", say = function() end }
    assert.are.equal("device_code", t.grant)
  end)

  it("refreshes when forced to, and rotates the refresh token", function()
    local before = mcp.tokens.get(URL)
    mcp.tokens.expire(URL)
    whoami()
    local after = mcp.tokens.get(URL)
    assert.are_not.equal(before.access_token, after.access_token)
    assert.are_not.equal(before.refresh_token, after.refresh_token)
  end)

  it("needs a new login once the refresh token is dropped", function()
    local t = mcp.tokens.get(URL)
    t.refresh_token, t.expires_at = nil, os.time() - 1
    mcp.tokens.put(URL, t)
    local ok, err = pcall(whoami)
    assert.is_false(ok)
    assert.matches("has expired and could not be refreshed; run mcptest login", err.message, 1, true)
  end)
end)
