-- A hostile HTTP server (spec/data/hostile_http_server.py writes raw
-- bytes): each misbehaviour gets a message saying what the server did
-- wrong, with its strings cut and their length said.
package.path = (os.getenv("MCPTEST_SRC") or ".") .. "/spec/transport/http/?.lua;" .. package.path
local H = require("helpers")
local process = require("mcptest.core.process")
local poll = require("mcptest.core.poll")
local sys = require("mcptest.core.sys")
local mcp = require("mcptest")

local function start_hostile()
  local p = assert(process.spawn{ argv = { "python3", H.SRC .. "/spec/data/hostile_http_server.py", "--max-seconds", "120" } })
  local deadline = sys.now() + 10
  while sys.now() < deadline do
    local lines, n = p:read_lines()
    for i = 1, n or 0 do
      local port = lines[i]:match("^PORT (%d+)")
      if port then return p, "http://127.0.0.1:" .. port end
    end
    poll.wait({ (p:fds()) }, nil, 0.1)
  end
  p:close(0.2)
  error("hostile_http_server.py did not start")
end

describe("a hostile HTTP server", function()
  local proc, base
  setup(function() proc, base = start_hostile() end)
  teardown(function() proc:close(0.2) end)

  local function fails(scenario, call)
    return H.error_of(function()
      local c = mcp.connect{ url = base .. "/" .. scenario .. "/mcp", timeout = 5 }
      if call then c:call_tool("echo", {}) end
    end)
  end

  it("sending a 2 MB response header is told so", function()
    local err = fails("bigheader")
    assert.matches("response header over curl's 100 KB limit", err.message, 1, true)
  end)

  it("answering with no HTTP status line is told so", function()
    local err = fails("badstatus")
    assert.matches("does not start with an HTTP status line", err.message, 1, true)
    assert.is_nil(err.message:find("only http:// and https://", 1, true))
  end)

  it("with a 60 KB realm in its challenge gets a short message saying how long it was", function()
    local err = fails("bigrealm", true)
    assert.are.equal("auth", err.kind)
    assert.matches("(60000 bytes)", err.message, 1, true)
    assert.is_true(#err.message < 2000, #err.message .. " bytes")
  end)

  it("with control characters in its challenge gets them escaped, the challenge read", function()
    local err = fails("ctrlchallenge", true)
    assert.matches('realm="a\\1b\\127c"', err.message, 1, true)
    assert.matches('error="invalid_token"', err.message, 1, true)
  end)

  it("with a 60 KB error body gets it cut, saying how long it was", function()
    local err = fails("bigerror", true)
    assert.matches("(60000 bytes)", err.message, 1, true)
    assert.is_true(#err.message < 2000)
  end)

  it("with a 60 KB JSON-RPC error message is shown cut, the whole kept in err.message", function()
    local err = fails("bigjsonrpc", true)
    assert.are.equal("jsonrpc", err.kind)
    assert.are.equal(60000, #err.message)
    local shown = tostring(err)
    assert.is_true(#shown < 3000, #shown .. " bytes")
    assert.matches("(60000 bytes in all; err.message holds them)", shown, 1, true)
  end)

  it("naming a legacy endpoint with NUL bytes is refused at once, without raw bytes", function()
    local t0 = sys.now()
    local err = fails("legacynul")
    assert.is_true(sys.now() - t0 < 3, "took " .. (sys.now() - t0) .. " s")
    assert.matches("named an endpoint that is not a URL", err.message, 1, true)
    assert.is_nil(err.message:find("\0", 1, true))
  end)
end)

describe("a TLS server whose certificate names another host", function()
  it("gets a hint about the host name, not about an unknown CA", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p '" .. dir .. "'"))
    assert(os.execute("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=example.com"
      .. " -addext subjectAltName=DNS:example.com -keyout '" .. dir .. "/key.pem' -out '" .. dir
      .. "/cert.pem' >/dev/null 2>&1"))
    local tls = { cert = dir .. "/cert.pem", key = dir .. "/key.pem" }
    local srv = H.start_fault(tls)
    local err = H.error_of(mcp.connect, { url = srv.url("ok"), tls = { ca_file = tls.cert }, timeout = 5 })
    srv.stop()
    os.execute("rm -rf '" .. dir .. "'")
    assert.matches("names another host", err.message, 1, true)
    assert.is_nil(err.message:find("self-signed or unknown CA", 1, true), err.message)
  end)
end)
