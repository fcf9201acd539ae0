-- RFC 7591 dynamic client registration at /register.
local H = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "helpers.lua")
local json = require("mcptest.json")

local function register(oauth, body, ctype)
  return oauth:handle({ method = "POST", path = "/register", headers = { ["content-type"] = ctype or "application/json" },
                        body = type(body) == "string" and body or json.encode(body) })
end

describe("oauth fixture registration", function()
  local oauth
  before_each(function() oauth = H.new({ auto_approve = true }) end)

  it("registers a public native client and lets it run the code flow", function()
    local r = register(oauth, { client_name = "cli", redirect_uris = json.array({ "http://127.0.0.1/callback" }),
                                token_endpoint_auth_method = "none", application_type = "native",
                                grant_types = json.array({ "authorization_code", "refresh_token" }) })
    assert.are.equal(201, r.status, r.body)
    assert.are.equal("no-store", r.headers["Cache-Control"])
    local c = H.body(r)
    assert.is_string(c.client_id)
    assert.is_nil(c.client_secret)
    assert.are.equal("none", c.token_endpoint_auth_method)
    assert.are.same({ "code" }, c.response_types)
    assert.are.same({ "http://127.0.0.1/callback" }, c.redirect_uris)
    assert.are.equal("cli", c.client_name)
    assert.are.equal("native", c.application_type)
    assert.is_number(c.client_id_issued_at)
    -- the new client works at /authorize with any loopback port, and gets a refresh token
    local code, verifier, ru = H.authorize(oauth, { client_id = c.client_id, redirect_uri = "http://127.0.0.1:40000/callback" })
    local t = H.body(H.exchange(oauth, code, verifier, ru, { client_id = c.client_id }))
    assert.is_string(t.access_token)
    assert.is_string(t.refresh_token)
  end)

  it("defaults to client_secret_basic and issues a secret that never expires", function()
    local c = H.body(register(oauth, { redirect_uris = { "https://app.example.com/cb" } }))
    assert.are.equal("client_secret_basic", c.token_endpoint_auth_method)
    assert.is_string(c.client_secret)
    assert.are.equal(0, c.client_secret_expires_at)
    assert.are.same({ "authorization_code" }, c.grant_types)
  end)

  it("registers a client_credentials client that can get a token with its secret", function()
    local c = H.body(register(oauth, { grant_types = { "client_credentials" }, scope = "mcp:write",
                                       token_endpoint_auth_method = "client_secret_post" }))
    assert.are.same({}, c.redirect_uris)
    assert.is_true(json.is_array(c.response_types))
    local r = H.post(oauth, "/token", { grant_type = "client_credentials", client_id = c.client_id,
                                        client_secret = c.client_secret, resource = H.RESOURCE })
    assert.are.equal(200, r.status, r.body)
    assert.are.equal("mcp:write", H.body(r).scope)
    -- and nothing outside its registered scope
    H.err(H.post(oauth, "/token", { grant_type = "client_credentials", client_id = c.client_id,
                                    client_secret = c.client_secret, scope = "mcp:admin" }), 400, "invalid_scope")
  end)

  it("rejects bad metadata with the RFC 7591 errors", function()
    local cases = {
      { { redirect_uris = { "http://evil.example.com/cb" } }, "invalid_redirect_uri" },
      { { redirect_uris = { "https://a.example.com/cb#frag" } }, "invalid_redirect_uri" },
      { { redirect_uris = { "javascript:alert(1)" } }, "invalid_redirect_uri" },
      { { redirect_uris = "http://127.0.0.1/cb" }, "invalid_redirect_uri" },
      { { client_name = "no redirects" }, "invalid_redirect_uri" },
      { { redirect_uris = { "http://127.0.0.1/cb" }, token_endpoint_auth_method = "private_key_jwt" }, "invalid_client_metadata" },
      { { redirect_uris = { "http://127.0.0.1/cb" }, grant_types = { "implicit" } }, "invalid_client_metadata" },
      { { redirect_uris = { "http://127.0.0.1/cb" }, grant_types = {} }, "invalid_client_metadata" },
      { { redirect_uris = { "http://127.0.0.1/cb" }, response_types = { "token" } }, "invalid_client_metadata" },
      { { grant_types = { "client_credentials" }, token_endpoint_auth_method = "none" }, "invalid_client_metadata" },
      { { redirect_uris = { "http://127.0.0.1/cb" }, scope = "mcp:read root" }, "invalid_client_metadata" },
      { { redirect_uris = { "http://127.0.0.1/cb" }, client_name = 42 }, "invalid_client_metadata" },
      { { redirect_uris = { "http://127.0.0.1/cb" }, application_type = "tv" }, "invalid_client_metadata" },
      { { redirect_uris = { "http://127.0.0.1/cb" }, software_statement = "eyJ..." }, "unapproved_software_statement" },
    }
    for i, c in ipairs(cases) do
      local b = H.err(register(oauth, c[1]), 400, c[2])
      assert.is_string(b.error_description, "case " .. i)
    end
  end)

  it("rejects malformed JSON, non-objects and the wrong content type", function()
    H.err(register(oauth, "{not json"), 400, "invalid_client_metadata")
    H.err(register(oauth, "[1,2]"), 400, "invalid_client_metadata")
    H.err(register(oauth, "null"), 400, "invalid_client_metadata")
    H.err(register(oauth, "", "application/json"), 400, "invalid_client_metadata")
    H.err(register(oauth, { redirect_uris = { "http://127.0.0.1/cb" } }, "text/plain"), 400, "invalid_client_metadata")
    H.err(register(oauth, string.rep("x", 70000)), 400, "invalid_client_metadata")
    local r = oauth:handle({ method = "GET", path = "/register", headers = {} })
    H.err(r, 405, "invalid_request")
  end)

  it("accepts private-use scheme redirect URIs and ignores unknown fields", function()
    local r = register(oauth, { redirect_uris = { "com.example.app:/oauth2redirect" }, token_endpoint_auth_method = "none",
                                something_else = { deep = true } })
    assert.are.equal(201, r.status, r.body)
    assert.is_nil(H.body(r).something_else)
  end)

  it("stops registering at max_clients", function()
    local o = H.new({ max_clients = 2 })
    local md = { redirect_uris = { "http://127.0.0.1/cb" }, token_endpoint_auth_method = "none" }
    assert.are.equal(201, register(o, md).status)
    assert.are.equal(201, register(o, md).status)
    H.err(register(o, md), 503, "temporarily_unavailable")
  end)
end)
