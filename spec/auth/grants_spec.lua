-- The OAuth client's newer parts against the fixture's AS switches
-- (docs/oauth-fixture.md): private_key_jwt, DPoP with nonces, jwt-bearer
-- (a workload's JWT, and enterprise-managed authorization through the
-- test IdP), CIMD, RFC 9207 iss cases, discovery layouts, a token
-- endpoint answering HTML.
local mcp = require("mcptest")
local sys = require("mcptest.core.sys")
local jwt = require("mcptest.auth.jwt")
local SRC = os.getenv("MCPTEST_SRC") or "."

local function key(name)
  local f = assert(io.open(SRC .. "/spec/data/keys/" .. name .. ".pem"))
  local pem = f:read("a"):match("%-%-%-%-%-BEGIN.*$")
  f:close()
  return pem
end

local function fresh_home()
  local home = os.tmpname(); os.remove(home)
  sys.setenv("MCPTEST_HOME", home)
end

local function whoami(url)
  local c = mcp.connect{ url = url }
  local who = mcp.json.decode(mcp.text(c:call_tool("whoami", {})))
  c:close()
  return who
end

describe("OAuth client against the fixture's switches", function()
  local fx, url
  setup(function()
    fx = mcp.fixture.start{ auto_approve = true, dpop_nonce = true,
      client_metadata_documents = { ["/cimd/app.json"] = { client_name = "cimd app",
        redirect_uris = { "http://127.0.0.1:8085/callback", "http://127.0.0.1:8086/callback" },
        token_endpoint_auth_method = "none", grant_types = { "authorization_code" } } } }
    url = fx.url .. "/mcp/oauth"
    sys.setenv("BROWSER", SRC .. "/spec/data/browser.sh")
    sys.setenv("SPEC_JWT_KEY", key("dev-jwt-client"))
  end)
  teardown(function() if fx then fx:stop() end end)
  before_each(fresh_home)

  it("authenticates the client with private_key_jwt", function()
    local c = mcp.connect{ url = url, auth = { oauth = { grant = "client_credentials",
      client_id = "dev-jwt-client", private_key_env = "SPEC_JWT_KEY" } } }
    local who = mcp.json.decode(mcp.text(c:call_tool("whoami", {})))
    assert.are.equal("dev-jwt-client", who.client_id)
    c:close()
    assert.are.equal("private_key_jwt", mcp.tokens.get(url).auth_method)
  end)

  it("gets DPoP-bound tokens and proves possession on every request, nonces included", function()
    local c = mcp.connect{ url = url, auth = { oauth = { grant = "client_credentials", dpop = true,
      client_id = "dev-jwt-client", private_key_env = "SPEC_JWT_KEY" } } }
    assert.are.equal("DPoP", mcp.tokens.get(url).token_type)
    assert.is_string(mcp.tokens.get(url).dpop_key)
    for _ = 1, 3 do c:call_tool("whoami", {}) end
    c:close()
    -- a later run reuses the bound token with its key from the cache
    assert.are.equal("dev-jwt-client", whoami(url).client_id)
  end)

  it("grants a workload's JWT (jwt-bearer, no secret stored)", function()
    local now = os.time()
    sys.setenv("SPEC_WORKLOAD_JWT", jwt.sign({ iss = "https://ci.mcptest.invalid", sub = "repo:acme/app:ref:main",
      aud = fx.url, iat = now, exp = now + 300, jti = tostring(now) .. "w" }, key("workload-issuer"), "ES256",
      { kid = "ci-1" }))
    local c = mcp.connect{ url = url, auth = { oauth = { grant = "jwt_bearer", assertion_env = "SPEC_WORKLOAD_JWT" } } }
    local who = mcp.json.decode(mcp.text(c:call_tool("whoami", {})))
    assert.are.equal("repo:acme/app:ref:main", who.subject)
    c:close()
    local t = mcp.tokens.get(url)
    assert.are.equal("jwt_bearer", t.grant)
    assert.are.equal("SPEC_WORKLOAD_JWT", t.assertion_env)
    assert.is_nil(t.assertion)
  end)

  it("exchanges an IdP ID token for an ID-JAG, then grants it (enterprise-managed authorization)", function()
    local r = assert(mcp.http.request{ method = "POST", url = fx.url .. "/idp/id_token", timeout = 5,
      headers = { ["Content-Type"] = "application/x-www-form-urlencoded" },
      body = "sub=alice&client_id=dev-enterprise-client" })
    sys.setenv("SPEC_ID_TOKEN", mcp.json.decode(r.body).id_token)
    sys.setenv("SPEC_ENT_SECRET", "dev-enterprise-secret")
    local t = mcp.oauth.login{ url = url, grant = "jwt_bearer", client_id = "dev-enterprise-client",
      client_secret_env = "SPEC_ENT_SECRET",
      idp = { token_endpoint = fx.url .. "/idp/token", id_token_env = "SPEC_ID_TOKEN",
              client_id = "dev-enterprise-client", client_secret_env = "SPEC_ENT_SECRET" } }
    assert.are.equal("jwt_bearer", t.grant)
    assert.are.equal("alice", whoami(url).subject)
  end)

  it("skips discovery when token_url is given", function()
    sys.setenv("SPEC_CC", "dev-confidential-secret")
    local c = mcp.connect{ url = url, auth = { oauth = { grant = "client_credentials", token_url = fx.url .. "/token",
      client_id = "dev-confidential-client", client_secret_env = "SPEC_CC", scope = "mcp:read" } } }
    assert.are.equal("dev-confidential-client", mcp.json.decode(mcp.text(c:call_tool("whoami", {}))).client_id)
    c:close()
    assert.are.equal(fx.url .. "/token", mcp.tokens.get(url).token_endpoint)
  end)

  it("refuses unknown auth.oauth keys (an inline secret above all) and unknown grants", function()
    local ok, err = pcall(mcp.connect, { url = url, auth = { oauth = { grant = "client_credentials", client_secret = "s3cr3t-value" } } })
    assert.is_false(ok)
    assert.are.equal("usage", err.kind)
    assert.matches("unknown key client_secret (secrets are never given inline", err.message, 1, true)
    assert.is_nil(tostring(err):find("s3cr3t-value", 1, true))
    ok, err = pcall(mcp.connect, { url = url, auth = { oauth = { grant = "password" } } })
    assert.is_false(ok)
    assert.matches('grant "password" is not one of', err.message, 1, true)
  end)

  it("uses a client ID metadata document URL as the client id", function()
    local cimd = fx.url .. "/cimd/app.json"
    local t = mcp.oauth.login{ url = url, grant = "authorization_code", client_metadata_url = cimd, say = function() end }
    assert.are.equal(cimd, t.client_id)
    assert.are.equal(cimd, whoami(url).client_id)
  end)
end)

