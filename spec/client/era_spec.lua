-- The two protocol eras (2026-07-28 "modern", 2025-11-25 and older
-- "legacy"): era detection against dual, modern-only and legacy-only
-- fixtures over HTTP and stdio (mcptest serve --stdio), the client tests
-- that apply to both eras run once per era, input_required rounds and
-- resultType against hand-written bad modern servers, and
-- server-everything (2025 era) picked as legacy by `auto`.
local mcp = require("mcptest")
local json = require("mcptest.json")
local sys = require("mcptest.core.sys")
local server = require("mcptest.server")

local SRC = os.getenv("MCPTEST_SRC") or "."
local BIN = os.getenv("MCPTEST_BIN") or "mcptest"
local EVERYTHING = SRC .. "/.deps/npm/node_modules/@modelcontextprotocol/server-everything/dist/index.js"
local MODERN, LEGACY = "2026-07-28", "2025-11-25"

local HANDLERS = {
  ["sampling/createMessage"] = function(p)
    return { role = "assistant", model = "test-model",
             content = { type = "text", text = "sampled " .. p.messages[1].content.text } }
  end,
  ["elicitation/create"] = function() return { action = "accept", content = { name = "Ada" } } end,
}

-- the fixtures serve bad_header (an invalid x-mcp-header), which a modern
-- client must leave out
local fixtures = {}
local function fixture(eras)
  if not fixtures[eras] then fixtures[eras] = mcp.fixture.start{ eras = eras, bad_header_tool = true } end
  return fixtures[eras]
end
local BAD_HEADER_CFG = os.tmpname()
do local f = assert(io.open(BAD_HEADER_CFG, "w")); f:write("bad_header_tool: true\n"); f:close() end

-- connect options for a transport ("http" | "stdio") and a fixture's eras
local function target(transport, eras, extra)
  local o = { timeout = 10, on = HANDLERS }
  if transport == "http" then o.url = fixture(eras).url .. "/mcp/open"
  else o.command = { BIN, "serve", "--stdio", "--eras", eras, "--config", BAD_HEADER_CFG } end
  for k, v in pairs(extra or {}) do o[k] = v end
  return o
end

-- era verdicts are cached under MCPTEST_HOME: this file's own, so every
-- detection test here probes
local HOME = os.tmpname()
os.remove(HOME)
sys.setenv("MCPTEST_HOME", HOME)

teardown(function()
  for _, f in pairs(fixtures) do f:stop() end
  os.execute("rm -rf '" .. HOME .. "'")
end)

local function silent_legacy_config()
  local cfg = os.tmpname()
  local f = assert(io.open(cfg, "w"))
  f:write("unknown_method: silent\n")
  f:close()
  return cfg
end

