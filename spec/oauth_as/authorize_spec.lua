-- Authorization code + PKCE (S256): /authorize under auto-approve and with
-- the consent page, redirect URI rules, state and iss, the code exchange
-- and each way it can fail.
local H = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "helpers.lua")
local util = require("mcptest.fixture.oauth_util")

describe("authorization code + PKCE", function()
  local oauth, clock
  before_each(function() oauth, clock = H.new({ auto_approve = true }) end)

  it("redirects straight back with code, state and iss under auto_approve", function()
    local code, _, _, p = H.authorize(oauth)
    assert.is_string(code)
    assert.are.equal("st-123", p.state)
    assert.are.equal(H.BASE, p.iss)
    local _, base = H.location(H.get(oauth, "/authorize", {
      response_type = "code", client_id = "dev-public-client", redirect_uri = "http://127.0.0.1:9/callback",
      code_challenge = select(2, H.pkce()), code_challenge_method = "S256" }))
    assert.are.equal("http://127.0.0.1:9/callback", base)
  end)

  it("exchanges the code for tokens bound to the resource", function()
    local code, verifier, ru = H.authorize(oauth)
    local r = H.exchange(oauth, code, verifier, ru)
    assert.are.equal(200, r.status, r.body)
    assert.are.equal("no-store", r.headers["Cache-Control"])
    local t = H.body(r)
    assert.are.equal("Bearer", t.token_type)
    assert.are.equal(3600, t.expires_in)
    assert.are.equal("mcp:read mcp:write", t.scope)
    assert.is_string(t.refresh_token)
    local info = oauth:introspect(t.access_token)
    assert.are.equal(H.RESOURCE, info.aud)
    assert.are.equal("dev-user", info.sub)
    assert.are.equal("dev-public-client", info.client_id)
  end)

  it("uses the client's default scope when none is asked, and login_hint as subject", function()
    local t = H.tokens(oauth, { scope = false, login_hint = "alice" })
    assert.are.equal("mcp:read mcp:write", t.scope)
    assert.are.equal("alice", oauth:introspect(t.access_token).sub)
  end)

  it("binds the whole server when no resource is given, unless require_resource", function()
    local code, verifier, ru = H.authorize(oauth, { resource = false })
    local t = H.body(H.exchange(oauth, code, verifier, ru, { resource = false }))
    assert.are.equal(H.BASE, oauth:introspect(t.access_token).aud)
    local strict = H.new({ auto_approve = true, require_resource = true })
    local p = H.location(H.get(strict, "/authorize", {
      response_type = "code", client_id = "dev-public-client", redirect_uri = "http://127.0.0.1:9/callback",
      code_challenge = select(2, H.pkce()), code_challenge_method = "S256", state = "s" }))
    assert.are.equal("invalid_target", p.error)
    assert.are.equal("s", p.state)
  end)

  describe("redirect URIs", function()
    local function try(uri)
      return H.get(oauth, "/authorize", { response_type = "code", client_id = "dev-public-client", redirect_uri = uri,
                                          code_challenge = select(2, H.pkce()), code_challenge_method = "S256" })
    end

    it("match loopback IPs on any port, and localhost", function()
      for _, u in ipairs({ "http://127.0.0.1:1/callback", "http://127.0.0.1/callback",
                           "http://[::1]:8085/callback", "http://localhost:8099/callback" }) do
        assert.are.equal(302, try(u).status, u)
      end
    end)

    it("never redirect to an unregistered URI: the error is shown, not redirected", function()
      for _, u in ipairs({ "http://127.0.0.1:1/other", "http://127.0.0.1:1/callback?x=1", "https://127.0.0.1/callback",
                           "http://127.0.0.2:1/callback", "http://evil.example/callback", "http://localhost.evil/callback" }) do
        local r = try(u)
        H.err(r, 400, "invalid_request")
        assert.is_nil(r.headers.Location)
      end
    end)

    it("match exactly for non-loopback registrations", function()
      oauth = H.new({ auto_approve = true, clients = { web = {
        redirect_uris = { "https://app.example.com/cb" }, grant_types = { "authorization_code" } } } })
      local function web(uri)
        return H.get(oauth, "/authorize", { response_type = "code", client_id = "web", redirect_uri = uri,
                                            code_challenge = select(2, H.pkce()), code_challenge_method = "S256" }).status
      end
      assert.are.equal(302, web("https://app.example.com/cb"))
      assert.are.equal(400, web("https://app.example.com:444/cb"))
      assert.are.equal(400, web("https://app.example.com/cb/"))
      assert.are.equal(400, web("https://APP.example.com/cb?x"))
    end)

    it("need not be sent when exactly one is registered", function()
      oauth = H.new({ auto_approve = true, clients = { one = {
        redirect_uris = { "https://app.example.com/cb" }, grant_types = { "authorization_code" } } } })
      local verifier, challenge = H.pkce()
      local p, base = H.location(H.get(oauth, "/authorize", { response_type = "code", client_id = "one",
        code_challenge = challenge, code_challenge_method = "S256" }))
      assert.are.equal("https://app.example.com/cb", base)
      -- then the exchange need not carry it either
      local r = H.post(oauth, "/token", { grant_type = "authorization_code", code = p.code, code_verifier = verifier,
                                          client_id = "one" })
      assert.are.equal(200, r.status, r.body)
      -- the public client with three registered URIs must send one
      H.err(H.get(oauth, "/authorize", { response_type = "code", client_id = "dev-public-client",
        code_challenge = challenge, code_challenge_method = "S256" }), 400, "invalid_request")
    end)
  end)

  describe("/authorize errors", function()
    local function q(over)
      local t = { response_type = "code", client_id = "dev-public-client", redirect_uri = "http://127.0.0.1:7/callback",
                  code_challenge = select(2, H.pkce()), code_challenge_method = "S256", state = "xyz" }
      for k, v in pairs(over) do if v == false then t[k] = nil else t[k] = v end end
      return t
    end

    it("shows (does not redirect) missing or unknown clients", function()
      H.err(H.get(oauth, "/authorize", q({ client_id = false })), 400, "invalid_request")
      H.err(H.get(oauth, "/authorize", q({ client_id = "nobody" })), 400, "invalid_client")
      local r = H.get(oauth, "/authorize", q({ client_id = "nobody" }), { accept = "text/html" })
      assert.are.equal(400, r.status)
      assert.matches("text/html", r.headers["Content-Type"])
      assert.matches("invalid_client", r.body)
    end)

    it("redirects other errors with error, state and iss", function()
      local cases = {
        { { response_type = false }, "invalid_request" },
        { { response_type = "token" }, "unsupported_response_type" },
        { { code_challenge = false }, "invalid_request" },
        { { code_challenge_method = false }, "invalid_request" },
        { { code_challenge_method = "plain" }, "invalid_request" },
        { { code_challenge = "short" }, "invalid_request" },
        { { scope = "mcp:read root" }, "invalid_scope" },
        { { resource = "http://127.0.0.1:8765/mcp/open" }, "invalid_target" },
        { { resource = "https://elsewhere.example/mcp" }, "invalid_target" },
        { { resource = "not a uri" }, "invalid_target" },
        { { response_mode = "fragment" }, "invalid_request" },
      }
      for _, c in ipairs(cases) do
        local p = H.location(H.get(oauth, "/authorize", q(c[1])))
        assert.are.equal(c[2], p.error)
        assert.are.equal("xyz", p.state)
        assert.are.equal(H.BASE, p.iss)
        assert.is_string(p.error_description)
        assert.is_nil(p.code)
      end
    end)

    it("refuses clients without the authorization_code grant", function()
      oauth = H.new({ auto_approve = true, clients = { dev = {
        public = true, redirect_uris = { "http://127.0.0.1/callback" }, grant_types = { DEVICE = nil, "refresh_token" } } } })
      local p = H.location(H.get(oauth, "/authorize", q({ client_id = "dev" })))
      assert.are.equal("unauthorized_client", p.error)
    end)

    it("treats duplicated parameters as invalid_request", function()
      local base = util.encode_pairs(q({}))
      local p = H.location(H.get(oauth, "/authorize", base .. "&scope=mcp:read&scope=mcp:write"))
      assert.are.equal("invalid_request", p.error)
      assert.matches("duplicate", p.error_description)
      p = H.location(H.get(oauth, "/authorize", base .. "&resource=a&resource=b"))
      assert.are.equal("invalid_target", p.error)
      -- a duplicated client_id or redirect_uri cannot be trusted: shown, not redirected
      H.err(H.get(oauth, "/authorize", base .. "&client_id=dev-public-client"), 400, "invalid_request")
      H.err(H.get(oauth, "/authorize", base .. "&redirect_uri=x"), 400, "invalid_request")
      H.err(H.get(oauth, "/authorize", base .. "&bad=%zz"), 400, "invalid_request")
    end)

    it("answers 405 to POST", function()
      H.err(H.post(oauth, "/authorize", q({})), 405, "invalid_request")
    end)
  end)

  describe("code exchange errors", function()
    it("rejects a wrong verifier and then the code itself", function()
      local code, verifier, ru = H.authorize(oauth)
      local other = select(1, H.pkce())
      H.err(H.exchange(oauth, code, other, ru), 400, "invalid_grant")
      H.err(H.exchange(oauth, code, verifier, ru), 400, "invalid_grant")
    end)

    it("needs a well-formed verifier", function()
      local code, _, ru = H.authorize(oauth)
      H.err(H.exchange(oauth, code, false, ru), 400, "invalid_request")
      H.err(H.exchange(oauth, code, "tooshort", ru), 400, "invalid_request")
      H.err(H.exchange(oauth, code, string.rep("a", 42) .. "!", ru), 400, "invalid_request")
    end)

    it("rejects a reused code and revokes the tokens issued from it", function()
      local code, verifier, ru = H.authorize(oauth)
      local t = H.body(H.exchange(oauth, code, verifier, ru))
      assert.is_table(oauth:introspect(t.access_token))
      local b = H.err(H.exchange(oauth, code, verifier, ru), 400, "invalid_grant")
      assert.matches("already used", b.error_description)
      assert.is_nil(oauth:introspect(t.access_token))
      H.err(H.post(oauth, "/token", { grant_type = "refresh_token", refresh_token = t.refresh_token,
                                      client_id = "dev-public-client" }), 400, "invalid_grant")
    end)

    it("rejects an expired code", function()
      local code, verifier, ru = H.authorize(oauth)
      clock.t = clock.t + 61
      H.err(H.exchange(oauth, code, verifier, ru), 400, "invalid_grant")
    end)

    it("rejects unknown codes, another client's code, and redirect_uri mismatches", function()
      local _, verifier, ru = H.authorize(oauth)
      H.err(H.exchange(oauth, "mcp_ac_nope", verifier, ru), 400, "invalid_grant")
      local code2, v2, ru2 = H.authorize(oauth)
      H.err(H.exchange(oauth, code2, v2, "http://127.0.0.1:1/callback"), 400, "invalid_grant")
      local code3, v3 = H.authorize(oauth)
      H.err(H.exchange(oauth, code3, v3, false), 400, "invalid_grant")
      oauth.clients["other-public"] = oauth:make_client({ client_id = "other-public", public = true,
        grant_types = { "authorization_code" }, redirect_uris = { "http://127.0.0.1/callback" } })
      local code4, v4, ru4 = H.authorize(oauth)
      H.err(H.exchange(oauth, code4, v4, ru4, { client_id = "other-public" }), 400, "invalid_grant")
      H.err(H.exchange(oauth, false, v4, ru4), 400, "invalid_request")
    end)

    it("checks the resource against the authorization request", function()
      local code, verifier, ru = H.authorize(oauth)
      H.err(H.exchange(oauth, code, verifier, ru, { resource = H.BASE .. "/legacy/sse" }), 400, "invalid_target")
      local o2 = H.new({ auto_approve = true, providers = { "bearer", "oauth_as" } })
      local c2, v2, r2 = H.authorize(o2)
      H.err(H.exchange(o2, c2, v2, r2, { resource = H.BASE .. "/mcp/bearer-token" }), 400, "invalid_target")
      -- the same resource, spelled with an upper-case scheme, is accepted
      local c3, v3, r3 = H.authorize(oauth)
      local r = H.exchange(oauth, c3, v3, r3, { resource = "HTTP://127.0.0.1:8765/mcp/oauth" })
      assert.are.equal(200, r.status, r.body)
    end)
  end)

  describe("consent page", function()
    local function start()
      oauth = H.new()
      local verifier, challenge = H.pkce()
      local r = H.get(oauth, "/authorize", { response_type = "code", client_id = "dev-public-client",
        redirect_uri = "http://127.0.0.1:5555/callback", code_challenge = challenge, code_challenge_method = "S256",
        state = "s1", scope = "mcp:read" }, { accept = "text/html" })
      assert.are.equal(200, r.status)
      assert.matches("text/html", r.headers["Content-Type"])
      assert.are.equal("DENY", r.headers["X-Frame-Options"])
      local rid = r.body:match('name="request_id" value="([^"]+)"')
      local csrf = r.body:match('name="csrf_token" value="([^"]+)"')
      local cookie = r.headers["Set-Cookie"]:match("^([^;]+)")
      assert.matches("HttpOnly", r.headers["Set-Cookie"])
      assert.matches("SameSite=Strict", r.headers["Set-Cookie"])
      return rid, csrf, cookie, verifier, r
    end

    it("shows the client, scopes and the redirect target", function()
      local _, _, _, _, r = start()
      assert.matches("mcptest dev public client", r.body)
      assert.matches("mcp:read", r.body)
      assert.matches("127.0.0.1:5555/callback", r.body)
      assert.matches('action="/authorize/consent"', r.body)
    end)

    it("approve redirects with a code that exchanges", function()
      local rid, csrf, cookie, verifier = start()
      local r = H.post(oauth, "/authorize/consent", { request_id = rid, csrf_token = csrf, decision = "approve" },
                       { cookie = cookie, origin = H.BASE })
      local p = H.location(r)
      assert.are.equal("s1", p.state)
      local t = H.exchange(oauth, p.code, verifier, "http://127.0.0.1:5555/callback")
      assert.are.equal(200, t.status, t.body)
      assert.are.equal("mcp:read", H.body(t).scope)
      -- the request cannot be decided twice
      assert.are.equal(400, H.post(oauth, "/authorize/consent", { request_id = rid, csrf_token = csrf,
        decision = "approve" }, { cookie = cookie }).status)
    end)

    it("deny redirects with access_denied", function()
      local rid, csrf, cookie = start()
      local p = H.location(H.post(oauth, "/authorize/consent", { request_id = rid, csrf_token = csrf, decision = "deny" },
                                  { cookie = cookie }))
      assert.are.equal("access_denied", p.error)
      assert.are.equal("s1", p.state)
    end)

    it("refuses posts without the CSRF cookie, with a wrong token, or cross-origin", function()
      local rid, csrf, cookie = start()
      assert.are.equal(403, H.post(oauth, "/authorize/consent", { request_id = rid, csrf_token = csrf, decision = "approve" }).status)
      assert.are.equal(403, H.post(oauth, "/authorize/consent", { request_id = rid, csrf_token = "x" .. csrf,
        decision = "approve" }, { cookie = cookie }).status)
      assert.are.equal(403, H.post(oauth, "/authorize/consent", { request_id = rid, csrf_token = csrf, decision = "approve" },
        { cookie = cookie, origin = "http://evil.example" }).status)
      assert.are.equal(400, H.post(oauth, "/authorize/consent", { request_id = "nope", csrf_token = csrf,
        decision = "approve" }, { cookie = cookie }).status)
      assert.are.equal(400, H.post(oauth, "/authorize/consent", { request_id = rid, csrf_token = csrf,
        decision = "maybe" }, { cookie = cookie }).status)
      -- still usable after the failed attempts
      assert.are.equal(302, H.post(oauth, "/authorize/consent", { request_id = rid, csrf_token = csrf,
        decision = "approve" }, { cookie = cookie }).status)
    end)

    it("expires pending requests", function()
      local rid, csrf, cookie = start()
      local c = oauth.clock
      local now = c()
      oauth.clock = function() return now + 601 end
      assert.are.equal(400, H.post(oauth, "/authorize/consent", { request_id = rid, csrf_token = csrf,
        decision = "approve" }, { cookie = cookie }).status)
    end)
  end)
end)