describe("RFC 9207 iss and discovery layouts", function()
  local function login_error(cfg)
    local fx = mcp.fixture.start(cfg)
    fresh_home()
    local ok, err = pcall(mcp.oauth.login, { url = fx.url .. "/mcp/oauth", grant = "authorization_code", say = function() end })
    local issuer = fx.url
    fx:stop()
    return ok, err, issuer
  end
  setup(function() sys.setenv("BROWSER", SRC .. "/spec/data/browser.sh") end)

  it("refuses a callback without iss when the AS advertises it", function()
    local ok, err = login_error{ auto_approve = true, authorization_response_iss = "omit" }
    assert.is_false(ok)
    assert.matches("has no iss parameter although", err.message, 1, true)
  end)

  it("refuses a wrong iss, naming both values", function()
    local ok, err, issuer = login_error{ auto_approve = true, authorization_response_iss = "wrong" }
    assert.is_false(ok)
    assert.matches('"https://wrong-issuer.mcptest.invalid", not the issuer "' .. issuer .. '"', err.message, 1, true)
  end)

  it("keeps a refused iss with a line break on one line of the message", function()
    local ok, err = login_error{ auto_approve = true, authorization_response_iss = "multiline" }
    assert.is_false(ok)
    assert.matches("mix-up", err.message, 1, true)
    assert.is_nil(err.message:find("\n", 1, true), err.message)
  end)

  it("refuses an iss that differs only by a trailing slash (exact strings)", function()
    local ok, err = login_error{ auto_approve = true, authorization_response_iss = "unnormalized" }
    assert.is_false(ok)
    assert.matches("iss is", err.message, 1, true)
  end)

  it("checks an iss sent although not advertised", function()
    local ok = login_error{ auto_approve = true, authorization_response_iss_parameter_supported = false }
    assert.is_true(ok)
    local ok2, err = login_error{ auto_approve = true, authorization_response_iss_parameter_supported = false,
                                  authorization_response_iss = "wrong" }
    assert.is_false(ok2)
    assert.matches("mix%-up", err.message)
  end)

  for _, layout in ipairs({ "oauth", "openid", "openid_appended" }) do
    it("finds the metadata of an issuer with a path served at the " .. layout .. " URL", function()
      local fx = mcp.fixture.start{ issuer_path = "/tenant1", metadata_urls = { layout } }
      local d = mcp.oauth.discover(fx.url .. "/mcp/oauth")
      assert.are.equal(fx.url .. "/tenant1", d.issuer)
      assert.are.equal(200, d.walk[#d.walk].status)
      fx:stop()
    end)
  end

  it("refuses AS metadata whose issuer is not the very string the PRM named (RFC 8414 3.3)", function()
    -- the PRM names "<base>/", the metadata says "<base>": equal only after normalization
    local fx = mcp.fixture.start{ authorization_servers = { "{base}/" } }
    local ok, err = pcall(mcp.oauth.discover, fx.url .. "/mcp/oauth")
    local ok2, err2 = pcall(mcp.oauth.login, { url = fx.url .. "/mcp/oauth", grant = "client_credentials" })
    local registrations = mcp.json.decode(assert(mcp.http.request{ url = fx.url .. "/", timeout = 5 }).body).registrations
    fx:stop()
    assert.is_false(ok)
    assert.matches('names issuer "' .. fx.url .. '", not "' .. fx.url .. '/" (RFC 8414 3.3', err.message, 1, true)
    assert.is_false(ok2)
    assert.matches("RFC 8414 3.3", err2.message, 1, true)
    assert.are.equal(0, registrations) -- nothing was sent to the endpoints it names
  end)

  it("refuses a resource the PRM does not cover, and never authorizes", function()
    local fx = mcp.fixture.start{ prm_resource = "http://127.0.0.1:1/elsewhere" }
    local ok, err = pcall(mcp.oauth.discover, fx.url .. "/mcp/oauth")
    fx:stop()
    assert.is_false(ok)
    assert.matches("which does not cover", err.message, 1, true)
  end)

  it("says so when the token endpoint answers HTML", function()
    local fx = mcp.fixture.start{ as_faults = { ["/token"] = { body = "html" } } }
    fresh_home()
    sys.setenv("SPEC_CC", "dev-confidential-secret")
    local ok, err = pcall(mcp.oauth.login, { url = fx.url .. "/mcp/oauth", grant = "client_credentials",
      client_id = "dev-confidential-client", client_secret_env = "SPEC_CC" })
    fx:stop()
    assert.is_false(ok)
    assert.matches("text/html, not JSON", err.message, 1, true)
  end)
end)

describe("OAuth client review fixes", function()
  setup(function() sys.setenv("BROWSER", SRC .. "/spec/data/browser.sh") end)

  it("keeps the refresh token when the token endpoint fails for another reason than invalid_grant", function()
    local fx = mcp.fixture.start{ auto_approve = true }
    fresh_home()
    local url = fx.url .. "/mcp/oauth"
    local t = mcp.oauth.login{ url = url, grant = "authorization_code", say = function() end }
    fx:stop()
    -- the AS is gone: the refresh fails, and must not cost the refresh token
    local ok = pcall(mcp.oauth.refresh, url)
    assert.is_false(ok)
    assert.are.equal(t.refresh_token, mcp.tokens.get(url).refresh_token)
  end)

  it("refuses an identity provider token endpoint over plain http on a remote host", function()
    local fx = mcp.fixture.start{}
    fresh_home()
    sys.setenv("SPEC_ID_TOKEN2", "an-id-token-value")
    local ok, err = pcall(mcp.oauth.login, { url = fx.url .. "/mcp/oauth", grant = "jwt_bearer",
      idp = { token_endpoint = "http://idp.example/token", id_token_env = "SPEC_ID_TOKEN2" } })
    fx:stop()
    assert.is_false(ok)
    assert.matches("idp.token_endpoint must be an https URL", err.message, 1, true)
  end)

  it("lets two tasks of one process refresh the same entry without waiting for the lock's timeout", function()
    local fx = mcp.fixture.start{ auto_approve = true }
    fresh_home()
    local url = fx.url .. "/mcp/oauth"
    mcp.oauth.login{ url = url, grant = "authorization_code", say = function() end }
    local t0 = sys.now()
    local a = mcp.spawn(function() return mcp.oauth.refresh(url) end)
    local b = mcp.spawn(function() return mcp.oauth.refresh(url) end)
    mcp.join({ a, b }, 20)
    fx:stop()
    assert.is_true(sys.now() - t0 < 5, "took " .. (sys.now() - t0) .. " s")
  end)
end)
