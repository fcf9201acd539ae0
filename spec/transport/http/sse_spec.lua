-- Unit specs: the incremental SSE parser, header handling, WWW-Authenticate
-- parsing and legacy endpoint resolution (no server needed).
local sse = require("mcptest.transport.sse")
local http = require("mcptest.transport.curl")
local legacy = require("mcptest.transport.legacy_sse")
local sys = require("mcptest.core.sys")

-- Feed chunks, collect { data, event, id } per dispatched event.
local function parse(chunks)
  local got = {}
  local p = sse.new(function(data, ev, id) got[#got + 1] = { data = data, event = ev, id = id } end)
  for _, c in ipairs(chunks) do p:feed(c) end
  return got, p
end

-- Every way of cutting s into two or three pieces gives the same events.
local function all_splits(s)
  local whole = parse({ s })
  for i = 1, #s - 1 do
    assert.are.same(whole, (parse({ s:sub(1, i), s:sub(i + 1) })))
    for j = i + 1, #s - 1, 7 do
      assert.are.same(whole, (parse({ s:sub(1, i), s:sub(i + 1, j), s:sub(j + 1) })))
    end
  end
  return whole
end

describe("SSE parser", function()
  it("dispatches events on blank lines, with type and id", function()
    local got, p = parse({ "event: message\nid: 7\ndata: {\"a\":1}\n\n" })
    assert.are.same({ { data = '{"a":1}', event = "message", id = "7" } }, got)
    assert.are.equal("7", p.last_id)
  end)

  it("defaults the type to message and joins multi-line data with LF", function()
    local got = parse({ "data: one\ndata: two\ndata:three\n\n" })
    assert.are.same({ { data = "one\ntwo\nthree", event = "message" } }, got)
  end)

  it("skips comments and ignores empty (priming) events, keeping their id", function()
    local got, p = parse({ ": keep-alive\n\nid: prime-1\ndata:\n\n: another\n" })
    assert.are.same({}, got)
    assert.are.equal("prime-1", p.last_id)
  end)

  it("reads retry in milliseconds, only when all digits", function()
    local _, p = parse({ "retry: 1500\n\n" })
    assert.are.equal(1500, p.retry)
    local _, q = parse({ "retry: 15x\n\nretry: -3\n\n" })
    assert.is_nil(q.retry)
  end)

  it("handles CRLF and lone CR line ends, split anywhere", function()
    local crlf = all_splits("event: message\r\nid: a\r\ndata: x\r\ndata: y\r\n\r\ndata: z\r\n\r\n")
    assert.are.same({ { data = "x\ny", event = "message", id = "a" }, { data = "z", event = "message", id = "a" } }, crlf)
    local cr = all_splits("data: x\rdata: y\r\rdata: z\r\r")
    assert.are.same({ { data = "x\ny", event = "message" }, { data = "z", event = "message" } }, cr)
  end)

  -- found by spec/fuzz/fuzz_sse.c: the empty chunk forgot the pending CR,
  -- so its LF ended a second, blank line and dispatched the event early
  it("keeps a CR's pairing with its LF across an empty chunk", function()
    local s = "data: one\r\ndata: two\r\n\r\n"
    local whole = parse({ s })
    assert.are.same({ { data = "one\ntwo", event = "message" } }, whole)
    for i = 1, #s - 1 do
      if s:sub(i, i) == "\r" then
        assert.are.same(whole, (parse({ s:sub(1, i), "", s:sub(i + 1) })), "cut after byte " .. i)
        assert.are.same(whole, (parse({ s:sub(1, i), "", "", s:sub(i + 1) })), "cut after byte " .. i)
      end
    end
  end)

  it("gives the same events however LF streams are chunked", function()
    local s = "id: 1\nevent: message\ndata: {\"jsonrpc\":\"2.0\"}\n\n: c\nevent: endpoint\ndata: /m?x=1\n\n"
    local got = all_splits(s)
    assert.are.equal(2, #got)
    assert.are.equal("endpoint", got[2].event)
  end)

  it("strips only one space after the colon; a line without colon is a field name", function()
    local got = parse({ "data:  two spaces\ndata\n\n" })
    assert.are.same({ { data = " two spaces\n", event = "message" } }, got)
  end)

  it("does not take other four-letter fields for data", function()
    local got = parse({ "dada: x\ndata: y\n\n" })
    assert.are.same({ { data = "y", event = "message" } }, got)
  end)

  it("ignores an id holding NUL and unknown fields", function()
    local got, p = parse({ "id: ok\n\nid: bad\0id\nfoo: bar\ndata: d\n\n" })
    assert.are.equal("ok", p.last_id)
    assert.are.equal("d", got[1].data)
  end)

  it("parses a 16 MB event chunked like curl delivers it in linear time", function()
    local payload = string.rep("x", 16 * 1024 * 1024)
    local stream = "event: message\ndata: " .. payload .. "\n\n"
    local got = {}
    local p = sse.new(function(data) got[#got + 1] = #data end)
    local t0 = sys.now()
    for i = 1, #stream, 16384 do assert(p:feed(stream:sub(i, i + 16383))) end
    local took = sys.now() - t0
    assert.are.same({ #payload }, got)
    -- a regression guard, not a benchmark: the quadratic parser took minutes
    assert.is_true(took < 2, "took " .. took .. " s")
    -- many short data lines, one per chunk, are joined once too
    local n, lines = 200000, {}
    for i = 1, n do lines[i] = "data: " .. i .. "\n" end
    local q = sse.new(function(data) got[#got + 1] = data end)
    t0 = sys.now()
    for i = 1, n do assert(q:feed(lines[i])) end
    assert(q:feed("\n"))
    assert.is_true(sys.now() - t0 < 2, "took " .. (sys.now() - t0) .. " s")
    local last = got[#got]
    assert.are.equal(n, select(2, last:gsub("\n", "")) + 1)
    assert.are.equal("1\n2\n3", last:sub(1, 5))
  end)

  it("stops with an error when an event outgrows max_event", function()
    local got = {}
    local p = sse.new(function(data) got[#got + 1] = data end, nil, 100)
    assert.is_true(p:feed("data: small\n\n"))
    assert.are.same({ "small" }, got)
    -- one unterminated line over the limit, across chunks
    assert.is_true(p:feed("data: " .. string.rep("a", 50)))
    local ok, err = p:feed(string.rep("b", 60))
    assert.is_nil(ok)
    assert.matches("larger than 100 bytes", err, 1, true)
    -- and every later feed says so again
    assert.is_nil((p:feed("\n\n")))
    assert.are.equal(1, #got)
    -- many data lines whose sum is over the limit
    local q = sse.new(function(data) got[#got + 1] = data end, nil, 100)
    local ok2, err2
    for _ = 1, 20 do
      ok2, err2 = q:feed("data: 0123456789\n")
      if not ok2 then break end
    end
    assert.is_nil(ok2)
    assert.matches("max_event_size", err2, 1, true)
    assert.are.equal(64 * 1024 * 1024, sse.MAX_EVENT)
  end)

  it("finish() says whether the stream was cut inside an event", function()
    local _, p = parse({ "data: {\"partial\":" })
    assert.is_true(p:finish())
    local _, q = parse({ "data: x\n\n" })
    assert.is_false(q:finish())
    local _, r = parse({ "event: message\ndata: x\n" })
    assert.is_true(r:finish())
  end)
end)

describe("HTTP headers", function()
  it("expands ${VAR} and drops a Bearer whose variable is unset or empty", function()
    sys.setenv("MCPTEST_SPEC_HDR", "abc")
    sys.setenv("MCPTEST_SPEC_EMPTY", "")
    sys.setenv("MCPTEST_SPEC_UNSET", nil)
    local lines, dropped = http.header_lines({
      ["X-A"] = "${MCPTEST_SPEC_HDR}-1",
      Authorization = "Bearer ${MCPTEST_SPEC_EMPTY}",
      ["X-Unset"] = "${MCPTEST_SPEC_UNSET}",
      "X-Line: plain",
    })
    assert.are.same({ "X-A: abc-1", "X-Line: plain" }, lines)
    table.sort(dropped)
    assert.are.same({ "Authorization", "X-Unset" }, dropped)
  end)

  it("refuses header values with line breaks", function()
    sys.setenv("MCPTEST_SPEC_NL", "a\r\nInjected: yes")
    assert.has_error(function() http.header_lines({ ["X-A"] = "${MCPTEST_SPEC_NL}" }) end)
  end)

  it("redacts secrets for logs", function()
    assert.are.equal("Bearer <redacted>", http.redact_header("Authorization", "Bearer abc.def"))
    assert.are.equal("<redacted>", http.redact_header("Mcp-Session-Id", "123"))
    assert.are.equal("<redacted>", http.redact_header("X-Api-Key", "k"))
    assert.are.equal("application/json", http.redact_header("Content-Type", "application/json"))
    -- any other header: its value is the user's, and may be a credential
    assert.are.equal("<redacted>", http.redact_header("X-Auth", "SECRET"))
    assert.are.equal("<redacted>", http.redact_header("X-Custom", "Bearer SECRET"))
    assert.are.equal("<redacted>", http.redact_header("Authorization", "sk-abc SECRET"))
    assert.are.equal("2025-11-25", http.redact_header("MCP-Protocol-Version", "2025-11-25"))
    assert.are.equal("e-7", http.redact_header("Last-Event-ID", "e-7"))
  end)

  it("never echoes a malformed header line whole in the usage error", function()
    local ok, err = pcall(http.header_lines, { "Authorization Bearer sk-live-123" })
    assert.is_false(ok)
    assert.are.equal("usage", err.kind)
    assert.is_nil(tostring(err):find("sk-live", 1, true), tostring(err))
    assert.matches('"Authorization"', err.message, 1, true)
    ok, err = pcall(http.header_lines, { ["X-Key sk-live-456"] = "v" })
    assert.is_false(ok)
    assert.is_nil(tostring(err):find("sk-live", 1, true), tostring(err))
    assert.matches('"X-Key"', err.message, 1, true)
  end)

  it("parses WWW-Authenticate challenges", function()
    local ch = http.parse_www_authenticate(
      'Bearer realm="mcp", error="invalid_token", scope="a b", resource_metadata="https://x/.well-known/y"')
    assert.are.equal("Bearer", ch.scheme)
    assert.are.same({ realm = "mcp", error = "invalid_token", scope = "a b",
                      resource_metadata = "https://x/.well-known/y" }, ch.params)
    assert.are.equal('Bearer (realm="mcp", error="invalid_token", resource_metadata="https://x/.well-known/y", scope="a b")',
      http.describe_challenge(ch))
    local noreal = http.parse_www_authenticate("Bearer error=invalid_token, Basic realm=x")
    assert.are.same({ error = "invalid_token" }, noreal.params)
    assert.matches("no realm", http.describe_challenge(noreal))
    assert.is_nil(http.parse_www_authenticate(nil))
  end)
end)

describe("legacy endpoint resolution", function()
  it("resolves absolute, root-relative and relative endpoints", function()
    assert.are.equal("http://h:1/messages?s=1", legacy.resolve("http://h:1/sse", "/messages?s=1"))
    assert.are.equal("http://h:1/a/messages", legacy.resolve("http://h:1/a/sse?x=1", "messages"))
    assert.are.equal("https://o/m", legacy.resolve("http://h:1/sse", "https://o/m"))
  end)
end)

describe("SSE parser (C) against the Lua reference it replaced", function()
  local reference = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "sse_reference.lua")

  local function run(new, chunks, max)
    local got = {}
    local p = new(function(data, ev, id) got[#got + 1] = { data, ev, id or false } end, nil, max)
    local fails = {}
    for _, c in ipairs(chunks) do
      local ok, err = p:feed(c)
      fails[#fails + 1] = ok and "ok" or (type(err) == "table" and err.message or err) -- C: an Error; reference: a string
    end
    local cut = p:finish()
    return { got, fails, p.last_id or false, p.retry or false, cut }
  end

  it("agrees on 3000 random streams, randomly chunked", function()
    local rnd = 20261122
    local function rand(n) rnd = (rnd * 1103515245 + 12345) % 2147483648; return (rnd >> 16) % n end
    local pieces = { "data: x", "data:", "data:  y", "event: e", "event:", "id: 1", "id:",
                     "id: a\0b", "retry: 250", "retry: x1", ": c", "foo: bar", "data", "", "dat", "d" }
    local ends = { "\n", "\r\n", "\r" }
    for _ = 1, 3000 do
      local parts = {}
      for _ = 1, rand(12) + 1 do
        parts[#parts + 1] = pieces[rand(#pieces) + 1] .. ends[rand(3) + 1]
      end
      if rand(2) == 0 then parts[#parts + 1] = pieces[rand(#pieces) + 1] end -- unterminated end
      local s = table.concat(parts)
      local chunks, i = {}, 1
      while i <= #s do
        local len = rand(6) + 1
        chunks[#chunks + 1] = s:sub(i, i + len - 1)
        i = i + len
      end
      local max = rand(3) == 0 and 8 or nil
      assert.are.same(run(reference.new, chunks, max), run(sse.new, chunks, max),
                      "stream " .. string.format("%q", s))
    end
  end)
end)
