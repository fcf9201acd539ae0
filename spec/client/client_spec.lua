-- The client core and the stdio transport against real processes
-- (spec/data/stdio_server.js): pagination, errors, server requests,
-- misbehaving servers, cleanup.
local mcp = require("mcptest")
local json = require("mcptest.json")
local sys = require("mcptest.core.sys")

local SERVER = (os.getenv("MCPTEST_SRC") or ".") .. "/spec/data/stdio_server.js"
local function connect(mode, opts)
  opts = opts or {}
  opts.command = { "node", SERVER, mode or "normal" }
  return mcp.connect(opts)
end

-- alive and not a zombie waiting for its (new) parent to reap it
local function pid_alive(pid)
  local f = io.open("/proc/" .. pid .. "/stat")
  if not f then return false end
  local stat = f:read("a")
  f:close()
  return stat:match("^%d+ %b() (%a)") ~= "Z"
end

describe("client core over stdio", function()
  it("initializes and records server info, version and era", function()
    local c = connect()
    assert.are.equal("stdio-test-server", c.server_info.name)
    assert.are.equal("2025-11-25", c.protocol_version)
    assert.are.equal("legacy", c.era)
    c:close()
  end)

  it("follows pagination and returns every tool", function()
    local c = connect()
    local tools = c:list_tools()
    assert.are.equal(3, #tools)
    assert.has_tool(tools, "empty")
    assert.is_not.has_tool(tools, "nope")
    c:close()
  end)

  it("keeps empty arrays, empty objects and big integers intact", function()
    local c = connect()
    local r = c:call_tool("echo", { message = "hi" })
    assert.text_equals(r, "hi")
    assert.are.equal(12345678901234, r.big)
    assert.are.equal("integer", math.type(r.big))
    assert.are.equal("[]", json.encode(r.list))
    assert.are.equal("{}", json.encode(r.obj))
    c:close()
  end)

  it("stops a server that loops on the same cursor", function()
    local c = connect("cursor-loop")
    local ok, err = pcall(c.list_tools, c)
    assert.is_false(ok)
    assert.are.equal("protocol", err.kind)
    assert.matches("twice", err.message)
    c:close()
  end)

  it("raises JSON-RPC errors as objects and c:try returns them", function()
    local c = connect()
    local ok, err = pcall(c.request, c, "no/such")
    assert.is_false(ok)
    assert.is_true(mcp.is_error(err))
    assert.are.equal("jsonrpc", err.kind)
    assert.error_code(err, -32601)
    assert.are.equal("no/such", err.data.method)
    assert.matches("Method not found", tostring(err))
    local ok2, err2 = c:try("no/such")
    assert.is_false(ok2)
    assert.are.equal(-32601, err2.code)
    local ok3, res = c:try("ping")
    assert.is_true(ok3)
    assert.are.same({}, res)
    c:close()
  end)

  it("declares capabilities for the handlers given in on", function()
    local c = connect("normal", { on = { ["sampling/createMessage"] = function() end,
                                         ["roots/list"] = function() end },
                                  capabilities = { experimental = { x = { y = 1 } } } })
    -- the test server echoes the capabilities it received in initialize
    local got = c.initialize_result.echoedCapabilities
    assert.is_table(got.sampling)
    assert.is_table(got.roots)
    assert.is_nil(got.elicitation)
    assert.are.equal(1, got.experimental.x.y)
    c:close()
    local c2 = connect()
    assert.is_nil(next(c2.initialize_result.echoedCapabilities))
    c2:close()
  end)

  it("answers server requests with handlers, and with an error when there is none", function()
    local seen
    local c = connect("normal", { on = { ["sampling/createMessage"] = function(p)
      seen = p.maxTokens
      return { role = "assistant", content = { type = "text", text = "from lua" }, model = "m" }
    end } })
    local r = c:call_tool("ask", { method = "sampling/createMessage", params = { maxTokens = 7 } })
    assert.are.equal(7, seen)
    assert.text_contains(r, "from lua")
    -- no handler: a JSON-RPC error goes back, the call does not hang
    r = c:call_tool("ask", { method = "elicitation/create", params = {} })
    assert.text_contains(r, "-32601")
    -- a handler that raises on purpose with a code: that JSON-RPC error goes back
    c:on("elicitation/create", function() error({ code = -32000, message = "declined" }) end)
    r = c:call_tool("ask", { method = "elicitation/create", params = {} })
    assert.text_contains(r, "-32000")
    assert.text_contains(r, "declined")
    -- a handler that fails (an assertion in it): the server gets -32603 and
    -- the script's call raises that failure, so the test cannot pass silently
    c:on("elicitation/create", function() assert.are.equal(1, 2) end)
    local ok, err = pcall(c.call_tool, c, "ask", { method = "elicitation/create", params = {} })
    assert.is_false(ok)
    assert.matches("Expected objects to be equal", tostring(err))
    c:on("elicitation/create", nil)
    -- a handler may itself call the server (nested requests)
    c:on("roots/list", function(_, client)
      local tools = client:list_tools()
      return { roots = { { uri = "file:///" .. #tools } } }
    end)
    r = c:call_tool("ask", { method = "roots/list" })
    assert.text_contains(r, "file:///3")
    -- ping from the server is answered even without a handler
    r = c:call_tool("ask", { method = "ping" })
    assert.text_contains(r, '"result":{}')
    c:close()
  end)

  it("times out a request that gets no answer, per request", function()
    local ok, err = pcall(mcp.connect, { command = { "node", SERVER, "hang" }, timeout = 0.3 })
    assert.is_false(ok)
    assert.are.equal("timeout", err.kind)
    assert.matches("initialize", err.message)
    assert.matches("0.3 s", err.message)
  end)

  it("names a server that exits early, with its exit code and last stderr lines", function()
    local ok, err = pcall(connect, "exit-early")
    assert.is_false(ok)
    assert.are.equal("transport", err.kind)
    assert.matches("exited with code 3", err.message)
    assert.matches("config file /etc/nowhere.toml not found", err.message)
  end)

  it("names non-JSON output on stdout", function()
    -- the line may arrive with the initialize answer or just after it
    local c
    local ok, err = pcall(function() c = connect("garbage"); c:ping() end)
    assert.is_false(ok)
    assert.are.equal("protocol", err.kind)
    assert.matches("not JSON%-RPC", err.message)
    assert.matches("Server started on port 3000", err.message)
    if c then c:close() end
  end)

  it("names a stdout line that is JSON but not a JSON-RPC message", function()
    local c
    local ok, err = pcall(function() c = connect("scalar"); c:ping() end)
    assert.is_false(ok)
    assert.are.equal("protocol", err.kind)
    assert.matches("not JSON%-RPC", err.message)
    assert.matches('"42"', err.message, 1, true)
    if c then c:close() end
  end)

  it("delivers every message of one read in order, also when a handler nests a request", function()
    local c = connect()
    c:on("roots/list", function(_, client)
      -- this nested request reads stdout again while the rest of the
      -- first read (the second notification) is still to be delivered
      local tools = client:list_tools()
      return { roots = { { uri = "file:///" .. #tools } } }
    end)
    local r = c:call_tool("burst", {})
    assert.text_contains(r, "file:///3")
    local data = {}
    for _, n in ipairs(c.notifications) do data[#data + 1] = n.params.data end
    assert.are.same({ "burst 1", "burst 2" }, data)
    c:close()
  end)

  it("reports a command that does not exist", function()
    local ok, err = pcall(mcp.connect, { command = { "no-such-mcp-server-xyz" } })
    assert.is_false(ok)
    assert.are.equal("transport", err.kind)
    assert.matches("no%-such%-mcp%-server%-xyz", err.message)
    assert.matches("PATH", err.message)
  end)

  it("shows in c.stderr what the server wrote during the call just made", function()
    local c = connect()
    for _ = 1, 100 do c:call_tool("echo", { message = "quiet" }) end -- stderr quiet for a while
    for i = 1, 5 do
      assert.text_equals(c:call_tool("log", { message = "line " .. i }), "logged")
      assert.matches("log: line " .. i, c.stderr)
    end
    c:close()
  end)

  it("reads a large answer whole when the server exits right after writing it", function()
    -- a wait that gets part of the line is progress: the exit must not be
    -- taken for a helper holding stdout while the rest is in the pipe
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. dir))
    local big = string.rep("x", 1024 * 1024)
    local f = assert(io.open(dir .. "/big.json", "w"))
    f:write('{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"', big, '"}]}}\n')
    f:close()
    for _ = 1, 20 do
      -- no session: the first request (id 1) gets the file as its answer
      local t = require("mcptest.transport.stdio").open{
        command = { "sh", "-c", "read l; exec cat " .. dir .. "/big.json" } }
      local c = require("mcptest.client").new(t, { timeout = 5 })
      local r = c:request("tools/call", { name = "big" })
      assert.are.equal(#big, #r.content[1].text)
      c:close()
    end
    os.execute("rm -rf " .. dir)
  end)

  it("gets the answer a server wrote before exiting, after a server request it can no longer take the reply to", function()
    -- answering the ping fails (the server is gone); that must not stop
    -- the delivery of the answer that came in the same read
    for _ = 1, 30 do
      local t = require("mcptest.transport.stdio").open{ command = { "sh", "-c",
        [[read l; printf '%s\n%s\n' '{"jsonrpc":"2.0","id":"s1","method":"ping"}' ]]
        .. [['{"jsonrpc":"2.0","id":1,"result":{"ok":true}}'; exec 0<&-]] } }
      local c = require("mcptest.client").new(t, { timeout = 5 })
      assert.is_true(c:request("tools/call", { name = "x" }).ok)
      c:close()
    end
  end)

  it("captures stderr without blocking the server", function()
    local c = connect("stderr-flood")
    assert.text_equals(c:call_tool("echo", { message = "ok" }), "ok")
    -- the server blocked writing 2 MB to stderr before answering
    assert.is_true(#c.stderr >= 1024 * 1024)
    assert.text_equals(c:call_tool("echo", { message = "again" }), "again")
    c:close()
  end)

  it("kills a server that ignores SIGTERM, leaving no process behind", function()
    local c = connect("no-sigterm")
    local pid = c.transport:pid()
    assert.is_true(pid_alive(pid))
    local t0 = sys.now()
    c:close()
    assert.is_true(sys.now() - t0 < 5)
    assert.is_false(pid_alive(pid))
  end)

  it("passes env and cwd to the server", function()
    local c = mcp.connect{ command = { "node", "-e", [[
      const rl = require("readline").createInterface({ input: process.stdin });
      rl.on("line", (l) => { const m = JSON.parse(l); if (m.id === undefined) return;
        const r = m.method === "initialize"
          ? { protocolVersion: m.params.protocolVersion, capabilities: {}, serverInfo: { name: process.env.MY_NAME, version: process.cwd() } }
          : {};
        process.stdout.write(JSON.stringify({ jsonrpc: "2.0", id: m.id, result: r }) + "\n"); });
    ]] }, env = { MY_NAME = "from-env" }, cwd = "/tmp" }
    assert.are.equal("from-env", c.server_info.name)
    assert.are.equal("/tmp", c.server_info.version)
    c:close()
  end)

  it("fails the test when a notification handler fails", function()
    local c = connect()
    c:on("notifications/message", function(p) assert.are.equal("never", p.data) end)
    local ok, err = pcall(c.call_tool, c, "notify", { count = 1 })
    assert.is_false(ok)
    assert.matches("Expected objects to be equal", tostring(err))
    c:close()
  end)

  it("fails a request at once on a null-id error, and names stray ids on timeout", function()
    local c = connect()
    local ok, err = pcall(c.call_tool, c, "misreply", { kind = "null-error" })
    assert.is_false(ok)
    assert.error_code(err, -32700)
    local t0 = sys.now()
    ok, err = pcall(c.request, c, "tools/call", { name = "misreply", arguments = { kind = "string-id" } },
                    { timeout = 0.5 })
    assert.is_false(ok)
    assert.are.equal("timeout", err.kind)
    assert.matches('id matched no request: .*"%d+" %(a string%)', err.message)
    assert.is_true(sys.now() - t0 < 3)
    c:close()
  end)

  it("notices a server that exited while a helper it started holds stdout", function()
    local c = connect("orphan-helper", { timeout = 10 })
    local helper = tonumber(c:call_tool("helper-pid", {}).content[1].text)
    local t0 = sys.now()
    local ok, err = pcall(c.call_tool, c, "exit-now", {})
    assert.is_false(ok)
    assert.are.equal("transport", err.kind)
    assert.matches("exited with code 0", err.message)
    assert.is_true(sys.now() - t0 < 5, "waited for the timeout instead")
    c:close()
    assert.is_false(pid_alive(helper), "the helper outlived close()")
  end)

  it("keeps what the server writes on stderr while shutting down", function()
    local c = connect()
    c:close()
    assert.matches("bye from the test server", c.stderr)
  end)

  it("accepts numbers in the command, and keeps later arguments out of messages", function()
    local ok, err = pcall(mcp.connect, { command = { "node", SERVER, "exit-early", "--token", "s3cr3t", 42 } })
    assert.is_false(ok)
    assert.matches("exited with code 3", err.message)
    assert.is_nil(tostring(err):find("s3cr3t", 1, true))
  end)

  it("refuses a timeout that is not a positive number", function()
    local ok, err = pcall(mcp.connect, { command = { "node", SERVER }, timeout = 0 / 0 })
    assert.is_false(ok)
    assert.are.equal("usage", err.kind)
  end)

  it("records notifications in order", function()
    local c = connect()
    local got = {}
    c:on("notifications/message", function(p) got[#got + 1] = p.data end)
    assert.text_equals(c:call_tool("notify", { count = 3 }), "sent 3")
    assert.are.equal(3, #c.notifications)
    for i, n in ipairs(c.notifications) do
      assert.are.equal("notifications/message", n.method)
      assert.are.equal("note " .. i, n.params.data)
    end
    assert.are.same({ "note 1", "note 2", "note 3" }, got)
    c:close()
  end)
end)
