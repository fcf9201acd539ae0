-- mcptest doctor as a person or an agent runs it: each layer against a
-- server that breaks it (closed port, unresolvable host, a web page, a
-- self-signed certificate, a server that never answers), seed 000's five
-- credential states against the fixture, the discovery layouts, --json,
-- exit codes, and no secret in any output.
local mcp = require("mcptest")
local BIN = os.getenv("MCPTEST_BIN") or "build/mcptest"
local SRC = os.getenv("MCPTEST_SRC") or "."
local H = dofile(SRC .. "/spec/transport/http/helpers.lua")
local process = require("mcptest.core.process")
local poll = require("mcptest.core.poll")
local sys = require("mcptest.core.sys")

local home
local function run(args, env)
  local out, err = os.tmpname(), os.tmpname()
  local cmd = string.format("MCPTEST_HOME=%s %s %s doctor %s >%s 2>%s </dev/null",
    home, env or "", BIN, args, out, err)
  local t0 = sys.now()
  local _, _, code = os.execute(cmd)
  local took = sys.now() - t0
  local function slurp(p) local f = io.open(p); local s = f:read("a"); f:close(); os.remove(p); return s end
  return code, slurp(out), slurp(err), took
end

-- "LAYER STATUS finding" of the text report
local function layer(out, name)
  local status, finding = out:match("\n" .. name .. "%s+(%u+)%s+([^\n]*)")
  local hint = out:match("\n" .. name .. "%s+%u+%s+[^\n]*\n%s+hint: ([^\n]*)")
  return status, finding, hint
end

-- a one-off node server on 127.0.0.1 printing "PORT n"; returns port, stop
local function node_server(js)
  local p = assert(process.spawn{ argv = { "timeout", "120", "node", "-e", js } })
  local deadline, out = sys.now() + 15, p:fds()
  while sys.now() < deadline do
    local lines, n = p:read_lines()
    for i = 1, n or 0 do
      local port = lines[i]:match("^PORT (%d+)")
      if port then return tonumber(port), function() p:close(1) end end
    end
    poll.wait({ out }, nil, 0.1)
  end
  p:close(1)
  error("node server did not start")
end

