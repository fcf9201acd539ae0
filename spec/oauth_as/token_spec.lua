-- The token endpoint: client authentication, client credentials, refresh
-- rotation, revocation, introspection, token lifetime, and malformed input.
local H = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "helpers.lua")

local CONF, CONF_SECRET = "dev-confidential-client", "dev-confidential-secret"

describe("token endpoint", function()
  local oauth, clock
  before_each(function() oauth, clock = H.new({ auto_approve = true }) end)

  describe("client credentials", function()
    it("works with client_secret_basic and issues no refresh token", function()
      local r = H.cc(oauth, CONF, CONF_SECRET)
      assert.are.equal(200, r.status, r.body)
      assert.are.equal("no-store", r.headers["Cache-Control"])
      local t = H.body(r)
      assert.are.equal("Bearer", t.token_type)
      assert.are.equal("mcp:read mcp:write", t.scope)
      assert.is_nil(t.refresh_token)
      local info = oauth:introspect(t.access_token)
      assert.are.equal(CONF, info.sub)
      assert.are.equal(H.RESOURCE, info.aud)
    end)

    it("works with client_secret_post", function()
      local r = H.post(oauth, "/token", { grant_type = "client_credentials", client_id = CONF, client_secret = CONF_SECRET,
                                          scope = "mcp:read" })
      assert.are.equal(200, r.status, r.body)
      assert.are.equal("mcp:read", H.body(r).scope)
      assert.are.equal(H.BASE, oauth:introspect(H.body(r).access_token).aud)
    end)

    it("grants mcp:admin only to the admin client", function()
      H.err(H.cc(oauth, CONF, CONF_SECRET, { scope = "mcp:admin" }), 400, "invalid_scope")
      local t = H.body(H.cc(oauth, "dev-admin-client", "dev-admin-secret"))
      assert.are.equal("mcp:read mcp:write mcp:admin", t.scope)
      t = H.body(H.cc(oauth, "dev-admin-client", "dev-admin-secret", { scope = "mcp:admin" }))
      assert.are.equal("mcp:admin", t.scope)
      H.err(H.cc(oauth, "dev-admin-client", "dev-admin-secret", { scope = "mcp:root" }), 400, "invalid_scope")
    end)

    it("form-decodes Basic credentials (RFC 6749 2.3.1)", function()
      oauth = H.new({ clients = { ["odd id"] = { secret = "p+s:w%", grant_types = { "client_credentials" } } } })
      local r = H.post(oauth, "/token", { grant_type = "client_credentials" },
                       { authorization = H.basic("odd+id", "p%2Bs%3Aw%25") })
      assert.are.equal(200, r.status, r.body)
    end)
  end)

  describe("client authentication errors", function()
    it("wrong or missing secrets give 401 invalid_client, with Basic challenge when Basic was used", function()
      local r = H.cc(oauth, CONF, "wrong")
      H.err(r, 401, "invalid_client")
      assert.matches("^Basic ", r.headers["WWW-Authenticate"])
      r = H.post(oauth, "/token", { grant_type = "client_credentials", client_id = CONF, client_secret = "wrong" })
      H.err(r, 401, "invalid_client")
      assert.is_nil(r.headers["WWW-Authenticate"])
      H.err(H.post(oauth, "/token", { grant_type = "client_credentials", client_id = CONF }), 401, "invalid_client")
      H.err(H.post(oauth, "/token", { grant_type = "client_credentials" }), 401, "invalid_client")
    end)

    it("unknown clients give invalid_client", function()
      local r = H.cc(oauth, "nobody", "x")
      H.err(r, 401, "invalid_client")
      assert.is_string(r.headers["WWW-Authenticate"])
      H.err(H.post(oauth, "/token", { grant_type = "client_credentials", client_id = "nobody", client_secret = "x" }),
            401, "invalid_client")
    end)

    it("malformed Basic headers and other schemes give invalid_client", function()
      for _, h in ipairs({ "Basic !!!", "Basic " .. require("mcptest.core.crypto").base64_encode("nocolon"), "Bearer abc", "Basic" }) do
        H.err(H.post(oauth, "/token", { grant_type = "client_credentials" }, { authorization = h }), 401, "invalid_client")
      end
    end)

    it("two authentication methods at once are invalid_request", function()
      H.err(H.post(oauth, "/token", { grant_type = "client_credentials", client_secret = CONF_SECRET },
                   { authorization = H.basic(CONF, CONF_SECRET) }), 400, "invalid_request")
      H.err(H.post(oauth, "/token", { grant_type = "client_credentials", client_id = "dev-admin-client" },
                   { authorization = H.basic(CONF, CONF_SECRET) }), 400, "invalid_request")
      H.err(H.post(oauth, "/token", { grant_type = "client_credentials", client_id = CONF, client_assertion = "x",
        client_assertion_type = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" }), 401, "invalid_client")
    end)

    it("a public client may not present a secret", function()
      H.err(H.post(oauth, "/token", { grant_type = "refresh_token", refresh_token = "x" },
                   { authorization = H.basic("dev-public-client", "s") }), 401, "invalid_client")
    end)

    it("a client must use the authentication method it registered", function()
      local function reg(method)
        local r = oauth:handle({ method = "POST", path = "/register", headers = { ["content-type"] = "application/json" },
          body = require("mcptest.json").encode({ grant_types = { "client_credentials" }, token_endpoint_auth_method = method }) })
        assert.are.equal(201, r.status, r.body)
        return H.body(r)
      end
      local basic = reg("client_secret_basic")
      assert.are.equal(200, H.cc(oauth, basic.client_id, basic.client_secret).status)
      -- the right secret by the wrong method: 401, no Basic challenge since Basic was not tried
      local r = H.post(oauth, "/token", { grant_type = "client_credentials", client_id = basic.client_id,
                                          client_secret = basic.client_secret })
      local b = H.err(r, 401, "invalid_client")
      assert.matches("client_secret_basic", b.error_description)
      assert.is_nil(r.headers["WWW-Authenticate"])
      assert.are.equal(1, oauth.tokens:count()) -- nothing issued to the wrong method
      local post = reg("client_secret_post")
      assert.are.equal(200, H.post(oauth, "/token", { grant_type = "client_credentials", client_id = post.client_id,
                                                      client_secret = post.client_secret }).status)
      -- Basic attempted by a client_secret_post client: 401 with a Basic challenge
      r = H.cc(oauth, post.client_id, post.client_secret)
      H.err(r, 401, "invalid_client")
      assert.matches("^Basic ", r.headers["WWW-Authenticate"])
      -- the same rule at the revocation and introspection endpoints
      H.err(H.post(oauth, "/revoke", { token = "x", client_id = basic.client_id, client_secret = basic.client_secret }),
            401, "invalid_client")
      H.err(H.post(oauth, "/introspect", { token = "x" }, { authorization = H.basic(post.client_id, post.client_secret) }),
            401, "invalid_client")
      -- a configured client with one method
      oauth = H.new({ clients = { only_post = { secret = "s3", grant_types = { "client_credentials" },
                                                token_endpoint_auth_method = "client_secret_post" } } })
      H.err(H.cc(oauth, "only_post", "s3"), 401, "invalid_client")
      assert.are.equal(200, H.post(oauth, "/token", { grant_type = "client_credentials", client_id = "only_post",
                                                      client_secret = "s3" }).status)
    end)

    it("the seeded confidential clients are registered for both secret methods, as documented", function()
      for _, c in ipairs({ { CONF, CONF_SECRET }, { "dev-admin-client", "dev-admin-secret" } }) do
        assert.are.equal(200, H.cc(oauth, c[1], c[2]).status)
        assert.are.equal(200, H.post(oauth, "/token", { grant_type = "client_credentials", client_id = c[1],
                                                        client_secret = c[2] }).status)
      end
    end)

    it("client config with an impossible auth method is refused", function()
      assert.has_error(function() H.new({ clients = { x = { secret = "s", token_endpoint_auth_method = "none" } } }) end)
      assert.has_error(function() H.new({ clients = { x = { public = true, token_endpoint_auth_method = "client_secret_post" } } }) end)
      assert.has_error(function() H.new({ clients = { x = { secret = "s", token_endpoint_auth_method = "private_key_jwt" } } }) end)
    end)

    it("grants a client is not registered for are unauthorized_client", function()
      H.err(H.post(oauth, "/token", { grant_type = "client_credentials", client_id = "dev-public-client" }),
            400, "unauthorized_client")
      H.err(H.post(oauth, "/token", { grant_type = "authorization_code", code = "x", code_verifier = string.rep("a", 43) },
                   { authorization = H.basic(CONF, CONF_SECRET) }), 400, "unauthorized_client")
    end)
  end)

  describe("malformed requests", function()
    it("unknown or missing grant types", function()
      H.err(H.post(oauth, "/token", { grant_type = "password", username = "u", password = "p" }), 400, "unsupported_grant_type")
      H.err(H.post(oauth, "/token", { grant_type = "implicit" }), 400, "unsupported_grant_type")
      H.err(H.post(oauth, "/token", { client_id = CONF }), 400, "invalid_request")
    end)

    it("duplicate parameters", function()
      local b = H.err(H.post(oauth, "/token", "grant_type=client_credentials&grant_type=client_credentials",
                             { authorization = H.basic(CONF, CONF_SECRET) }), 400, "invalid_request")
      assert.matches("duplicate parameter: grant_type", b.error_description)
      H.err(H.post(oauth, "/token", "grant_type=client_credentials&scope=mcp:read&scope=mcp:write",
                   { authorization = H.basic(CONF, CONF_SECRET) }), 400, "invalid_request")
      H.err(H.post(oauth, "/token", "grant_type=client_credentials&resource=a&resource=b",
                   { authorization = H.basic(CONF, CONF_SECRET) }), 400, "invalid_target")
    end)

    it("empty values count as omitted", function()
      H.err(H.post(oauth, "/token", "grant_type=&client_id=x"), 400, "invalid_request")
      local r = H.post(oauth, "/token", "grant_type=client_credentials&scope=", { authorization = H.basic(CONF, CONF_SECRET) })
      assert.are.equal(200, r.status, r.body)
    end)

    it("wrong content type, bad encoding, huge bodies, wrong method", function()
      local b = H.err(H.post(oauth, "/token", "{}", { ["content-type"] = "application/json" }), 400, "invalid_request")
      assert.matches("Content%-Type", b.error_description)
      H.err(oauth:handle({ method = "POST", path = "/token", headers = {}, body = "grant_type=client_credentials" }),
            400, "invalid_request")
      H.err(H.post(oauth, "/token", "grant_type=client_credentials&scope=%G1"), 400, "invalid_request")
      H.err(H.post(oauth, "/token", "grant_type=client_credentials&scope=%4"), 400, "invalid_request")
      H.err(H.post(oauth, "/token", "=x&grant_type=client_credentials"), 400, "invalid_request")
      H.err(H.post(oauth, "/token", "grant_type=client_credentials&x=" .. string.rep("a", 70000)), 400, "invalid_request")
      local r = H.get(oauth, "/token", { grant_type = "client_credentials" })
      H.err(r, 405, "invalid_request")
      assert.are.equal("POST", r.headers.Allow)
      -- charset parameters and case in the media type are fine
      r = H.post(oauth, "/token", { grant_type = "client_credentials" },
                 { ["content-type"] = "Application/X-WWW-Form-Urlencoded; charset=UTF-8", authorization = H.basic(CONF, CONF_SECRET) })
      assert.are.equal(200, r.status, r.body)
    end)

    it("resources the server does not protect are invalid_target", function()
      H.err(H.cc(oauth, CONF, CONF_SECRET, { resource = H.BASE .. "/mcp/open" }), 400, "invalid_target")
      H.err(H.cc(oauth, CONF, CONF_SECRET, { resource = "http://127.0.0.1:9999/mcp/oauth" }), 400, "invalid_target")
      H.err(H.cc(oauth, CONF, CONF_SECRET, { resource = H.RESOURCE .. "#frag" }), 400, "invalid_target")
      H.err(H.cc(oauth, CONF, CONF_SECRET, { resource = "mcp/oauth" }), 400, "invalid_target")
    end)
  end)

  describe("access-token lifetime", function()
    it("follows token_ttl down to seconds", function()
      oauth, clock = H.new({ token_ttl = 2 })
      local t = H.body(H.cc(oauth, CONF, CONF_SECRET))
      assert.are.equal(2, t.expires_in)
      clock.t = clock.t + 1.9
      assert.is_table(oauth:introspect(t.access_token))
      clock.t = clock.t + 0.2
      local info, why = oauth:introspect(t.access_token)
      assert.is_nil(info)
      assert.are.equal("expired", why)
    end)
  end)

  describe("refresh tokens", function()
    it("rotate: the new pair works, the old refresh token stops working", function()
      local t1 = H.tokens(oauth)
      local r = H.post(oauth, "/token", { grant_type = "refresh_token", refresh_token = t1.refresh_token,
                                          client_id = "dev-public-client", resource = H.RESOURCE })
      assert.are.equal(200, r.status, r.body)
      local t2 = H.body(r)
      assert.are_not.equal(t1.refresh_token, t2.refresh_token)
      assert.are_not.equal(t1.access_token, t2.access_token)
      assert.are.equal("mcp:read mcp:write", t2.scope)
      assert.are.equal(H.RESOURCE, oauth:introspect(t2.access_token).aud)
      -- the rotated token is rejected, and its reuse revokes the whole grant
      local b = H.err(H.post(oauth, "/token", { grant_type = "refresh_token", refresh_token = t1.refresh_token,
                                                client_id = "dev-public-client" }), 400, "invalid_grant")
      assert.matches("already used", b.error_description)
      assert.is_nil(oauth:introspect(t2.access_token))
      H.err(H.post(oauth, "/token", { grant_type = "refresh_token", refresh_token = t2.refresh_token,
                                      client_id = "dev-public-client" }), 400, "invalid_grant")
    end)

    it("may narrow but never widen the scope", function()
      local t = H.tokens(oauth, { scope = "mcp:read mcp:write" })
      local r = H.post(oauth, "/token", { grant_type = "refresh_token", refresh_token = t.refresh_token,
                                          client_id = "dev-public-client", scope = "mcp:read" })
      assert.are.equal("mcp:read", H.body(r).scope)
      local t2 = H.body(r)
      -- the narrowed access token holds only mcp:read
      assert.are.same({ "mcp:read" }, oauth:introspect(t2.access_token).scopes)
      -- the grant is still the ceiling: never wider than the original
      H.err(H.post(oauth, "/token", { grant_type = "refresh_token", refresh_token = t2.refresh_token,
                                      client_id = "dev-public-client", scope = "mcp:admin" }), 400, "invalid_scope")
    end)

    it("a narrowed refresh keeps the grant's scope on the rotated refresh token (RFC 6749 6)", function()
      local t = H.tokens(oauth, { scope = "mcp:read mcp:write" })
      local t2 = H.body(H.post(oauth, "/token", { grant_type = "refresh_token", refresh_token = t.refresh_token,
                                                  client_id = "dev-public-client", scope = "mcp:read" }))
      assert.are.equal("mcp:read", t2.scope)
      -- the new refresh token carries the original grant's scope ...
      local b = H.body(H.post(oauth, "/introspect", { token = t2.refresh_token },
                              { authorization = H.basic(CONF, CONF_SECRET) }))
      assert.are.equal("refresh_token", b.token_type)
      assert.are.equal("mcp:read mcp:write", b.scope)
      -- ... so a refresh without scope gets the whole grant back (RFC 6749 6: omitted = as originally granted)
      local r3 = H.post(oauth, "/token", { grant_type = "refresh_token", refresh_token = t2.refresh_token,
                                           client_id = "dev-public-client" })
      assert.are.equal(200, r3.status, r3.body)
      local t3 = H.body(r3)
      assert.are.equal("mcp:read mcp:write", t3.scope)
      -- and asking for the scope the narrowed access token lacked is not a widening of the grant
      local r4 = H.post(oauth, "/token", { grant_type = "refresh_token", refresh_token = t3.refresh_token,
                                           client_id = "dev-public-client", scope = "mcp:write" })
      assert.are.equal(200, r4.status, r4.body)
      assert.are.equal("mcp:write", H.body(r4).scope)
    end)

    it("are bound to their client and their resource", function()
      local t = H.tokens(oauth)
      oauth.clients["p2"] = oauth:make_client({ client_id = "p2", public = true, grant_types = { "refresh_token" } })
      H.err(H.post(oauth, "/token", { grant_type = "refresh_token", refresh_token = t.refresh_token, client_id = "p2" }),
            400, "invalid_grant")
      H.err(H.post(oauth, "/token", { grant_type = "refresh_token", refresh_token = t.refresh_token,
                                      client_id = "dev-public-client", resource = H.BASE }), 400, "invalid_target")
      -- neither failure used the token up
      assert.are.equal(200, H.post(oauth, "/token", { grant_type = "refresh_token", refresh_token = t.refresh_token,
                                                      client_id = "dev-public-client" }).status)
    end)

    it("unknown, missing and expired refresh tokens", function()
      H.err(H.post(oauth, "/token", { grant_type = "refresh_token", refresh_token = "mcp_rt_nope",
                                      client_id = "dev-public-client" }), 400, "invalid_grant")
      H.err(H.post(oauth, "/token", { grant_type = "refresh_token", client_id = "dev-public-client" }), 400, "invalid_request")
      oauth, clock = H.new({ auto_approve = true, refresh_token_ttl = 10 })
      local t = H.tokens(oauth)
      clock.t = clock.t + 11
      H.err(H.post(oauth, "/token", { grant_type = "refresh_token", refresh_token = t.refresh_token,
                                      client_id = "dev-public-client" }), 400, "invalid_grant")
    end)

    it("outlive their access token, which is the point of them", function()
      oauth, clock = H.new({ auto_approve = true, token_ttl = 1 })
      local t = H.tokens(oauth)
      clock.t = clock.t + 5
      assert.is_nil(oauth:introspect(t.access_token))
      local r = H.post(oauth, "/token", { grant_type = "refresh_token", refresh_token = t.refresh_token,
                                          client_id = "dev-public-client" })
      assert.are.equal(200, r.status, r.body)
      assert.is_table(oauth:introspect(H.body(r).access_token))
    end)
  end)

  describe("revocation (RFC 7009)", function()
    it("revoking a refresh token revokes its grant, access tokens included", function()
      local t = H.tokens(oauth)
      local r = H.post(oauth, "/revoke", { token = t.refresh_token, token_type_hint = "refresh_token",
                                           client_id = "dev-public-client" })
      assert.are.equal(200, r.status)
      assert.is_nil(oauth:introspect(t.access_token))
      H.err(H.post(oauth, "/token", { grant_type = "refresh_token", refresh_token = t.refresh_token,
                                      client_id = "dev-public-client" }), 400, "invalid_grant")
    end)

    it("revoking an access token revokes only that token", function()
      local t = H.tokens(oauth)
      assert.are.equal(200, H.post(oauth, "/revoke", { token = t.access_token, client_id = "dev-public-client" }).status)
      assert.is_nil(oauth:introspect(t.access_token))
      assert.are.equal(200, H.post(oauth, "/token", { grant_type = "refresh_token", refresh_token = t.refresh_token,
                                                      client_id = "dev-public-client" }).status)
    end)

    it("confidential clients authenticate; unknown tokens still get 200", function()
      local t = H.body(H.cc(oauth, CONF, CONF_SECRET))
      H.err(H.post(oauth, "/revoke", { token = t.access_token }, { authorization = H.basic(CONF, "bad") }), 401, "invalid_client")
      H.err(H.post(oauth, "/revoke", { token = t.access_token, client_id = CONF }), 401, "invalid_client")
      H.err(H.post(oauth, "/revoke", { token = t.access_token }, { authorization = H.basic("dev-admin-client", "dev-admin-secret") }),
            400, "invalid_grant")
      assert.is_table(oauth:introspect(t.access_token))
      assert.are.equal(200, H.post(oauth, "/revoke", { token = t.access_token }, { authorization = H.basic(CONF, CONF_SECRET) }).status)
      assert.is_nil(oauth:introspect(t.access_token))
      assert.are.equal(200, H.post(oauth, "/revoke", { token = "never-issued" }, { authorization = H.basic(CONF, CONF_SECRET) }).status)
      assert.are.equal(200, H.post(oauth, "/revoke", { token = t.access_token }, { authorization = H.basic(CONF, CONF_SECRET) }).status)
    end)

    it("needs a token parameter, a form body and POST", function()
      H.err(H.post(oauth, "/revoke", { client_id = "dev-public-client" }), 400, "invalid_request")
      H.err(H.post(oauth, "/revoke", "token=a&token=b&client_id=dev-public-client"), 400, "invalid_request")
      H.err(H.post(oauth, "/revoke", "{}", { ["content-type"] = "application/json" }), 400, "invalid_request")
      H.err(H.get(oauth, "/revoke"), 405, "invalid_request")
    end)
  end)

  describe("introspection (RFC 7662)", function()
    it("answers confidential clients about access and refresh tokens", function()
      local t = H.tokens(oauth)
      local auth = { authorization = H.basic(CONF, CONF_SECRET) }
      local b = H.body(H.post(oauth, "/introspect", { token = t.access_token }, auth))
      assert.is_true(b.active)
      assert.are.equal("dev-public-client", b.client_id)
      assert.are.equal("dev-user", b.sub)
      assert.are.equal(H.RESOURCE, b.aud)
      assert.are.equal(H.BASE, b.iss)
      assert.are.equal("mcp:read mcp:write", b.scope)
      b = H.body(H.post(oauth, "/introspect", { token = t.refresh_token }, auth))
      assert.is_true(b.active)
      assert.are.equal("refresh_token", b.token_type)
      b = H.body(H.post(oauth, "/introspect", { token = "nope" }, auth))
      assert.is_false(b.active)
      assert.is_nil(b.sub)
      H.err(H.post(oauth, "/introspect", { token = t.access_token, client_id = "dev-public-client" }), 401, "invalid_client")
      H.err(H.post(oauth, "/introspect", {}, auth), 400, "invalid_request")
    end)
  end)

  describe("housekeeping", function()
    it("sweeps expired records so memory stays bounded", function()
      oauth, clock = H.new({ token_ttl = 1 })
      for _ = 1, 50 do H.cc(oauth, CONF, CONF_SECRET) end
      assert.are.equal(50, oauth.tokens:count())
      clock.t = clock.t + 100
      oauth:sweep()
      assert.are.equal(0, oauth.tokens:count())
      assert.are.equal(0, oauth.grants:count())
    end)

    it("refuses new tokens with 503 when a store is full", function()
      oauth = H.new({ max_records = 3 })
      for _ = 1, 3 do assert.are.equal(200, H.cc(oauth, CONF, CONF_SECRET).status) end
      H.err(H.cc(oauth, CONF, CONF_SECRET), 503, "temporarily_unavailable")
    end)

    it("a full refresh-token store is 503 with nothing issued, and the code still works after", function()
      oauth = H.new({ auto_approve = true })
      oauth.refresh.max = 0 -- a tiny store limit: no room for a refresh token
      local code, verifier, ru = H.authorize(oauth)
      local r = H.exchange(oauth, code, verifier, ru)
      H.err(r, 503, "temporarily_unavailable")
      assert.is_nil(H.body(r).access_token)
      assert.are.equal(0, oauth.tokens:count())
      assert.are.equal(0, oauth.refresh:count())
      -- the code was not spent: once there is room, the exchange succeeds
      oauth.refresh.max = 10
      r = H.exchange(oauth, code, verifier, ru)
      assert.are.equal(200, r.status, r.body)
      local t = H.body(r)
      assert.is_table(oauth:introspect(t.access_token))
      -- rotation into a full store: 503, and the presented refresh token is not used up
      oauth.refresh.max = 1
      r = H.post(oauth, "/token", { grant_type = "refresh_token", refresh_token = t.refresh_token,
                                    client_id = "dev-public-client" })
      H.err(r, 503, "temporarily_unavailable")
      assert.are.equal(1, oauth.tokens:count())
      oauth.refresh.max = 10
      r = H.post(oauth, "/token", { grant_type = "refresh_token", refresh_token = t.refresh_token,
                                    client_id = "dev-public-client" })
      assert.are.equal(200, r.status, r.body)
      assert.is_table(oauth:introspect(H.body(r).access_token))
    end)

    it("a full grant store is 503 with nothing issued, never a token revoked on arrival", function()
      oauth = H.new({ auto_approve = true, max_records = 1 }) -- grants hold 2 records
      assert.are.equal(200, H.cc(oauth, CONF, CONF_SECRET).status)
      oauth.grants.max = oauth.grants:count()
      local r = H.cc(oauth, CONF, CONF_SECRET)
      H.err(r, 503, "temporarily_unavailable")
      assert.are.equal(1, oauth.tokens:count())
      -- /authorize: a temporarily_unavailable redirect, no code
      oauth = H.new({ auto_approve = true })
      oauth.grants.max = 0
      local verifier, challenge = H.pkce()
      local p = H.location(H.get(oauth, "/authorize", {
        response_type = "code", client_id = "dev-public-client", redirect_uri = "http://127.0.0.1:5000/callback",
        code_challenge = challenge, code_challenge_method = "S256", state = "s" }))
      assert.are.equal("temporarily_unavailable", p.error)
      assert.is_nil(p.code)
      assert.are.equal(0, oauth.codes:count())
      assert.is_string(verifier)
      -- device flow: the approved poll is 503 and may be retried
      oauth = H.new({ auto_approve = true })
      local d = H.body(H.post(oauth, "/device_authorization", { client_id = "dev-public-client" }))
      oauth.grants.max = 0
      local poll = { grant_type = "urn:ietf:params:oauth:grant-type:device_code", device_code = d.device_code,
                     client_id = "dev-public-client" }
      H.err(H.post(oauth, "/token", poll), 503, "temporarily_unavailable")
      assert.are.equal(0, oauth.tokens:count())
      oauth.grants.max = 10
      r = H.post(oauth, "/token", poll)
      assert.are.equal(200, r.status, r.body)
      assert.is_table(oauth:introspect(H.body(r).access_token))
    end)

    it("a full access-token store issues nothing, not even a refresh token", function()
      oauth = H.new({ auto_approve = true })
      local code, verifier, ru = H.authorize(oauth)
      oauth.tokens.max = 0
      H.err(H.exchange(oauth, code, verifier, ru), 503, "temporarily_unavailable")
      assert.are.equal(0, oauth.refresh:count())
    end)
  end)
end)