describe("the tasks extension (io.modelcontextprotocol/tasks)", function()
  local TASKS = { extensions = { ["io.modelcontextprotocol/tasks"] = {} } }
  for _, transport in ipairs({ "http", "stdio" }) do
    it("c:call_tool follows a task to its result; c:request returns the raw task (" .. transport .. ")", function()
      local c = mcp.connect(target(transport, "both", { capabilities = TASKS }))
      assert.are.equal("modern", c.era)
      assert.is_table(c.capabilities.extensions["io.modelcontextprotocol/tasks"])
      assert.text_equals(c:call_tool("task", { message = "done", seconds = 0.1 }), "done")
      assert.are.equal("completed", c.last_task.status)
      assert.is_true(c.last_task.polls >= 1)
      local raw = c:request("tools/call", { name = "task", arguments = { message = "raw", seconds = 0 } })
      assert.are.equal("task", raw.resultType)
      assert.are.equal("working", raw.status)
      assert.is_string(raw.taskId)
      assert.is_nil(raw.result)
      local ok, err = pcall(c.call_tool, c, "task", { message = "x", seconds = 0, fail = true })
      assert.is_false(ok)
      assert.are.equal("jsonrpc", err.kind)
      assert.matches("failed as asked", err.message)
      c:close()
    end)
  end

  it("without the extension declared (or in the legacy era) the tool answers at once; tasks/get is refused", function()
    -- modern: -32021 naming the extension (SEP-2575/2663); legacy: no tasks/* at all
    for _, case in ipairs({ { target("http", "both"), -32021 },
                            { target("http", "both", { protocol = LEGACY, capabilities = TASKS }), -32601 } }) do
      local c = mcp.connect(case[1])
      assert.is_nil(c.last_task)
      assert.text_equals(c:call_tool("task", { message = "now", seconds = 0 }), "now")
      assert.is_nil(c.last_task)
      local ok, err = pcall(c.request, c, "tasks/get", { taskId = "nope" })
      assert.is_false(ok)
      assert.are.equal(case[2], err.code)
      if case[2] == -32021 then
        assert.is_table(err.data.requiredCapabilities.extensions["io.modelcontextprotocol/tasks"])
      end
      c:close()
    end
  end)
end)

describe("--protocol on run and load", function()
  it("sets the protocol of every client that gives none; a bad one is a usage error", function()
    local script = os.tmpname() .. ".lua"
    local f = assert(io.open(script, "w"))
    f:write('local c = require("mcptest").connect{ url = os.getenv("FX") }\n',
            'io.stderr:write("era=", c.era, " ", c.protocol_version, "\\n")\n',
            'c:close()\n')
    f:close()
    local function run(flag)
      local p = io.popen("FX=" .. fixture("both").url .. "/mcp/open " .. BIN .. " run " .. script
        .. " " .. flag .. " 2>&1; echo rc=$?")
      local out = p:read("a")
      p:close()
      return out
    end
    assert.matches("era=modern 2026%-07%-28", run(""))
    assert.matches("era=legacy 2025%-06%-18", run("--protocol 2025-06-18"))
    local out = run("--protocol 2025-13-01")
    assert.matches("%-%-protocol: unknown protocol version 2025%-13%-01", out)
    assert.matches("rc=2", out)
    os.remove(script)
  end)
end)

describe("the era verdict cache", function()
  it("a second connect to a stdio server skips the probe (no probe_timeout wait)", function()
    local cfg = silent_legacy_config()
    local opts = { command = { BIN, "serve", "--stdio", "--eras", "legacy", "--config", cfg },
                   probe_timeout = 0.5, timeout = 10 }
    local t0 = sys.now()
    local c = mcp.connect(opts)
    local first = sys.now() - t0
    c:close()
    assert.is_true(first >= 0.5)
    t0 = sys.now()
    c = mcp.connect(opts)
    local second = sys.now() - t0
    assert.are.equal("legacy", c.era)
    assert.matches("^cached verdict of .*no answer to server/discover within 0.5 s", c.era_reason)
    assert.is_true(second < 0.5, "second connect took " .. second .. " s")
    assert.text_equals(c:call_tool("echo", { message = "cached" }), "cached")
    c:close()
    -- era_cache = false probes all the same
    t0 = sys.now()
    c = mcp.connect(setmetatable({ era_cache = false }, { __index = opts }))
    assert.is_true(sys.now() - t0 >= 0.5)
    assert.matches("^no answer", c.era_reason)
    c:close()
    os.remove(cfg)
  end)

  it("an HTTP verdict is kept per URL, in a file naming the server", function()
    local url = fixture("legacy").url .. "/mcp/open"
    local c = mcp.connect{ url = url, timeout = 10 }
    c:close()
    c = mcp.connect{ url = url, timeout = 10 }
    assert.are.equal("legacy", c.era)
    assert.matches("^cached verdict of .*server/discover got JSON%-RPC error", c.era_reason)
    c:close()
    local p = io.popen("cat '" .. HOME .. "'/era/*.json")
    local all = p:read("a")
    p:close()
    assert.matches(url:gsub("%p", "%%%0"), all)
  end)

  it("parallel one-shot runs share the cache: each answers, one verdict file, whole", function()
    local home = os.tmpname()
    os.remove(home)
    local cmd = BIN .. " serve --stdio --eras legacy"
    local sh = {}
    for i = 1, 4 do
      sh[#sh + 1] = string.format("(MCPTEST_HOME=%s %s tools --stdio '%s' >/dev/null 2>&1; echo rc$?) > %s.%d &",
        home, BIN, cmd, home, i)
    end
    os.execute(table.concat(sh, " ") .. " wait")
    for i = 1, 4 do
      local f = assert(io.open(home .. "." .. i))
      assert.are.equal("rc0", f:read("l"))
      f:close()
      os.remove(home .. "." .. i)
    end
    local p = io.popen("ls " .. home .. "/era")
    local files = {}
    for name in p:lines() do files[#files + 1] = name end
    p:close()
    assert.are.equal(1, #files, table.concat(files, " ")) -- no temporary file left behind
    local f = assert(io.open(home .. "/era/" .. files[1]))
    local v = json.decode(f:read("a"))
    f:close()
    assert.are.equal("legacy", v.era)
    assert.are.equal(cmd, v.server)
    os.execute("rm -rf '" .. home .. "'")
  end)

  it("a cached verdict that fails is probed again once, and replaced", function()
    local cache = require("mcptest.client.era_cache")
    -- legacy cached, but the server now speaks only 2026-07-28 (stdio and HTTP)
    for _, o in ipairs({ target("stdio", "modern"), target("http", "modern") }) do
      local key = cache.server(o)
      cache.put(key, "legacy", LEGACY, "planted by the test")
      local out = os.tmpname()
      local c = mcp.connect(setmetatable({ verbose = true }, { __index = o }))
      assert.are.equal("modern", c.era)
      assert.are.equal("server/discover answered", c.era_reason)
      c:close()
      assert.are.equal("modern", cache.get(key).era)
      os.remove(out)
    end
    -- modern cached, the server speaks only legacy
    local o = target("stdio", "legacy")
    cache.put(cache.server(o), "modern", MODERN, "planted by the test")
    local c = mcp.connect(o)
    assert.are.equal("legacy", c.era)
    assert.matches("server/discover got JSON%-RPC error", c.era_reason)
    c:close()
    assert.are.equal("legacy", cache.get(cache.server(o)).era)
  end)

  it("a fixture started on a port forgets the verdicts kept for that port", function()
    local cache = require("mcptest.client.era_cache")
    local fx = mcp.fixture.start{ eras = "legacy" }
    local port, url = fx.port, fx.url .. "/mcp/open"
    mcp.connect{ url = url, timeout = 10 }:close()
    assert.are.equal("legacy", cache.get(url).era)
    fx:stop()
    fx = mcp.fixture.start{ eras = "both", port = port }
    assert.is_nil(cache.get(url))
    local c = mcp.connect{ url = url, timeout = 10 }
    assert.are.equal("modern", c.era)
    c:close()
    fx:stop()
  end)
end)

describe("era detection", function()
  for _, transport in ipairs({ "http", "stdio" }) do
    it("auto picks modern from a dual and a modern-only fixture, legacy from a legacy-only one (" .. transport .. ")",
      function()
        for eras, want in pairs({ both = "modern", modern = "modern", legacy = "legacy" }) do
          local c = mcp.connect(target(transport, eras))
          assert.are.equal(want, c.era, eras)
          assert.are.equal(want == "modern" and MODERN or LEGACY, c.protocol_version)
          assert.are.equal("mcptest-fixture", c.server_info.name)
          if want == "modern" then
            assert.matches("server/discover answered", c.era_reason)
            assert.is_nil(c.session_id)
          else
            assert.matches("server/discover got JSON%-RPC error", c.era_reason)
          end
          c:close()
        end
      end)

    it("a pinned version is spoken or the connect fails naming why (" .. transport .. ")", function()
      local c = mcp.connect(target(transport, "both", { protocol = LEGACY }))
      assert.are.equal("legacy", c.era)
      assert.are.equal("pinned to " .. LEGACY, c.era_reason)
      c:close()
      c = mcp.connect(target(transport, "both", { protocol = MODERN }))
      assert.are.equal("modern", c.era)
      c:close()
      local ok, err = pcall(mcp.connect, target(transport, "legacy", { protocol = MODERN }))
      assert.is_false(ok)
      assert.matches("protocol 2026%-07%-28 is pinned but the server does not speak it", err.message)
      ok, err = pcall(mcp.connect, target(transport, "modern", { protocol = LEGACY }))
      assert.is_false(ok)
      assert.matches("Unsupported protocol version", err.message)
    end)
  end

  it("MCP_CONFORMANCE_PROTOCOL_VERSION pins the version under auto", function()
    sys.setenv("MCP_CONFORMANCE_PROTOCOL_VERSION", LEGACY)
    local ok, c = pcall(mcp.connect, target("http", "both"))
    sys.setenv("MCP_CONFORMANCE_PROTOCOL_VERSION", nil)
    assert(ok, tostring(c))
    assert.are.equal("legacy", c.era)
    c:close()
  end)

  it("refuses an unknown protocol version, naming the known ones", function()
    local ok, err = pcall(mcp.connect, target("http", "both", { protocol = "2099-01-01" }))
    assert.is_false(ok)
    assert.are.equal("usage", err.kind)
    assert.matches("known: auto, 2026%-07%-28, 2025%-11%-25", err.message)
  end)

  it("a stdio server silent on server/discover is legacy after probe_timeout", function()
    local cfg = os.tmpname()
    local f = assert(io.open(cfg, "w"))
    f:write("unknown_method: silent\n")
    f:close()
    local t0 = sys.now()
    local c = mcp.connect{ command = { BIN, "serve", "--stdio", "--eras", "legacy", "--config", cfg },
                           probe_timeout = 0.3, timeout = 10 }
    os.remove(cfg)
    assert.are.equal("legacy", c.era)
    assert.matches("no answer to server/discover within 0.3 s", c.era_reason)
    assert.is_true(sys.now() - t0 >= 0.3)
    assert.text_equals(c:call_tool("echo", { message = "late" }), "late")
    c:close()
  end)

  it("a stdio server that exits on server/discover is started again and initialized", function()
    local cfg = os.tmpname()
    local f = assert(io.open(cfg, "w"))
    f:write("unknown_method: exit\n")
    f:close()
    local c = mcp.connect{ command = { BIN, "serve", "--stdio", "--eras", "legacy", "--config", cfg }, timeout = 10 }
    os.remove(cfg)
    assert.are.equal("legacy", c.era)
    assert.matches("exited on server/discover .*; started again", c.era_reason)
    assert.text_equals(c:call_tool("echo", { message = "again" }), "again")
    c:close()
  end)

  it("server-everything (2025 era) over stdio: auto picks legacy", function()
    local c = mcp.connect{ command = { "node", EVERYTHING, "stdio" }, timeout = 20 }
    assert.are.equal("legacy", c.era)
    assert.are.equal("mcp-servers/everything", c.server_info.name)
    assert.matches("%-32601", c.era_reason)
    c:close()
  end)

  it("a fallback is visible in --verbose output", function()
    local p = io.popen("MCPTEST_ERA_CACHE=off " .. BIN .. " tools --url " .. fixture("legacy").url
      .. "/mcp/open --verbose 2>&1")
    local out = p:read("a")
    p:close()
    assert.matches("falling back to initialize %(legacy era%)", out)
  end)
end)

for _, transport in ipairs({ "http", "stdio" }) do
  for _, version in ipairs({ MODERN, LEGACY }) do
    local era = version == MODERN and "modern" or "legacy"
    describe("client against the fixture, " .. era .. " era over " .. transport, function()
      local c
      setup(function() c = mcp.connect(target(transport, "both", { protocol = version })) end)
      teardown(function() if c then c:close() end end)

      it("speaks the era asked for", function()
        assert.are.equal(era, c.era)
        assert.are.equal(version, c.protocol_version)
        assert.is_table(c.capabilities.tools)
      end)

      it("lists every tool, resource and prompt across pages", function()
        -- 18 tools; a modern client leaves out bad_header (an invalid x-mcp-header)
        assert.are.equal(era == "modern" and 17 or 18, #c:list_tools())
        local raw, cursor = 0, nil
        repeat
          local page = c:request("tools/list", cursor and { cursor = cursor } or nil)
          raw = raw + #page.tools
          cursor = page.nextCursor
        until cursor == nil
        assert.are.equal(18, raw)
        assert.has_tool(c:list_tools(), "echo")
        assert.is_true(#c:list_resources() >= 7)
        assert.is_true(#c:list_prompts() >= 5)
      end)

      it("calls tools, reads resources, gets prompts", function()
        assert.text_equals(c:call_tool("echo", { message = "hi", uppercase = true }), "HI")
        local r = c:read_resource("fixture://notes/1")
        assert.are.equal("note 1", r.contents[1].text)
        local p = c:get_prompt("greeting", { name = "Ada" })
        assert.is_table(p.messages[1])
        local ok, err = c:try("resources/read", { uri = "fixture://nope" })
        assert.is_false(ok)
        assert.are.equal(era == "modern" and -32602 or -32002, err.code)
        assert.are.equal("fixture://nope", err.data.uri)
        local fail = c:call_tool("fail", { message = "boom" })
        assert.is_true(fail.isError)
      end)

      it("mirrors x-mcp-header arguments into Mcp-Param headers (modern), leaves out invalid tools", function()
        local tools = c:list_tools()
        assert.has_tool(tools, "route")
        if era == "modern" then
          assert.is_not.has_tool(tools, "bad_header")
          assert.are.equal("bad_header", c.invalid_tools[1].name)
          assert.matches("only on properties reached through", c.invalid_tools[1].reason)
        else
          assert.has_tool(tools, "bad_header")
        end
        local r = c:call_tool("route", { region = "eu west", priority = 3 })
        local r2 = c:call_tool("route", { region = "z\u{fc}rich" })
        if era == "modern" and transport == "http" then
          assert.text_equals(r, "routed to eu west (Mcp-Param-Region: eu west)")
          assert.text_equals(r2, "routed to z\u{fc}rich (Mcp-Param-Region: =?base64?esO8cmljaA==?=)")
        else
          assert.text_equals(r, "routed to eu west")
        end
      end)

      it("raises JSON-RPC errors as objects", function()
        local ok, err = c:try("tools/call", { name = "nope", arguments = json.object() })
        assert.is_false(ok)
        assert.are.equal(-32602, err.code)
      end)

      -- over both transports: the fixture's stdio holds a listen open (each
      -- request in its own coroutine) and sends legacy notifications outside a request
      it("c:subscribe: notifications/resources/updated arrive in c.notifications (modern: over subscriptions/listen)",
        function()
          local ack = c:subscribe("fixture://counter")
          if era == "modern" then
            assert.are.same({ "fixture://counter" }, ack.notifications.resourceSubscriptions)
            assert.are.equal(c.listen_id, ack._meta["io.modelcontextprotocol/subscriptionId"])
          end
          local before = #c.notifications
          c:call_tool("touch", { uri = "fixture://counter" })
          local deadline, got = sys.now() + 5, nil
          while not got and sys.now() < deadline do
            for i = before + 1, #c.notifications do
              local n = c.notifications[i]
              if n.method == "notifications/resources/updated" and n.params.uri == "fixture://counter" then got = n end
            end
            if not got then c:ping() end
          end
          assert(got, "no notifications/resources/updated arrived")
          if era == "modern" then
            assert.are.equal(c.listen_id, got.params._meta["io.modelcontextprotocol/subscriptionId"])
          end
          c:unsubscribe("fixture://counter")
          before = #c.notifications
          c:call_tool("touch", { uri = "fixture://counter" })
          c:ping()
          for i = before + 1, #c.notifications do
            assert.are_not.equal("notifications/resources/updated", c.notifications[i].method)
          end
        end)

      it("tells resource-not-found by either era's code (-32002 legacy, -32602 with data.uri modern)", function()
        local ok, err = pcall(c.read_resource, c, "fixture://docs/nope")
        assert.is_false(ok)
        assert.are.equal(era == "modern" and -32602 or -32002, err.code)
        assert.is_true(err.resource_not_found)
        assert.resource_not_found(err, "fixture://docs/nope")
        assert.is_not.resource_not_found(err, "fixture://docs/other")
        -- an unknown tool's -32602 (no data.uri) is no resource-not-found
        local _, terr = c:try("tools/call", { name = "nope", arguments = json.object() })
        assert.is_nil(terr.resource_not_found)
        assert.is_not.resource_not_found(terr)
      end)

      it("answers sampling and elicitation with the on handlers", function()
        assert.text_equals(c:call_tool("sampling", { prompt = "ping" }), "sampled: sampled ping")
        local r = c:call_tool("elicitation", {})
        assert.are.equal("Ada", r.structuredContent.content.name)
        if era == "modern" then
          assert.input_rounds(c, 1)
          assert.is_not.input_rounds(c, 0)
          local ok, err = pcall(assert.input_rounds, c, 2)
          assert.is_false(ok)
          assert.matches("took 1 %(elicitation/create%)", tostring(err))
          local _, req = next(c.input_rounds[1].inputRequests)
          assert.are.equal("elicitation/create", req.method)
        end
      end)

      it("pings, and gets progress and log notifications of a request", function()
        c:ping()
        local before = #c.notifications
        c:request("tools/call", { name = "progress", arguments = { steps = 2, interval_ms = 1 },
                                  _meta = { progressToken = "tok-" .. era } })
        c:set_log_level("info")
        assert.text_equals(c:call_tool("log", { level = "warning", message = "careful" }), "logged")
        local progress, logs = 0, 0
        for i = before + 1, #c.notifications do
          local n = c.notifications[i]
          if n.method == "notifications/progress" and n.params.progressToken == "tok-" .. era then progress = progress + 1 end
          if n.method == "notifications/message" and n.params.data == "careful" then logs = logs + 1 end
        end
        assert.are.equal(2, progress)
        assert.are.equal(1, logs)
      end)
    end)
  end
end

describe("the fixture's modern ladder", function()
  local function post(version, header)
    local body = json.encode({ jsonrpc = "2.0", id = 7, method = "server/discover", params = {
      _meta = { ["io.modelcontextprotocol/protocolVersion"] = version,
                ["io.modelcontextprotocol/clientCapabilities"] = json.object() } } })
    local r = mcp.http.request{ method = "POST", url = fixture("both").url .. "/mcp/open", body = body,
      headers = { ["Content-Type"] = "application/json", Accept = "application/json, text/event-stream",
                  ["MCP-Protocol-Version"] = header, ["Mcp-Method"] = "server/discover" } }
    return r.status, json.decode(r.body)
  end

  it("answers an unknown version -32022 listing what server/discover lists", function()
    local status, msg = post("v999.0.0", "v999.0.0")
    assert.are.equal(400, status)
    assert.are.equal(-32022, msg.error.code)
    assert.are.same({ MODERN }, msg.error.data.supported)
    assert.are.equal("v999.0.0", msg.error.data.requested)
    assert.are.equal(7, msg.id)
  end)

  it("answers a capability the request did not declare with HTTP 400 -32021", function()
    local c = mcp.connect{ url = fixture("both").url .. "/mcp/open", timeout = 10 }
    local ok, err = c:try("tools/call", { name = "test_missing_capability", arguments = json.object() })
    assert.is_false(ok)
    assert.are.equal(-32021, err.code)
    assert.is_table(err.data.requiredCapabilities.sampling)
    -- no logLevel in _meta: no notifications/message
    local before = #c.notifications
    assert.text_equals(c:call_tool("test_logging_tool", {}), "logged")
    assert.are.equal(before, #c.notifications)
    c:close()
    local body = json.encode({ jsonrpc = "2.0", id = 3, method = "tools/call", params = {
      name = "test_missing_capability", arguments = json.object(),
      _meta = { ["io.modelcontextprotocol/protocolVersion"] = MODERN,
                ["io.modelcontextprotocol/clientCapabilities"] = json.object() } } })
    local r = mcp.http.request{ method = "POST", url = fixture("both").url .. "/mcp/open", body = body,
      headers = { ["Content-Type"] = "application/json", Accept = "application/json, text/event-stream",
                  ["MCP-Protocol-Version"] = MODERN, ["Mcp-Method"] = "tools/call",
                  ["Mcp-Name"] = "test_missing_capability" } }
    assert.are.equal(400, r.status)
  end)

  it("checks MCP-Protocol-Version against _meta before the version (-32020)", function()
    local status, msg = post("v999.0.0", MODERN)
    assert.are.equal(400, status)
    assert.are.equal(-32020, msg.error.code)
  end)
end)

describe("x-mcp-header over HTTP (modern era)", function()
  it("a call before any tools/list gets -32020, lists tools again and is sent once more", function()
    local c = mcp.connect(target("http", "both"))
    assert.text_equals(c:call_tool("route", { region = "north" }), "routed to north (Mcp-Param-Region: north)")
    c:close()
  end)

  it("each request carries its own Mcp-Method and Mcp-Name, for names that repeat and past the 8 kept", function()
    -- the transport keeps the header lines of a session's first 8
    -- (method, name) pairs as curl lists; the fixture refuses an Mcp-Name
    -- that is not the request's (-32020)
    local c = mcp.connect(target("http", "both"))
    assert.are.equal(MODERN, c.protocol_version)
    for i = 1, 30 do
      assert.text_equals(c:call_tool("echo", { message = "m" .. i }), "m" .. i)
      local n = i % 12 + 1 -- 12 distinct URIs, rotating
      assert.are.equal("note " .. n, c:read_resource("fixture://notes/" .. n).contents[1].text)
      assert.is_table(c:get_prompt("greeting", { name = "Ada" }).messages[1])
    end
    c:close()
  end)

  it("the fixture refuses an Mcp-Param header that differs from the argument (-32020)", function()
    local body = json.encode({ jsonrpc = "2.0", id = 1, method = "tools/call", params = {
      name = "route", arguments = { region = "north", priority = 2 },
      _meta = { ["io.modelcontextprotocol/protocolVersion"] = MODERN,
                ["io.modelcontextprotocol/clientCapabilities"] = json.object() } } })
    local h = { ["Content-Type"] = "application/json", Accept = "application/json, text/event-stream",
                ["MCP-Protocol-Version"] = MODERN, ["Mcp-Method"] = "tools/call", ["Mcp-Name"] = "route",
                ["Mcp-Param-Region"] = "south", ["Mcp-Param-Priority"] = "2" }
    local r = mcp.http.request{ method = "POST", url = fixture("both").url .. "/mcp/open", headers = h, body = body }
    assert.are.equal(400, r.status)
    local e = json.decode(r.body).error
    assert.are.equal(-32020, e.code)
    assert.matches("Mcp%-Param%-Region", e.message)
    h["Mcp-Param-Region"] = "north"
    r = mcp.http.request{ method = "POST", url = fixture("both").url .. "/mcp/open", headers = h, body = body }
    assert.are.equal(200, r.status)
  end)
end)

describe("a cut response stream (modern era, HTTP)", function()
  it("is sent again with a new id, and reported", function()
    local f = mcp.fixture.start{ faults = { tools = { progress = { cut_sse_after = 1, times = 1 } } } }
    local c = mcp.connect{ url = f.url .. "/mcp/open", timeout = 10 }
    assert.are.equal("modern", c.era)
    local r = c:request("tools/call", { name = "progress", arguments = { steps = 2, interval_ms = 1 },
                                        _meta = { progressToken = "cut" } })
    assert.matches("^done: 2 steps", mcp.text(r))
    assert.are.equal("mcptest/streamCut", c.events[#c.events].method)
    assert.matches("sent again with a new id", c.events[#c.events].params.message)
    c:close()
    f:stop()
  end)
end)

-- A hand-written modern server: each tools/call name is a misbehaviour.
-- a 2020-12 schema with a remote $ref (to a route that counts fetches)
local SCHEMA_JSON
describe("modern results against bad servers", function()
  local srv, base
  local seen = {}
  local ref_fetches = 0
  local bad_tasks = {}
  local discover_rejections = 0
  local function reply(id, result) return { jsonrpc = "2.0", id = id, result = result } end
  local function handle(req)
    if req.method ~= "POST" then return { status = 405, headers = {}, body = "" } end -- no GET stream
    local msg = json.decode(req.body)
    seen[#seen + 1] = { msg = msg, headers = req.headers }
    local id, p = msg.id, msg.params or {}
    local route = req.path
    local res
    if msg.method == "server/discover" then
      if route == "/reject-once" and discover_rejections == 0 then
        discover_rejections = 1
        return { status = 400, headers = { ["Content-Type"] = "application/json" }, body = json.encode({
          jsonrpc = "2.0", id = id, error = { code = -32022, message = "Unsupported protocol version",
          data = { supported = { MODERN }, requested = MODERN } } }) }
      elseif route == "/no-supported" then
        return { status = 400, headers = { ["Content-Type"] = "application/json" }, body = json.encode({
          jsonrpc = "2.0", id = id, error = { code = -32022, message = "Unsupported protocol version" } }) }
      elseif route == "/fail" then
        return { status = 503, headers = {}, body = "down" }
      end
      res = reply(id, { resultType = "complete", supportedVersions = { MODERN }, capabilities = { tools = {} },
                        serverInfo = { name = "bad", version = "1" } })
    elseif msg.method == "initialize" then
      res = reply(id, { protocolVersion = LEGACY, capabilities = { tools = {} }, serverInfo = { name = "bad-legacy", version = "1" } })
    elseif msg.method == "notifications/initialized" then
      return { status = 202, headers = {}, body = "" }
    elseif msg.method == "tasks/get" then
      local t = bad_tasks[p.taskId]
      t.polls = t.polls + 1
      if t.kind == "ask" and not t.answer then
        res = reply(id, { resultType = "complete", taskId = p.taskId, status = "input_required", pollIntervalMs = 10,
          inputRequests = { who = { method = "elicitation/create", params = { mode = "form", message = "who?",
                                    requestedSchema = { type = "object" } } } } })
      elseif t.kind == "ask" then
        res = reply(id, { resultType = "complete", taskId = p.taskId, status = "completed",
          result = { content = { { type = "text", text = "task says " .. t.answer } } } })
      elseif t.polls < 3 then
        res = reply(id, { resultType = "complete", taskId = p.taskId, status = "working", pollIntervalMs = 10 })
      else
        res = reply(id, { resultType = "complete", taskId = p.taskId, status = "cancelled", statusMessage = "gone" })
      end
    elseif msg.method == "tasks/update" then
      bad_tasks[p.taskId].answer = p.inputResponses.who.content.name
      res = reply(id, { resultType = "complete" })
    elseif msg.method == "tools/list" then
      res = reply(id, { resultType = "complete", tools = { { name = "schemas", inputSchema = json.decode(SCHEMA_JSON) } } })
    elseif msg.method == "tools/call" then
      local name = p.name
      if name == "no_type" then
        res = reply(id, { content = { { type = "text", text = "complete anyway" } } })
      elseif name == "task" then
        res = reply(id, { resultType = "task", taskId = "t1", status = "working" })
      elseif name == "ask_task" or name == "doomed_task" then
        local tid = name .. #seen
        bad_tasks[tid] = { kind = name == "ask_task" and "ask" or "doomed", polls = 0 }
        res = reply(id, { resultType = "task", taskId = tid, status = "working", pollIntervalMs = 10 })
      elseif name == "weird" then
        res = reply(id, { resultType = "pending_forever", content = {} })
      elseif name == "loop" then
        res = reply(id, { resultType = "input_required", requestState = "again",
          inputRequests = { q = { method = "elicitation/create", params = { mode = "form", message = "?",
                                  requestedSchema = { type = "object" } } } } })
      elseif name == "state" then
        local st = "opaque \u{e9}t\u{e9} +/= state"
        if p.requestState == st and p.inputResponses and p.inputResponses.k1 then
          res = reply(id, { resultType = "complete", content = { { type = "text",
            text = "got " .. p.inputResponses.k1.content.name } } })
        else
          res = reply(id, { resultType = "input_required", requestState = st,
            inputRequests = { k1 = { method = "elicitation/create", params = { mode = "form", message = "name?",
                                     requestedSchema = { type = "object" } } } } })
        end
      end
    end
    return { status = 200, headers = { ["Content-Type"] = "application/json" }, body = json.encode(res) }
  end

  setup(function()
    srv = server.new{ config = { port = 0 } }
    for _, path in ipairs({ "/ok", "/reject-once", "/no-supported", "/fail" }) do srv:route(path, handle) end
    srv:route("/schemas/point.json", function()
      ref_fetches = ref_fetches + 1
      return { status = 200, headers = { ["Content-Type"] = "application/json" }, body = '{"type":"object"}' }
    end)
    base = assert(srv:start())
    SCHEMA_JSON = '{"$schema":"https://json-schema.org/draft/2020-12/schema","$id":"' .. base .. '/schemas/tool.json",'
      .. '"type":"object","properties":{"where":{"$ref":"' .. base .. '/schemas/point.json"},'
      .. '"pair":{"type":"array","prefixItems":[{"type":"string"},{"type":"integer"}],"items":false},'
      .. '"extra":{"$ref":"#/$defs/extra"},"anything":{},"nothing":null,"flag":true,'
      .. '"tags":{"type":"array","items":{"type":"string"},"unevaluatedItems":false,"minContains":1,'
      .. '"contains":{"const":"x"}},"empty":{"type":"object","properties":{},"required":[]}},'
      .. '"$defs":{"extra":{"type":"string","dependentRequired":{},"$comment":"kept"}},'
      .. '"unevaluatedProperties":false,"dependentSchemas":{"where":{"required":["pair"]}}}'

  end)
  teardown(function() if srv then srv:stop() end end)

  local function connect(path, extra)
    local o = { url = base .. path, timeout = 5, on = HANDLERS }
    for k, v in pairs(extra or {}) do o[k] = v end
    return mcp.connect(o)
  end

  it("reads a result without resultType as complete, and sends the envelope and headers", function()
    local c = connect("/ok")
    assert.are.equal("modern", c.era)
    assert.text_equals(c:call_tool("no_type", {}), "complete anyway")
    local last = seen[#seen]
    assert.are.equal(MODERN, last.msg.params._meta["io.modelcontextprotocol/protocolVersion"])
    assert.are.equal("mcptest", last.msg.params._meta["io.modelcontextprotocol/clientInfo"].name)
    assert.is_table(last.msg.params._meta["io.modelcontextprotocol/clientCapabilities"].elicitation)
    assert.are.equal(MODERN, last.headers["mcp-protocol-version"])
    assert.are.equal("tools/call", last.headers["mcp-method"])
    assert.are.equal("no_type", last.headers["mcp-name"])
    assert.is_nil(last.headers["mcp-session-id"])
    c:close()
  end)

  it("follows a task through input_required (tasks/update) and reports a cancelled one", function()
    local c = connect("/ok", { capabilities = { extensions = { ["io.modelcontextprotocol/tasks"] = {} } } })
    assert.text_equals(c:call_tool("ask_task", {}), "task says Ada")
    assert.are.equal(2, c.last_task.polls)
    local update
    for _, m in ipairs(seen) do if m.msg.method == "tasks/update" then update = m end end
    assert.are.equal("Ada", update.msg.params.inputResponses.who.content.name)
    assert.are.equal("tasks/update", update.headers["mcp-method"])
    local ok, err = pcall(c.call_tool, c, "doomed_task", {})
    assert.is_false(ok)
    assert.matches("task doomed_task%d+ was cancelled %(gone%)", err.message)
    c:close()
  end)

  it("keeps a tool's JSON Schema exactly as sent (2020-12 keywords, a $ref never fetched)", function()
    for _, proto in ipairs({ MODERN, LEGACY }) do
      local c = connect("/ok", { protocol = proto })
      local tools = c:list_tools()
      local want = json.decode(SCHEMA_JSON)
      assert.are.same(want, tools[1].inputSchema)
      -- encoded again: {} stays {}, [] stays [], null stays null
      assert.matches('"anything":{}', json.encode(tools[1].inputSchema), 1, true)
      assert.matches('"required":[]', json.encode(tools[1].inputSchema), 1, true)
      assert.matches('"nothing":null', json.encode(tools[1].inputSchema), 1, true)
      c:close()
    end
    assert.are.equal(0, ref_fetches)
  end)

  it("refuses an unknown resultType, naming it", function()
    local c = connect("/ok")
    local ok, err = pcall(c.call_tool, c, "weird", {})
    assert.is_false(ok)
    assert.are.equal("protocol", err.kind)
    assert.matches('resultType "pending_forever"', err.message)
    ok, err = pcall(c.call_tool, c, "task", {})
    assert.is_false(ok)
    assert.matches("io.modelcontextprotocol/tasks extension; the script did not declare it", err.message)
    c:close()
  end)

  it("retries with inputResponses and the exact requestState, with a new id", function()
    local c = connect("/ok")
    local before = #seen
    assert.text_equals(c:call_tool("state", {}), "got Ada")
    local first, second = seen[before + 1].msg, seen[before + 2].msg
    assert.is_nil(first.params.requestState)
    assert.are.equal("opaque \u{e9}t\u{e9} +/= state", second.params.requestState)
    assert.are_not.equal(first.id, second.id)
    assert.are.equal(1, #c.input_rounds)
    assert.are.equal("accept", c.input_rounds[1].inputResponses.k1.action)
    c:close()
  end)

  it("gives up on a server that never completes, naming the rounds", function()
    local c = connect("/ok", { max_input_rounds = 3 })
    local before = #seen
    local ok, err = pcall(c.call_tool, c, "loop", {})
    assert.is_false(ok)
    assert.matches("still returned input_required after 3 rounds", err.message)
    assert.are.equal(4, #seen - before)
    c:close()
  end)

  it("answers -32022 naming a shared version with one more probe", function()
    local c = connect("/reject-once")
    assert.are.equal("modern", c.era)
    assert.are.equal(1, discover_rejections)
    c:close()
  end)

  it("falls back to initialize on -32022 without data.supported", function()
    local c = connect("/no-supported")
    assert.are.equal("legacy", c.era)
    assert.are.equal("bad-legacy", c.server_info.name)
    assert.matches("without a usable data.supported", c.era_reason)
    c:close()
  end)

  it("fails on a 5xx to the probe instead of falling back", function()
    local ok, err = pcall(connect, "/fail")
    assert.is_false(ok)
    assert.matches("503", tostring(err))
  end)
end)