describe("mcptest doctor", function()
  local fx
  setup(function()
    fx = mcp.fixture.start{ tokens = { ["ro-token-secret"] = { subject = "ro", scopes = "mcp:read" } },
                            route_scopes = { ["/mcp/bearer-token"] = "mcp:admin" },
                            bearer_token = "doctor-good-token-secret" }
  end)
  teardown(function() if fx then fx:stop() end end)
  before_each(function() home = os.tmpname(); os.remove(home) end)
  after_each(function() os.execute("rm -rf '" .. home .. "'") end)

  local function no_secret(s)
    for _, v in ipairs({ "doctor-good-token-secret", "ro-token-secret", "wrong-token-secret", "mcp_at_", "mcp_rt_" }) do
      assert.is_nil(s:find(v, 1, true), "a secret reached the output: " .. v)
    end
  end

  it("walks every layer of a healthy server and exits 0", function()
    local code, out = run("--url " .. fx.url .. "/mcp/open")
    assert.are.equal(0, code, out)
    assert.are.equal("OK", layer(out, "CONFIG"))
    assert.matches("127%.0%.0%.1 is an address", select(2, layer(out, "DNS")))
    assert.matches("connected to 127%.0%.0%.1 in %d+ ms", select(2, layer(out, "TCP")))
    assert.are.equal("SKIP", layer(out, "TLS"))
    assert.matches("^HTTP 200 application/json", select(2, layer(out, "HTTP")))
    local st, f = layer(out, "MCP")
    assert.are.equal("OK", st)
    -- the fixture speaks both eras: auto picks the modern one, and says how
    assert.matches("protocol 2026%-07%-28 %(modern era: server/discover answered[^)]*%), server mcptest%-fixture", f)
    assert.matches("capabilities: .*tools", f)
    assert.are.equal("the server did not ask for credentials", select(2, layer(out, "AUTH")))
    assert.are.equal("SKIP", layer(out, "DISCOVERY"))
  end)

  it("--json is one object with every layer, in order", function()
    local code, out = run("--json --url " .. fx.url .. "/mcp/open")
    assert.are.equal(0, code)
    local r = mcp.json.decode(out)
    assert.is_true(r.ok)
    local names = {}
    for i, l in ipairs(r.layers) do names[i] = l.name end
    assert.are.same({ "CONFIG", "DNS", "TCP", "TLS", "HTTP", "MCP", "AUTH", "DISCOVERY" }, names)
    assert.are.equal("2026-07-28", r.layers[6].details.protocol_version)
    assert.are.equal("modern", r.layers[6].details.era)
    assert.are.equal("not_required", r.layers[7].details.state)
  end)

  it("a closed port: TCP FAIL, the rest SKIP, exit 1", function()
    local code, out = run("--url http://127.0.0.1:9/mcp")
    assert.are.equal(1, code)
    local st, f, hint = layer(out, "TCP")
    assert.are.equal("FAIL", st)
    assert.matches("connection refused at 127%.0%.0%.1:9", f)
    assert.matches("is the server running", hint)
    for _, name in ipairs({ "TLS", "HTTP", "MCP", "AUTH", "DISCOVERY" }) do
      assert.are.equal("SKIP", layer(out, name), name)
    end
  end)

  it("an unresolvable host: DNS FAIL", function()
    local code, out = run("--url https://no-such-host.invalid/mcp")
    assert.are.equal(1, code)
    local st, f = layer(out, "DNS")
    assert.are.equal("FAIL", st)
    assert.matches("no%-such%-host%.invalid does not resolve", f)
  end)

  it("a web page is recognised as no MCP endpoint", function()
    local port, stop = node_server([[require('http').createServer((q,s)=>{s.writeHead(200,{'Content-Type':'text/html','Server':'plainweb'});s.end('<html>hi</html>')}).listen(0,'127.0.0.1',function(){console.log('PORT '+this.address().port)})]])
    local code, out = run("--url http://127.0.0.1:" .. port .. "/")
    stop()
    assert.are.equal(1, code)
    local st, f, hint = layer(out, "HTTP")
    assert.are.equal("FAIL", st)
    assert.matches("HTTP 200 text/html, server plainweb", f)
    assert.matches("web page, not an MCP endpoint", hint)
    assert.are.equal("SKIP", layer(out, "MCP"))
  end)

  it("a server that accepts and never answers fails at the timeout, within it", function()
    local port, stop = node_server([[require('net').createServer(()=>{}).listen(0,'127.0.0.1',function(){console.log('PORT '+this.address().port)})]])
    local code, out, _, took = run("--timeout 1 --url http://127.0.0.1:" .. port .. "/mcp")
    stop()
    assert.are.equal(1, code)
    assert.are.equal("OK", layer(out, "TCP"))
    local st, f = layer(out, "HTTP")
    assert.are.equal("FAIL", st)
    assert.matches("no response within 1 s", f)
    assert.is_true(took < 6, "doctor took " .. took .. " s with --timeout 1")
  end)

  it("a self-signed certificate: TLS FAIL naming it; OK with --cacert", function()
    local cert = H.make_cert()
    local srv = H.start_fault({ cert = cert.cert, key = cert.key })
    local code, out = run("--url " .. srv.url("plain"))
    local code2, out2 = run("--cacert " .. cert.cert .. " --url " .. srv.url("plain"))
    srv.stop()
    cert.cleanup()
    assert.are.equal(1, code)
    local st, f, hint = layer(out, "TLS")
    assert.are.equal("FAIL", st)
    assert.matches("certificate for 127%.0%.0%.1, issued by 127%.0%.0%.1, self%-signed", f)
    assert.matches("%-%-cacert FILE", hint)
    -- trusted now; the test certificate expires within a day, inside the
    -- 14 days that make a WARN
    assert.are.equal(0, code2, out2)
    local st2, f2, hint2 = layer(out2, "TLS")
    assert.are.equal("WARN", st2, out2)
    assert.matches("^verified, certificate for 127%.0%.0%.1 issued by 127%.0%.0%.1, expires .* GMT, CA: "
      .. cert.cert:gsub("%p", "%%%0") .. " %(%d days? left%)$", f2)
    assert.are.equal("renew the certificate", hint2)
    assert.are.equal("OK", layer(out2, "MCP"))
  end)

  describe("AUTH: seed 000's credential states", function()
    it("no credentials supplied", function()
      local code, out = run("--url " .. fx.url .. "/mcp/bearer-token")
      assert.are.equal(1, code)
      local st, f, hint = layer(out, "AUTH")
      assert.are.equal("FAIL", st)
      assert.matches("^HTTP 401, server advertises Bearer %(realm=\"mcp\"", f)
      assert.matches("no credentials were supplied$", f)
      assert.are.equal("pass --bearer-token-env <VAR> or run mcptest login " .. fx.url .. "/mcp/bearer-token", hint)
      assert.are.equal("OK", layer(out, "DISCOVERY"))
    end)

    it("env var named but unset or empty: the request still goes out, the challenge is shown", function()
      local code, out = run("--bearer-token-env DOCTOR_UNSET_VAR --url " .. fx.url .. "/mcp/bearer-token", "DOCTOR_UNSET_VAR=")
      assert.are.equal(1, code)
      assert.are.equal("WARN", layer(out, "CONFIG"))
      local st, f, hint = layer(out, "AUTH")
      assert.are.equal("FAIL", st)
      assert.matches("^HTTP 401, server advertises Bearer", f)
      assert.matches("env var `DOCTOR_UNSET_VAR` %(named by %-%-bearer%-token%-env%) is not set or is empty", f)
      assert.are.equal("export a valid token into DOCTOR_UNSET_VAR", hint)
    end)

    it("token sent, 401: rejected", function()
      local code, out = run("--bearer-token-env TOK --url " .. fx.url .. "/mcp/bearer-token", "TOK=wrong-token-secret")
      assert.are.equal(1, code)
      local st, f, hint = layer(out, "AUTH")
      assert.are.equal("FAIL", st)
      assert.matches("error=\"invalid_token\"", f)
      assert.matches("the token from env var `TOK` was rejected$", f)
      assert.are.equal("mint a fresh one or re-login", hint)
      no_secret(out)
    end)

    it("token sent, 403: lacks the scope the server asks for", function()
      local code, out = run("--bearer-token-env TOK --url " .. fx.url .. "/mcp/bearer-token", "TOK=ro-token-secret")
      assert.are.equal(1, code)
      local st, f, hint = layer(out, "AUTH")
      assert.are.equal("FAIL", st)
      assert.matches("^HTTP 403", f)
      assert.matches("the token lacks permission %(the server asks for scope \"mcp:admin\"%)", f)
      assert.matches("^check scope or audience", hint)
      no_secret(out)
    end)

    it("cached login token expired and not refreshable", function()
      -- a cached token (auth set), then its expiry moved into the past
      local _, _, code0 = os.execute(string.format("MCPTEST_HOME=%s T=ro-token-secret %s auth set %s --token-env T >/dev/null 2>&1",
        home, BIN, fx.url .. "/mcp/bearer-token"))
      assert.are.equal(0, code0)
      local p = io.popen("find '" .. home .. "/auth/tokens' -type f -name '*.json'")
      local file = p:read("l")
      p:close()
      local f = assert(io.open(file))
      local t = mcp.json.decode(f:read("a"))
      f:close()
      t.expires_at, t.refresh_token = os.time() - 60, nil
      f = assert(io.open(file, "w"))
      f:write(mcp.json.encode(t))
      f:close()
      local code, out = run("--url " .. fx.url .. "/mcp/bearer-token")
      assert.are.equal(1, code)
      local st, finding, hint = layer(out, "AUTH")
      assert.are.equal("FAIL", st)
      assert.matches("the cached login token for .-/mcp/bearer%-token has expired and holds no refresh token", finding)
      assert.are.equal("run mcptest login " .. fx.url .. "/mcp/bearer-token", hint)
      no_secret(out)
    end)

    it("a token that works: AUTH OK, no secret shown", function()
      local code, out = run("--bearer-token-env TOK --url " .. fx.url .. "/mcp/bearer-token", "TOK=doctor-good-token-secret")
      assert.are.equal(0, code, out)
      assert.are.equal("the token from env var `TOK` was accepted", select(2, layer(out, "AUTH")))
      assert.are.equal("OK", layer(out, "MCP"))
      no_secret(out)
    end)
  end)

  describe("DISCOVERY with each metadata layout", function()
    local layouts = {
      { name = "RFC 8414 path-inserted", config = { issuer_path = "/tenant1", metadata_urls = { "oauth" } } },
      { name = "OIDC path-inserted", config = { issuer_path = "/tenant1", metadata_urls = { "openid" } } },
      { name = "OIDC path-appended", config = { issuer_path = "/tenant1", metadata_urls = { "openid_appended" } } },
    }
    for _, l in ipairs(layouts) do
      it(l.name, function()
        local f = mcp.fixture.start(l.config)
        local code, out = run("--url " .. f.url .. "/mcp/oauth")
        f:stop()
        assert.are.equal(1, code) -- AUTH fails: no credentials
        local st, finding, hint = layer(out, "DISCOVERY")
        assert.are.equal("OK", st, out)
        assert.matches("authorization server " .. f.url:gsub("%p", "%%%0") .. "/tenant1;", finding)
        assert.matches("PKCE S256", finding)
        assert.matches("^log in with: mcptest login ", hint)
      end)
    end

    it("PRM but no AS metadata anywhere: DISCOVERY FAIL, pointing at discover", function()
      local f = mcp.fixture.start{ metadata_urls = {} }
      local code, out = run("--url " .. f.url .. "/mcp/oauth")
      f:stop()
      assert.are.equal(1, code)
      local st, finding, hint = layer(out, "DISCOVERY")
      assert.are.equal("FAIL", st)
      assert.matches("no authorization server metadata for " .. f.url:gsub("%p", "%%%0"), finding)
      assert.matches("mcptest discover ", hint)
    end)

    it("a PRM naming another resource: DISCOVERY FAIL with the reason", function()
      local f = mcp.fixture.start{ prm_resource = "http://127.0.0.1:1/elsewhere" }
      local code, out = run("--url " .. f.url .. "/mcp/oauth")
      f:stop()
      assert.are.equal(1, code)
      local st, finding = layer(out, "DISCOVERY")
      assert.are.equal("FAIL", st)
      assert.matches("does not cover", finding)
    end)
  end)

  it("stdio: CONFIG finds the command, MCP initializes, network layers SKIP", function()
    local code, out = run("--stdio 'node " .. SRC .. "/spec/data/stdio_server.js'")
    assert.are.equal(0, code, out)
    assert.are.equal("SKIP", layer(out, "HTTP"))
    assert.matches("protocol 2025%-11%-25 %(legacy era: .*%), server stdio%-test%-server", select(2, layer(out, "MCP")))
    local code2, out2 = run("--stdio 'no-such-command-xyz'")
    assert.are.equal(1, code2)
    assert.matches("no%-such%-command%-xyz is not found on PATH", select(2, layer(out2, "CONFIG")))
  end)

  it("usage errors exit 2; a token given where a name belongs is refused without echoing it", function()
    local code, _, err = run("")
    assert.are.equal(2, code)
    assert.matches("doctor needs one of %-%-url URL or %-%-stdio", err)
    code, _, err = run("--url http://127.0.0.1:9/ --bearer-token-env 'eyJ.secret-value'")
    assert.are.equal(2, code)
    assert.is_nil(err:find("secret-value", 1, true))
    code = run("--url http://127.0.0.1:9/ --no-such-flag")
    assert.are.equal(2, code)
  end)

  it("parse_cert_date reads OpenSSL's date form as UTC", function()
    local doctor = require("mcptest.doctor")
    assert.are.equal(1798761600, doctor.parse_cert_date("Jan  1 00:00:00 2027 GMT"))
    assert.is_nil(doctor.parse_cert_date("garbage"))
  end)
end)
