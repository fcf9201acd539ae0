-- examples/fixture_oauth.lua: the fixture's OAuth 2.1 authorization server
-- from a suite. A client-credentials token is minted with mcp.http.request
-- (raw HTTP, to assert on the AS itself), then used on /mcp/oauth.
--   mcptest examples/fixture_oauth.lua
local mcp = require("mcptest")
local json = mcp.json

local fixture = mcp.fixture.start{}

-- The seeded dev-confidential-client's secret is a documented fixture
-- constant (docs/oauth-fixture.md); a real suite names an env var instead.
local function mint(scope)
  local res = assert(mcp.http.request{
    method = "POST", url = fixture.url .. "/token",
    headers = { ["Content-Type"] = "application/x-www-form-urlencoded" },
    body = "grant_type=client_credentials&client_id=dev-confidential-client"
      .. "&client_secret=dev-confidential-secret&scope=" .. scope:gsub(" ", "%%20")
      .. "&resource=" .. fixture.url .. "/mcp/oauth",
  })
  assert.are.equal(200, res.status)
  return json.decode(res.body)
end

describe("fixture OAuth", function()
  it("advertises its authorization server (RFC 9728, RFC 8414)", function()
    local prm = mcp.http.request{ method = "GET",
      url = fixture.url .. "/.well-known/oauth-protected-resource/mcp/oauth" }
    assert.are.equal(200, prm.status)
    local issuer = json.decode(prm.body).authorization_servers[1]
    local as = mcp.http.request{ method = "GET", url = issuer .. "/.well-known/oauth-authorization-server" }
    local meta = json.decode(as.body)
    assert.are.equal(issuer, meta.issuer)
    assert.are.same({ "S256" }, meta.code_challenge_methods_supported)
  end)

  it("challenges a request without a token", function()
    local res = mcp.http.request{ method = "POST", url = fixture.url .. "/mcp/oauth",
      headers = { ["Content-Type"] = "application/json", Accept = "application/json, text/event-stream" },
      body = '{"jsonrpc":"2.0","id":1,"method":"ping"}' }
    assert.are.equal(401, res.status)
    assert.matches('realm="mcp"', res.headers["www-authenticate"])
    assert.matches("resource_metadata=", res.headers["www-authenticate"])
  end)

  it("serves a client-credentials token, with its scopes", function()
    local tokens = mint("mcp:read")
    assert.are.equal("Bearer", tokens.token_type)
    assert.is_nil(tokens.refresh_token) -- RFC 6749 4.4.3: none for this grant
    local c = mcp.connect{ url = fixture.url .. "/mcp/oauth",
                           headers = { Authorization = "Bearer " .. tokens.access_token } }
    assert.text_contains(c:call_tool("whoami", {}), "dev-confidential-client")
    -- a tool that needs mcp:write: 403 insufficient_scope
    local ok, err = c:try("tools/call", { name = "write_note", arguments = { text = "x" } })
    assert.is_false(ok)
    assert.are.equal("auth", err.kind)
    assert.are.equal(403, err.http_status)
    assert.are.equal("insufficient_scope", err.www_authenticate.params.error)
    c:close()
  end)
end)
