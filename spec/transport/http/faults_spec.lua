-- Bad and unusual servers (spec/transport/http/fault_server.js): every failure is a
-- clear mcptest.Error naming the URL and the cause, within the request
-- timeout; resumption, session expiry, the GET stream, headers, legacy.
local mcp = require("mcptest")
local sys = require("mcptest.core.sys")
local H = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "helpers.lua")

-- The fault server both blocks below use, and a connection to one of its
-- scenarios (timeout 3 s unless extra says otherwise).
local srv
local function connect(scenario, extra)
  local opts = { url = srv.url(scenario), timeout = 3 }
  for k, v in pairs(extra or {}) do opts[k] = v end
  return mcp.connect(opts)
end

describe("Streamable HTTP against a fault server", function()
  setup(function() srv = H.start_fault() end)
  teardown(function() if srv then srv.stop(); srv = nil end end)

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

  it("never shows a URL's password or query in errors, events or verbose output", function()
    local port = H.free_port()
    local err = H.error_of(mcp.connect, { url = "http://alice:s3cretPW@127.0.0.1:" .. port .. "/mcp?api_key=K3Y",
                                          timeout = 2 })
    local shown = tostring(err) .. " " .. tostring(err.url)
    assert.matches("127.0.0.1:" .. port, shown, 1, true)
    assert.is_nil(shown:find("s3cretPW", 1, true), shown)
    assert.is_nil(shown:find("K3Y", 1, true), shown)
    -- a live session, verbose: the URL in every logged line is the shown one
    local log = os.tmpname()
    local script = os.tmpname()
    local f = assert(io.open(script, "w"))
    f:write(string.format([[local mcp = require("mcptest")
local c = mcp.connect{ url = %q, timeout = 5, verbose = true }
c:ping()
for _, e in ipairs(c.events or {}) do io.stderr:write(require("mcptest.json").encode(e), "\n") end
c:close()
]], (srv.url("ok"):gsub("^http://", "http://alice:s3cretPW@")) .. "?api_key=K3Y"))
    f:close()
    local bin = os.getenv("MCPTEST_BIN") or "build/mcptest"
    os.execute(string.format("%s %s >%s 2>&1", bin, script, log))
    local out = io.open(log):read("a")
    os.remove(log); os.remove(script)
    assert.matches("POST", out, 1, true)
    assert.is_nil(out:find("s3cretPW", 1, true), out)
    assert.is_nil(out:find("K3Y", 1, true), out)
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

describe("Streamable HTTP review fixes", function()
  setup(function() srv = H.start_fault() end)
  teardown(function() if srv then srv.stop(); srv = nil end end)
  local core = require("mcptest.core.http")
  local loop = require("mcptest.loop")

  it("leaves the loop once HTTP is idle, so a stdio client alone is the only source polled", function()
    assert(mcp.http.request{ url = srv.url("ok"), timeout = 5 })
    local c = mcp.connect{ command = { "node", H.SRC .. "/spec/data/stdio_server.js" } }
    assert.are.same({ c.transport }, loop.sources())
    assert.text_equals(c:call_tool("echo", { message = "x" }), "x")
    c:close()
  end)
  local errors = require("mcptest.errors")
  local BIN = os.getenv("MCPTEST_BIN") or (H.SRC .. "/build/mcptest")

  -- step the loop until cond() holds or seconds pass; returns cond()
  local function wait_for(cond, seconds)
    local deadline = sys.now() + (seconds or 3)
    while not cond() and sys.now() < deadline do loop.step(0.05) end
    return cond()
  end

  local function open_fds()
    local p = io.popen("ls /proc/" .. sys.pid() .. "/fd | wc -l")
    local n = tonumber(p:read("*a"))
    p:close()
    return n
  end

  -- run fn with mcptest.http.start replaced by a version that fails GETs
  local function with_failing_get(fn)
    local http = require("mcptest.transport.curl")
    local real = http.start
    http.start = function(o, on)
      if o.method == "GET" then return nil, errors.new("transport", "injected: no GET today") end
      return real(o, on)
    end
    local ok, err = pcall(fn)
    http.start = real
    if not ok then error(err, 0) end
  end

  it("closes answered SSE streams the server keeps open, and every stream on close", function()
    local fd0 = open_fds()
    local c = connect("linger")
    for i = 1, 10 do assert.text_equals(c:call_tool("echo", { message = tostring(i) }), "Echo: " .. i) end
    -- a few may linger for a moment, never one per call
    assert.is_true(core.active() <= 5, "open transfers after 10 calls: " .. core.active())
    assert.is_true(wait_for(function() return core.active() == 0 end, 2),
      "answered streams still open: " .. core.active())
    assert.is_true(wait_for(function() return srv.stats().lingerOpen == 0 end, 2))
    for i = 1, 3 do c:call_tool("echo", { message = tostring(i) }) end
    c:close() -- at once, while streams linger
    assert.are.equal(0, core.active())
    assert.is_true(wait_for(function() return srv.stats().lingerOpen == 0 end, 2),
      "the server still has " .. srv.stats().lingerOpen .. " streams open")
    assert.is_true(open_fds() <= fd0 + 2, "descriptors: " .. fd0 .. " before, " .. open_fds() .. " after")
  end)

  it("takes a multi-MB SSE event fast, and refuses one over max_event_size", function()
    local c = connect("huge", { timeout = 10 })
    local t0 = sys.now()
    local r = c:call_tool("echo", { size = 8 * 1024 * 1024 })
    assert.are.equal(8 * 1024 * 1024, #mcp.text(r))
    assert.is_true(sys.now() - t0 < 3, "an 8 MB event took " .. (sys.now() - t0) .. " s")
    c:close()
    local small = connect("huge", { max_event_size = 4096 })
    assert.are.equal(1000, #mcp.text(small:call_tool("echo", { size = 1000 })))
    local err = H.error_of(small.call_tool, small, "echo", { size = 10000 })
    assert.are.equal("protocol", err.kind)
    assert.matches("larger than 4096 bytes", err.message, 1, true)
    assert.matches("max_event_size", err.message, 1, true)
    assert.matches(srv.url("huge"), err.message, 1, true)
    assert.are.equal(10, #mcp.text(small:call_tool("echo", { size = 10 }))) -- the session goes on
    small:close()
  end)

  it("redacts in --verbose output every header value the user supplied", function()
    local env = "MCPTEST_SPEC_SECRET=secret-from-env MCPTEST_SPEC_TOKEN=secret-token "
    local cmd = env .. "'" .. BIN .. "' tools --url " .. srv.url("headers")
      .. " --header 'X-Auth: SECRET-PLAIN' --header 'X-Custom: v=${MCPTEST_SPEC_SECRET}'"
      .. " --header 'Authorization: Bearer secret-header-token' --verbose 2>&1"
    local p = io.popen(cmd)
    local out = p:read("*a")
    p:close()
    assert.matches("X-Auth: <redacted>", out, 1, true)
    assert.matches("X-Custom: <redacted>", out, 1, true)
    assert.matches("Authorization: Bearer <redacted>", out, 1, true)
    assert.matches("Accept: application/json, text/event-stream", out, 1, true) -- mcptest's own
    for _, secret in ipairs({ "SECRET-PLAIN", "secret-from-env", "secret-header-token" }) do
      assert.is_nil(out:find(secret, 1, true), secret .. " appears in:\n" .. out)
    end
    p = io.popen(env .. "'" .. BIN .. "' tools --url " .. srv.url("auth")
      .. " --bearer-token-env MCPTEST_SPEC_TOKEN --verbose 2>&1")
    out = p:read("*a")
    p:close()
    assert.matches("Authorization: Bearer <redacted>", out, 1, true)
    assert.is_nil(out:find("secret-token", 1, true), out)
  end)

  it("hides the legacy endpoint's session id in failed POST messages", function()
    for _, case in ipairs({ { "legacy500", 500, "transport" }, { "legacy401", 401, "auth" } }) do
      local c = mcp.connect{ url = srv.base .. "/" .. case[1] .. "/mcp", timeout = 3 }
      local err = H.error_of(c.call_tool, c, "echo", { message = "x" })
      assert.are.equal(case[2], err.http_status)
      assert.are.equal(case[3], err.kind)
      assert.matches("/" .. case[1] .. "/messages?...", err.message, 1, true)
      for _, text in ipairs({ tostring(err), err.message, tostring(err.url) }) do
        assert.is_nil(text:find("sessionId", 1, true), text)
      end
      c:close()
    end
  end)

  it("fails the legacy fallback at once when its GET cannot start", function()
    with_failing_get(function()
      local t0 = sys.now()
      local err = H.error_of(mcp.connect, { url = srv.base .. "/legacy/mcp", timeout = 5 })
      assert.is_true(sys.now() - t0 < 2, "took " .. (sys.now() - t0) .. " s")
      assert.are.equal("transport", err.kind)
      assert.matches("legacy HTTP+SSE fallback failed too", err.message, 1, true)
      assert.matches("injected: no GET today", err.message, 1, true)
    end)
  end)

  it("gives up the GET stream when it cannot start, keeping the session", function()
    with_failing_get(function()
      local c = connect("sse")
      assert.is_table(c.transport.get)
      assert.is_table(c.transport.get.start_error)
      assert.are.same({}, c:ping())
      assert.is_true(wait_for(function() return c.transport.get == nil end, 4))
      c:close()
    end)
  end)

  it("fails the connect when notifications/initialized is refused", function()
    local err = H.error_of(connect, "notifyfail")
    assert.are.equal("transport", err.kind)
    assert.are.equal(500, err.http_status)
    assert.matches("refused notifications/initialized", err.message, 1, true)
    assert.matches("notifications are broken here", err.message, 1, true)
  end)

  it("records a refused notification in c.events", function()
    local c = connect("notify400")
    c:notify("notifications/roots/list_changed")
    assert.is_true(wait_for(function() return #c.events > 0 end, 3))
    local ev = c.events[1]
    assert.are.equal("mcptest/messageRejected", ev.method)
    assert.are.equal("notifications/roots/list_changed", ev.params.method)
    assert.are.equal(400, ev.params.http_status)
    assert.matches("HTTP 400", ev.params.message, 1, true)
    assert.are.same({}, c:ping())
    c:close()
  end)

  it("opens the GET stream again in a new session after a 404 on the old one's GET", function()
    local c = connect("expireget")
    assert.is_true(wait_for(function() return c.transport.get and c.transport.get.status == 200 end))
    local sid = c.session_id
    c:call_tool("echo", { message = "expire" }) -- the server forgets the session, ends the GET
    assert.is_true(wait_for(function() return c.transport.no_get end), "the GET reconnect got no 404")
    assert.text_equals(c:call_tool("echo", { message = "again" }), "Echo: again") -- 404: new session
    assert.are_not.equal(sid, c.session_id)
    assert.is_true(wait_for(function() return c.transport.get and c.transport.get.status == 200 end),
      "no GET stream in the new session")
    local st = srv.stats()
    assert.are.equal(c.session_id, st.getSessions[#st.getSessions])
    c:close()
  end)

  it("reconnects a GET stream that drops, with Last-Event-ID, after the server's retry", function()
    local c = connect("getdrop")
    local function got(text)
      for _, n in ipairs(c.notifications) do
        if n.method == "notifications/message" and n.params.data == text then return true end
      end
      return false
    end
    assert.is_true(wait_for(function() return got("first") end))
    assert.is_true(wait_for(function() return got("after g-1") end), "no reconnect with Last-Event-ID")
    assert.are.same({ "g-1" }, srv.stats().getLastEventIds)
    c:close()
  end)

  it("aborts the POST of a request that timed out (notifications/cancelled sent)", function()
    local c = connect("hang", { timeout = 1 })
    local err = H.error_of(c.call_tool, c, "echo", { message = "x" })
    assert.are.equal("timeout", err.kind)
    assert.is_true(wait_for(function() return core.active() == 0 end, 2), "transfers: " .. core.active())
    assert.is_true(wait_for(function() return srv.stats().hungOpen == 0 end, 2), "the server still holds it")
    c:close()
  end)

  it("reads a response head whose last line is shorter than \"HTTP/\"", function()
    local r = assert(mcp.http.request{ url = srv.base .. "/rawhead", timeout = 5 })
    assert.are.equal(200, r.status)
    assert.are.equal("", r.headers.a)
    assert.are.equal("ok", r.body)
  end)

  it("sends each request to its own URL, past the 16 URLs kept parsed, and reports a malformed one", function()
    -- the core keeps up to 16 URLs parsed; the 17th on is parsed by curl per request
    for i = 1, 40 do
      local scenario = i % 3 == 0 and "auth" or "ok"
      local r = assert(mcp.http.request{ url = srv.url(scenario) .. "?n=" .. (i % 20), timeout = 5 })
      assert.are.equal(scenario == "auth" and 401 or 405, r.status, "request " .. i) -- (GET on ok: 405)
    end
    local none, err = mcp.http.request{ url = "http://[::1/", timeout = 2 }
    assert.is_nil(none)
    assert.are.equal("transport", err.kind)
    assert.matches("URL", err.message, 1, true)
  end)

  it("sends a header_set's lines, and a request keeps its set alive after the script drops it", function()
    local body = '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25",'
      .. '"capabilities":{},"clientInfo":{"name":"t","version":"1"}}}'
    local function post(headers)
      local status, done
      local req = assert(require("mcptest.transport.curl").start({ url = srv.url("auth"), method = "POST",
        body = body, timeout = 5, headers = headers }, function(r, _, fin) if fin then status, done = r:status(), true end end))
      headers = nil -- (the only reference left is the request's)
      collectgarbage("collect"); collectgarbage("collect")
      assert.is_true(wait_for(function() return done end, 5))
      req:abort()
      return status
    end
    local lines = { "Content-Type: application/json", "Accept: application/json, text/event-stream" }
    assert.are.equal(401, post(core.header_set(lines)))
    lines[#lines + 1] = "Authorization: Bearer good-token"
    assert.are.equal(200, post(core.header_set(lines)))
    assert.are.equal(200, post(lines)) -- a plain list of lines works the same
    assert.has_error(function() core.header_set("Accept: x") end)
  end)

  it("req:info() tells a JSON body from an event stream by the Content-Type, as the MCP transport reads it", function()
    local function kind(ct)
      local got, done
      assert(require("mcptest.transport.curl").start({ url = srv.base .. "/ctype?t=" .. ct:gsub("[^%w]", function(ch)
        return string.format("%%%02X", ch:byte()) end), timeout = 5 }, function(r, _, fin)
        if fin then got, done = select(3, r:info()) or "none", true end end))
      assert.is_true(wait_for(function() return done end, 5))
      return got
    end
    assert.are.equal("json", kind("application/json"))
    assert.are.equal("json", kind("Application/JSON; charset=utf-8"))
    assert.are.equal("json", kind("application/vnd.api+json"))
    assert.are.equal("json", kind("application/problem.v2-x+json; q=1"))
    assert.are.equal("sse", kind("text/event-stream"))
    assert.are.equal("sse", kind("TEXT/Event-Stream;charset=utf-8"))
    assert.are.equal("none", kind("application/+json"))
    assert.are.equal("none", kind("application/x+y+json"))
    assert.are.equal("none", kind("text/html"))
    assert.are.equal("none", kind("application/xml"))
    assert.are.equal("none", kind("text/event"))
  end)

  it("refuses options of the wrong type in core.http.request", function()
    local on = function() end
    assert.has_error(function() core.request{ url = 8080, on = on } end,
      "http.request: url must be a string, not a number")
    assert.has_error(function() core.request{ url = srv.url("ok"), method = 5, on = on } end)
    assert.has_error(function() core.request{ url = srv.url("ok"), ca_file = 1, on = on } end)
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

describe("TLS flags of the verbs", function()
  local cert, srv
  local BIN = os.getenv("MCPTEST_BIN") or (H.SRC .. "/build/mcptest")
  setup(function()
    cert = H.make_cert()
    srv = H.start_fault(cert)
  end)
  teardown(function()
    if srv then srv.stop() end
    if cert then cert.cleanup() end
  end)

  local function tools(flags)
    local err = os.tmpname()
    local p = io.popen("'" .. BIN .. "' tools --url " .. srv.url("ok") .. " --timeout 3 " .. flags .. " 2>" .. err)
    local out = p:read("a")
    local _, _, code = p:close()
    local f = io.open(err); local e = f:read("a"); f:close(); os.remove(err)
    return code, out, e
  end

  it("refuses the self-signed server, trusts it with --cacert, skips checks with --insecure (warning)", function()
    local code, _, err = tools("")
    assert.are.equal(3, code)
    assert.matches("TLS certificate verification failed", err, 1, true)
    local out
    code, out = tools("--cacert '" .. cert.cert .. "'")
    assert.are.equal(0, code)
    assert.matches("echo", out, 1, true)
    code, out, err = tools("--insecure")
    assert.are.equal(0, code)
    assert.matches("echo", out, 1, true)
    assert.matches("insecure", err:lower(), 1, true)
  end)
end)
