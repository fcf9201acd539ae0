-- Network setups users have: libcurl's proxy variables are honoured, but
-- loopback is never proxied; a server that requires a client certificate
-- (mTLS) is reached with tls = { cert_file, key_file } or --cert/--key.
package.path = (os.getenv("MCPTEST_SRC") or ".") .. "/spec/transport/http/?.lua;" .. package.path
local H = require("helpers")
local mcp = require("mcptest")
local BIN = os.getenv("MCPTEST_BIN") or "build/mcptest"

local function sh(cmd)
  local p = io.popen(cmd .. " 2>&1; echo rc=$?")
  local out = p:read("a")
  p:close()
  return out
end

local function proxied(proxy, pattern)
  for _, l in ipairs(proxy.lines()) do if l:find(pattern, 1, true) then return true end end
  return false
end

describe("proxies", function()
  local fx, proxy, fxport
  setup(function()
    fx = mcp.fixture.start{}
    fxport = fx.url:match(":(%d+)$")
    proxy = H.start_script{ "python3", H.SRC .. "/spec/data/proxy.py", "--max-seconds", "120" }
  end)
  teardown(function() proxy.stop(); fx:stop() end)

  local function env(extra)
    return "env -u NO_PROXY -u no_proxy -u HTTPS_PROXY -u https_proxy -u ALL_PROXY -u all_proxy"
      .. " http_proxy=http://127.0.0.1:" .. proxy.port .. " " .. (extra or "")
  end

  it("http_proxy carries a request to a host that is not loopback", function()
    local out = sh(env() .. BIN .. " tools --url http://mcp.example.test:" .. fxport .. "/mcp/open --timeout 10")
    assert.matches("rc=0", out, 1, true)
    assert.matches("echo", out, 1, true)
    assert.is_true(proxied(proxy, "PROXIED mcp.example.test:" .. fxport .. " POST /mcp/open"), out)
  end)

  it("never carries a loopback request, NO_PROXY unset", function()
    local out = sh(env() .. BIN .. " tools --url http://127.0.0.1:" .. fxport .. "/mcp/open --timeout 10")
    assert.matches("rc=0", out, 1, true)
    assert.is_false(proxied(proxy, "PROXIED 127.0.0.1:"))
    local out2 = sh(env() .. BIN .. " tools --url http://localhost:" .. fxport .. "/mcp/open --timeout 10")
    assert.is_false(proxied(proxy, "PROXIED localhost:"), out2)
  end)

  it("keeps the user's NO_PROXY", function()
    sh(env("NO_PROXY=mcp.example.test ") .. BIN .. " tools --url http://mcp.example.test:" .. fxport
      .. "/mcp/open --timeout 5")
    local n = 0
    for _, l in ipairs(proxy.lines()) do if l:find("PROXIED mcp.example.test", 1, true) then n = n + 1 end end
    -- only the first test's requests went through it
    local before = n
    sh(env("NO_PROXY=mcp.example.test ") .. BIN .. " tools --url http://mcp.example.test:" .. fxport
      .. "/mcp/open --timeout 5")
    n = 0
    for _, l in ipairs(proxy.lines()) do if l:find("PROXIED mcp.example.test", 1, true) then n = n + 1 end end
    assert.are.equal(before, n)
  end)
end)

describe("client certificates (mTLS)", function()
  local server_cert, client_cert, srv
  setup(function()
    server_cert = H.make_cert()
    client_cert = H.make_cert()
    srv = H.start_script{ "python3", H.SRC .. "/spec/data/mtls_server.py", server_cert.cert, server_cert.key,
                          client_cert.cert, "--max-seconds", "120" }
  end)
  teardown(function()
    srv.stop()
    server_cert.cleanup()
    client_cert.cleanup()
  end)

  local function url() return "https://127.0.0.1:" .. srv.port .. "/mcp" end

  it("reaches a server that requires one with tls = { cert_file, key_file }", function()
    local c = mcp.connect{ url = url(), timeout = 10,
      tls = { ca_file = server_cert.cert, cert_file = client_cert.cert, key_file = client_cert.key } }
    assert.are.equal("client 127.0.0.1", mcp.text(c:call_tool("whoami", {})))
    c:close()
  end)

  it("reaches it with --cert and --key", function()
    local out = sh(BIN .. " call --url " .. url() .. " --cacert " .. server_cert.cert .. " --cert " .. client_cert.cert
      .. " --key " .. client_cert.key .. " whoami '{}' --timeout 10")
    assert.matches("client 127.0.0.1", out, 1, true)
    assert.matches("rc=0", out, 1, true)
  end)

  it("is refused without one", function()
    local err = H.error_of(mcp.connect, { url = url(), timeout = 10, tls = { ca_file = server_cert.cert } })
    assert.are.equal("transport", err.kind)
  end)

  it("takes --cert and --key on discover too, an unreadable one a usage error", function()
    local out = sh(BIN .. " discover " .. url() .. " --cert /nonexistent/cert.pem --key " .. client_cert.key)
    assert.matches("rc=2", out, 1, true)
    assert.matches("tls.cert_file /nonexistent/cert.pem cannot be read", out, 1, true)
    assert.is_nil(out:find("stack traceback", 1, true), out)
  end)

  it("refuses a certificate without its key, naming both options", function()
    local err = H.error_of(mcp.connect, { url = url(), tls = { cert_file = client_cert.cert } })
    assert.are.equal("usage", err.kind)
    assert.matches("tls.key_file is required with tls.cert_file", err.message, 1, true)
  end)
end)
