-- Bad and unusual servers (spec/http/fault_server.js): every failure is a
-- clear mcptest.Error naming the URL and the cause, within the request
-- timeout; resumption, session expiry, the GET stream, headers, legacy.
local mcp = require("mcptest")
local sys = require("mcptest.core.sys")
local H = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "helpers.lua")

describe("Streamable HTTP against a fault server", function()
  local srv

  setup(function() srv = H.start_fault() end)
  teardown(function() if srv then srv.stop() end end)

  local function connect(scenario, extra)
    local opts = { url = srv.url(scenario), timeout = 3 }
    for k, v in pairs(extra or {}) do opts[k] = v end
    return mcp.connect(opts)
  end

  -- call echo on a scenario; return the error, and how long it took
  local function call_error(scenario, extra)
    local c = connect(scenario, extra)
    local t0 = sys.now()
    local err = H.error_of(c.call_tool, c, "echo", { message = "x" })
    local took = sys.now() - t0
    c:close()
    return err, took
  end

  it("works with plain JSON replies, sends the version header, ends with DELETE", function()
    local before = srv.stats()
    local c = connect("ok")
    assert.text_equals(c:call_tool("echo", { message = "hi" }), "Echo: hi")
    assert.is_string(c.session_id)
    c:close()
    local st = srv.stats()
    assert.are.equal(before.deletes + 1, st.deletes)
    assert.are.equal("2025-11-25", st.protocolVersions[#st.protocolVersions])
  end)

  it("resumes a stream closed before its response with GET + Last-Event-ID after retry", function()
    local c = connect("resume")
    local r = c:call_tool("echo", { message = "later" })
    assert.text_equals(r, "Echo: later (resumed)")
    local st = srv.stats()
    assert.are.equal("r-0", st.resume.lastEventId)
    local waited = st.resume.resumedAt - st.resume.cutAt
    assert.is_true(waited >= 300, "reconnected after " .. waited .. " ms, before retry: 300")
    assert.is_true(waited < 2000, "reconnected only after " .. waited .. " ms")
    c:close()
  end)

  it("reports a stream cut mid-event with no id to resume from", function()
    local err, took = call_error("cut")
    assert.are.equal("transport", err.kind)
    assert.matches("ended before the response to tools/call", err.message, 1, true)
    assert.matches("cut in the middle of an event", err.message, 1, true)
    assert.matches(srv.url("cut"), tostring(err), 1, true)
    assert.is_true(took < 3)
  end)

  it("reports an SSE event that is not JSON", function()
    local err = call_error("garbage")
    assert.are.equal("protocol", err.kind)
    assert.matches("not JSON", err.message)
    assert.matches("this is not JSON at all", err.message, 1, true)
    assert.are.equal(srv.url("garbage"), err.url)
  end)

  it("reports a JSON reply that does not parse", function()
    local err = call_error("badjson")
    assert.are.equal("protocol", err.kind)
    assert.matches("invalid JSON", err.message)
  end)

  it("times out on a server that accepts and never answers, naming the URL", function()
    local err, took = call_error("hang", { timeout = 1 })
    assert.are.equal("timeout", err.kind)
    assert.matches("within 1 s", err.message)
    assert.matches(srv.url("hang"), err.message, 1, true)
    assert.is_true(took >= 1 and took < 2.5, "took " .. took)
  end)

  it("starts a new session once on 404 and retries, recording the event", function()
    local before = srv.stats().initialize
    local c = connect("expire")
    local sid = c.session_id
    assert.text_equals(c:call_tool("echo", { message = "1" }), "Echo: 1") -- then the server forgets it
    assert.text_equals(c:call_tool("echo", { message = "2" }), "Echo: 2")
    assert.are.equal(before + 2, srv.stats().initialize)
    assert.are_not.equal(sid, c.session_id)
    assert.are.equal("mcptest/sessionExpired", c.events[1].method)
    assert.is_true(c.events[1].params.reinitialized)
    assert.are.equal("mcptest/sessionRestarted", c.events[2].method)
    c:close()
  end)

  it("makes a 404 an error with reinitialize = false", function()
    local c = connect("expire", { reinitialize = false })
    c:call_tool("echo", { message = "1" })
    local err = H.error_of(c.call_tool, c, "echo", { message = "2" })
    assert.are.equal(404, err.http_status)
    assert.matches("session expired", err.message)
    assert.matches("reinitialize = false", err.message)
    assert.are.equal(false, c.events[1].params.reinitialized)
    c:close()
  end)

  it("reports a wrong content type", function()
    local err = call_error("ctype")
    assert.are.equal("protocol", err.kind)
    assert.matches("text/html", err.message)
    assert.matches("application/json or text/event-stream", err.message, 1, true)
  end)

  it("reports a 500 with the server's message", function()
    local err = call_error("500")
    assert.are.equal(500, err.http_status)
    assert.matches("HTTP 500", err.message)
    assert.matches("database is on fire", err.message)
    assert.matches(srv.url("500"), err.message, 1, true)
  end)

  it("does not follow redirects and says where it was sent", function()
    local err = call_error("redirect")
    assert.are.equal(302, err.http_status)
    assert.matches("redirect to /elsewhere/mcp", err.message, 1, true)
  end)

  it("reports a response whose id matches no request", function()
    local err = call_error("unmatched")
    assert.are.equal("protocol", err.kind)
    assert.matches("id 9999", err.message)
    assert.matches("matches no request", err.message)
  end)

  it("answers a server request that arrives on the GET stream, by POST", function()
    local c = connect("sse", { on = { ["roots/list"] = function()
      return { roots = { { uri = "file:///srv/root" } } }
    end } })
    -- the GET stream opens after initialize; give it a moment
    local deadline = sys.now() + 3
    while not (c.transport.get and c.transport.get.status) and sys.now() < deadline do
      require("mcptest.loop").step(0.05)
    end
    assert.text_equals(c:call_tool("ask-roots", {}), "roots: file:///srv/root")
    -- SSE replies with a priming event, a notification, then the result
    assert.text_equals(c:call_tool("echo", { message = "s" }), "Echo: s")
    assert.are.equal("notifications/message", c.notifications[#c.notifications].method)
    c:close()
  end)

  it("is quiet when there is no GET stream (405)", function()
    local c = connect("ok")
    c:ping()
    local deadline = sys.now() + 3
    while not c.transport.no_get and sys.now() < deadline do require("mcptest.loop").step(0.05) end
    assert.is_true(c.transport.no_get)
    assert.is_nil(c.transport.get)
    c:close()
  end)

  it("turns 401 into an auth error with the parsed challenge, never falling back", function()
    local err = H.error_of(connect, "auth")
    assert.are.equal("auth", err.kind)
    assert.are.equal(401, err.http_status)
    assert.are.equal(srv.url("auth"), err.url)
    assert.are.equal("Bearer", err.www_authenticate.scheme)
    assert.are.equal("mcp", err.www_authenticate.params.realm)
    assert.are.equal("mcp:read", err.www_authenticate.params.scope)
    assert.matches('^auth failed: HTTP 401 from ' .. srv.url("auth"):gsub("%p", "%%%0")
      .. ', server advertises Bearer %(realm="mcp"', err.message)
    assert.matches("no credentials were supplied", err.message)
  end)

  it("sends headers with ${VAR} expansion; a Bearer with an unset variable is dropped", function()
    sys.setenv("MCPTEST_HTTP_SPEC_VALUE", "expanded-value")
    sys.setenv("MCPTEST_HTTP_SPEC_EMPTY", nil)
    local c = connect("headers", { headers = { ["X-Custom"] = "v=${MCPTEST_HTTP_SPEC_VALUE}",
                                               Authorization = "Bearer ${MCPTEST_HTTP_SPEC_EMPTY}" } })
    local got = mcp.json.decode(mcp.text(c:call_tool("headers", {})))
    assert.are.equal("v=expanded-value", got["x-custom"])
    assert.is_nil(got.authorization)
    assert.are.equal("2025-11-25", got["mcp-protocol-version"])
    assert.is_string(got["mcp-session-id"])
    c:close()
  end)

  it("authenticates with a token from bearer_token_env", function()
    sys.setenv("MCPTEST_HTTP_SPEC_TOKEN", "good-token")
    local c = connect("auth", { auth = { bearer_token_env = "MCPTEST_HTTP_SPEC_TOKEN" } })
    assert.text_equals(c:call_tool("echo", { message = "in" }), "Echo: in")
    c:close()
    sys.setenv("MCPTEST_HTTP_SPEC_TOKEN", "bad-token")
    local err = H.error_of(connect, "auth", { auth = { bearer_token_env = "MCPTEST_HTTP_SPEC_TOKEN" } })
    assert.matches("the token from env var `MCPTEST_HTTP_SPEC_TOKEN` was rejected", err.message, 1, true)
    assert.is_nil(tostring(err):find("bad-token", 1, true))
  end)

  it("falls back to the legacy transport on 405 to the initialize POST", function()
    local before = srv.stats().legacyPosts
    local c = mcp.connect{ url = srv.base .. "/legacy/mcp", timeout = 3 }
    assert.are.equal("sse", c.transport.kind)
    assert.text_equals(c:call_tool("echo", { message = "old" }), "Echo: old")
    assert.is_true(srv.stats().legacyPosts >= before + 3)
    c:close()
  end)

  it("reports a refused connection naming the URL", function()
    local port = H.free_port()
    local url = "http://127.0.0.1:" .. port .. "/mcp"
    local err = H.error_of(mcp.connect, { url = url, timeout = 2 })
    assert.are.equal("transport", err.kind)
    assert.matches(url, err.message, 1, true)
    assert.matches("Couldn't connect", err.message)
  end)

  it("mcp.http.request returns status, lower-case headers and body", function()
    local r = assert(mcp.http.request{ url = srv.url("ok"), method = "POST",
      headers = { ["Content-Type"] = "application/json", Accept = "application/json, text/event-stream" },
      body = '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}', timeout = 5 })
    assert.are.equal(200, r.status)
    assert.is_string(r.headers["mcp-session-id"])
    assert.are.equal("application/json", r.headers["content-type"])
    assert.are.equal("fault-server", mcp.json.decode(r.body).result.serverInfo.name)
    local r401 = assert(mcp.http.request{ url = srv.url("auth"), timeout = 5 })
    assert.are.equal(401, r401.status)
    assert.matches('realm="mcp"', r401.headers["www-authenticate"], 1, true)
    local none, err = mcp.http.request{ url = "http://127.0.0.1:" .. H.free_port() .. "/", timeout = 2 }
    assert.is_nil(none)
    assert.are.equal("transport", err.kind)
  end)
end)

describe("TLS", function()
  local cert, srv

  setup(function()
    cert = H.make_cert()
    srv = H.start_fault(cert)
  end)
  teardown(function()
    if srv then srv.stop() end
    if cert then cert.cleanup() end
  end)

  it("refuses a self-signed certificate by default, saying so", function()
    local err = H.error_of(mcp.connect, { url = srv.url("ok"), timeout = 3 })
    assert.are.equal("transport", err.kind)
    assert.matches("TLS certificate verification failed", err.message)
    assert.matches("self%-signed", err.message) -- curl's own words
    assert.matches("--cacert", err.message, 1, true)
  end)

  it("accepts it with its CA file", function()
    local c = mcp.connect{ url = srv.url("ok"), timeout = 3, tls = { ca_file = cert.cert } }
    assert.text_equals(c:call_tool("echo", { message = "tls" }), "Echo: tls")
    c:close()
  end)

  it("accepts it with insecure = true", function()
    local c = mcp.connect{ url = srv.url("ok"), timeout = 3, tls = { insecure = true } }
    assert.text_equals(c:call_tool("echo", { message = "insecure" }), "Echo: insecure")
    c:close()
  end)
end)
