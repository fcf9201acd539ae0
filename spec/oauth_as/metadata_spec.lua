-- Discovery documents: RFC 8414 AS metadata and RFC 9728 protected
-- resource metadata, and what handle() does with paths it does not own.
local H = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "helpers.lua")

describe("oauth fixture metadata", function()
  local oauth
  before_each(function() oauth = H.new() end)

  it("serves RFC 8414 metadata whose issuer is the base URL", function()
    local r = H.get(oauth, "/.well-known/oauth-authorization-server")
    assert.are.equal(200, r.status)
    assert.are.equal("application/json", r.headers["Content-Type"])
    local m = H.body(r)
    assert.are.equal(H.BASE, m.issuer)
    assert.are.equal(H.BASE .. "/authorize", m.authorization_endpoint)
    assert.are.equal(H.BASE .. "/token", m.token_endpoint)
    assert.are.equal(H.BASE .. "/register", m.registration_endpoint)
    assert.are.equal(H.BASE .. "/revoke", m.revocation_endpoint)
    assert.are.equal(H.BASE .. "/introspect", m.introspection_endpoint)
    assert.are.equal(H.BASE .. "/device_authorization", m.device_authorization_endpoint)
    assert.are.same({ "S256" }, m.code_challenge_methods_supported)
    assert.are.same({ "code" }, m.response_types_supported)
    assert.are.same({ "mcp:read", "mcp:write", "mcp:admin" }, m.scopes_supported)
    assert.are.same({ "authorization_code", "refresh_token", "client_credentials",
                      "urn:ietf:params:oauth:grant-type:device_code" }, m.grant_types_supported)
    assert.are.same({ "none", "client_secret_basic", "client_secret_post" }, m.token_endpoint_auth_methods_supported)
    assert.is_true(m.authorization_response_iss_parameter_supported)
  end)

  it("every advertised endpoint is owned by handle()", function()
    local m = H.body(H.get(oauth, "/.well-known/oauth-authorization-server"))
    for k, v in pairs(m) do
      if k:match("_endpoint$") then
        local path = v:sub(#H.BASE + 1)
        assert.is_true(oauth:owns(path), k)
        -- handle() turns any raise into a 500 table: is_table alone cannot fail
        local r = oauth:handle({ method = "GET", path = path, headers = {}, query_string = "" })
        assert.is_table(r, k)
        assert.is_true(r.status < 500, k .. ": " .. tostring(r.status) .. " " .. tostring(r.body))
      end
    end
  end)

  it("serves PRM at the path-inserted URL of /mcp/oauth", function()
    local r = H.get(oauth, "/.well-known/oauth-protected-resource/mcp/oauth")
    assert.are.equal(200, r.status)
    local m = H.body(r)
    assert.are.equal(H.RESOURCE, m.resource)
    assert.are.same({ H.BASE }, m.authorization_servers)
    assert.are.same({ "header" }, m.bearer_methods_supported)
    assert.are.same({ "mcp:read", "mcp:write", "mcp:admin" }, m.scopes_supported)
  end)

  it("serves the root PRM form for the whole server", function()
    local m = H.body(H.get(oauth, "/.well-known/oauth-protected-resource"))
    assert.are.equal(H.BASE, m.resource)
    assert.are.same({ H.BASE }, m.authorization_servers)
  end)

  it("has no PRM for routes that do not take its tokens", function()
    H.err(H.get(oauth, "/.well-known/oauth-protected-resource/mcp/open"), 404, "not_found")
    H.err(H.get(oauth, "/.well-known/oauth-protected-resource/mcp/bearer-token"), 404, "not_found")
    H.err(H.get(oauth, "/.well-known/oauth-protected-resource/nope"), 404, "not_found")
  end)

  it("follows the provider config: a route with oauth_as gets PRM", function()
    local o = H.new({ providers = { "bearer", "oauth_as" } })
    local m = H.body(H.get(o, "/.well-known/oauth-protected-resource/mcp/bearer-token"))
    assert.are.equal(H.BASE .. "/mcp/bearer-token", m.resource)
    assert.are.equal(H.BASE .. "/.well-known/oauth-protected-resource/mcp/bearer-token",
      o:resource_metadata_url("/mcp/bearer-token"))
    assert.is_nil(o:resource_metadata_url("/mcp/open"))
  end)

  it("answers 405 to other methods on metadata", function()
    local r = oauth:handle({ method = "POST", path = "/.well-known/oauth-authorization-server", headers = {}, body = "" })
    H.err(r, 405, "invalid_request")
    assert.are.equal("GET", r.headers.Allow)
  end)

  it("returns nil for paths it does not own", function()
    assert.is_nil(H.get(oauth, "/mcp/oauth"))
    assert.is_nil(H.get(oauth, "/"))
    assert.is_nil(H.get(oauth, "/.well-known/openid-configuration"))
    assert.is_nil(H.get(oauth, "/tokens"))
    assert.is_nil(oauth:handle({ method = "GET", headers = {} }))
  end)

  it("answers 500 server_error instead of raising when it has a bug", function()
    local o = H.new()
    -- a store that raises stands in for a bug anywhere below handle()
    o.tokens = setmetatable({}, { __index = function() error("boom") end })
    local ok, r = pcall(H.cc, o, "dev-confidential-client", "dev-confidential-secret")
    assert.is_true(ok)
    H.err(r, 500, "server_error")
    -- and keeps serving
    assert.are.equal(200, H.get(o, "/.well-known/oauth-authorization-server").status)
  end)
end)
