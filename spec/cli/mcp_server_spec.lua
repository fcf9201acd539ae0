-- mcptest mcp-server driven by mcptest's own client over stdio, every tool
-- against the fixture server: scaffold_suite's output runs green with
-- mcptest run; propose_assertions' output passes against the server it
-- came from and fails against a fixture answering differently; run_suite's
-- progress and cancellation; the stdio transport's line cap and EOF.
local mcp = require("mcptest")
local BIN = os.getenv("MCPTEST_BIN") or "build/mcptest"
local SRC = os.getenv("MCPTEST_SRC") or "."
local sys = require("mcptest.core.sys")

local fixture = mcp.fixture.start{}
local URL = fixture.url .. "/mcp/open"

local function tmpdir()
  local d = os.tmpname()
  os.remove(d)
  assert(os.execute("mkdir -p " .. d))
  return d
end

local function write(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

local function slurp(p) local f = io.open(p); local s = f:read("a"); f:close(); return s end

-- mcptest run FILE -o json against env; returns exit code and the report
local function run_suite_cli(file, env)
  local out = os.tmpname()
  local _, _, code = os.execute(string.format("%s %s run %s -o json >%s 2>&1 </dev/null", env or "", BIN, file, out))
  local text = slurp(out)
  os.remove(out)
  local doc
  for line in text:gmatch("[^\n]+") do
    local d = mcp.json.try_decode(line)
    if type(d) == "table" and d.summary then doc = d end
  end
  return code, doc, text
end

local function agent(opts)
  opts = opts or {}
  return mcp.connect{ command = { BIN, "mcp-server" }, env = { MCPTEST_SRC = SRC, MCPTEST_HOME = opts.home },
                      timeout = opts.timeout or 30, protocol = opts.protocol }
end

describe("mcptest mcp-server", function()
  local c, home
  setup(function()
    home = tmpdir()
    c = agent{ home = home }
  end)
  teardown(function() if c then c:close() end end)

  it("serves every tool with an inputSchema and an outputSchema", function()
    local tools = c:list_tools()
    local names = {}
    for _, t in ipairs(tools) do
      names[#names + 1] = t.name
      assert.are.equal("object", t.inputSchema.type, t.name)
      assert.are.equal("object", t.outputSchema.type, t.name)
      assert.is_table(t.inputSchema.properties.url, t.name)
      assert.is_table(t.inputSchema.properties.bearer_token_env, t.name)
    end
    table.sort(names)
    assert.are.same({ "auth_status", "call_tool", "compile_suite", "doctor", "list_tools", "propose_assertions",
                      "run_suite", "scaffold_suite" }, names)
  end)

  it("list_tools lists the fixture's tools, structured", function()
    local r = c:call_tool("list_tools", { url = URL })
    assert.tool_ok(r)
    assert.has_tool(r.structuredContent.tools, "echo")
    assert.are.equal(#r.structuredContent.tools, r.structuredContent.count)
    assert.are.same(r.structuredContent, mcp.json.decode(mcp.text(r)))
  end)

  it("list_tools over stdio (command)", function()
    local r = c:call_tool("list_tools", { command = { BIN, "mcp-server" } })
    assert.tool_ok(r)
    assert.has_tool(r.structuredContent.tools, "doctor")
  end)

  it("takes a registered server's name in url: its whole entry, auth included", function()
    local h = tmpdir()
    write(h .. "/servers.yaml", "servers:\n  bt:\n    url: " .. fixture.url .. "/mcp/bearer-token\n"
      .. "    auth: { bearer_token_env: FXT }\n")
    local a = mcp.connect{ command = { BIN, "mcp-server" }, timeout = 30,
                           env = { MCPTEST_SRC = SRC, MCPTEST_HOME = h, FXT = "test-bearer-token" } }
    finally(function() a:close(); os.execute("rm -rf " .. h) end)
    local r = a:call_tool("call_tool", { url = "bt", name = "whoami", arguments = {} })
    assert.tool_ok(r)
    assert.is_false(r.structuredContent.isError)
    r = a:call_tool("doctor", { url = "bt" })
    assert.tool_ok(r)
    assert.is_true(r.structuredContent.ok, mcp.json.encode(r.structuredContent.layers))
    r = a:call_tool("scaffold_suite", { url = "bt", format = "yaml" })
    assert.tool_ok(r)
    assert.matches("\n  server: bt ", r.structuredContent.suite)
    r = a:call_tool("list_tools", { url = "tb" })
    assert.is_not.tool_ok(r)
    assert.matches("unknown server tb %(did you mean bt%?%)", mcp.text(r))
  end)

  it("call_tool returns the tool's result, isError included", function()
    local r = c:call_tool("call_tool", { url = URL, name = "echo", arguments = { message = "hi", uppercase = true } })
    assert.tool_ok(r)
    assert.is_false(r.structuredContent.isError)
    assert.text_equals(r.structuredContent.result, "HI")
    r = c:call_tool("call_tool", { url = URL, name = "fail", arguments = {} })
    assert.tool_ok(r)
    assert.is_true(r.structuredContent.isError)
  end)

  it("refuses a bearer_token_env that is not a variable name, without echoing it", function()
    for _, name in ipairs({ "list_tools", "call_tool", "doctor", "auth_status", "propose_assertions", "scaffold_suite",
                            "run_suite" }) do
      local r = c:call_tool(name, { url = URL, bearer_token_env = "sk-live-SECRET123", name = "echo", path = "x.lua" })
      assert.is_not.tool_ok(r)
      assert.text_contains(r, "NAME of an environment variable")
      assert.is_nil(mcp.text(r):find("SECRET123", 1, true), name)
    end
  end)

  it("answers a 401 with the auth failure message as an isError result", function()
    local r = c:call_tool("list_tools", { url = fixture.url .. "/mcp/bearer-token" })
    assert.is_not.tool_ok(r)
    assert.text_contains(r, "401")
    assert.text_contains(r, "mcptest doctor")
  end)

  it("doctor returns the layered report, with progress", function()
    local res = c:request("tools/call", { name = "doctor", arguments = { url = URL }, _meta = { progressToken = "d1" } })
    assert.tool_ok(res)
    local s = res.structuredContent
    assert.is_true(s.ok)
    assert.are.equal("CONFIG", s.layers[1].name)
    local mcp_layer
    for _, l in ipairs(s.layers) do if l.name == "MCP" then mcp_layer = l end end
    assert.are.equal("OK", mcp_layer.status)
    local seen = 0
    for _, n in ipairs(c.notifications) do
      if n.method == "notifications/progress" and n.params.progressToken == "d1" then seen = seen + 1 end
    end
    assert.is_true(seen >= 2)
    local bad = c:call_tool("doctor", { url = "http://127.0.0.1:1/mcp", timeout = 2 })
    assert.tool_ok(bad)
    assert.is_false(bad.structuredContent.ok)
  end)

  it("auth_status: the cache, the env var's state (never its value) and doctor's AUTH finding", function()
    local r = c:call_tool("auth_status", { url = fixture.url .. "/mcp/bearer-token", bearer_token_env = "MCPTEST_NO_SUCH_VAR_X" })
    assert.tool_ok(r)
    local s = r.structuredContent
    assert.are.same({}, s.cached)
    assert.are.same({ name = "MCPTEST_NO_SUCH_VAR_X", set = false }, s.bearer_token_env)
    assert.are.equal("FAIL", s.auth.status)
    assert.is_string(s.auth.hint)
  end)

  it("scaffold_suite writes a Lua suite that runs green against the same server", function()
    local r = c:call_tool("scaffold_suite", { url = URL })
    assert.tool_ok(r)
    local s = r.structuredContent
    assert.are.equal("lua", s.format)
    assert.is_true(s.tools > 3)
    local file = tmpdir() .. "/scaffold_spec.lua"
    write(file, s.suite)
    local code, doc, text = run_suite_cli(file)
    assert.are.equal(0, code, text)
    assert.is_true(doc.summary.passed >= 1, text)
    assert.are.equal(0, doc.summary.failed, text)
    -- and it fails against a server that does not have those tools
    local code2 = run_suite_cli(file, "MCPTEST_URL=" .. fixture.url .. "/no/such/route")
    assert.are_not.equal(0, code2)
  end)

  it("scaffold_suite's YAML compiles with compile_suite and runs green; compile_suite shows schema errors", function()
    local r = c:call_tool("scaffold_suite", { url = URL, format = "yaml" })
    assert.tool_ok(r)
    assert.are.equal("yaml", r.structuredContent.format)
    local dir = tmpdir()
    local file = dir .. "/scaffold.test.yaml"
    write(file, r.structuredContent.suite)
    local cr = c:call_tool("compile_suite", { path = file })
    assert.tool_ok(cr)
    assert.matches("describe(", cr.structuredContent.lua, 1, true)
    local code, doc, text = run_suite_cli(file)
    assert.are.equal(0, code, text)
    assert.is_true(doc.summary.passed >= 1, text)
    -- a suite with a typo: every error as FILE:LINE:COL, an isError result
    write(dir .. "/bad.test.yaml", "servers:\n  s: { url: http://127.0.0.1:9/mcp }\ntests:\n  - name: t\n    tool: echo\n    expct: { text: hi }\n")
    local bad = c:call_tool("compile_suite", { path = dir .. "/bad.test.yaml" })
    assert.is_not.tool_ok(bad)
    assert.text_contains(bad, dir .. "/bad.test.yaml:6:5:")
  end)

  it("propose_assertions: passes against its server, fails against one that answers differently", function()
    local r = c:call_tool("propose_assertions", { url = URL, name = "whoami", arguments = {} })
    assert.tool_ok(r)
    local s = r.structuredContent
    assert.is_string(s.lua)
    local e = c:call_tool("propose_assertions", { url = URL, name = "echo", arguments = { message = "pinned" }, repeat_ok = true })
    assert.tool_ok(e)
    assert.is_true(e.structuredContent.called_twice)
    assert.is_true(e.structuredContent.lua:find("assert.text_equals(r, \"pinned\")", 1, true) ~= nil, e.structuredContent.lua)
    local j = c:call_tool("propose_assertions", { url = URL, name = "fail", arguments = { mode = "jsonrpc" } })
    assert.tool_ok(j)
    assert.is_true(j.structuredContent.lua:find("assert.error_code(err, -32603)", 1, true) ~= nil, j.structuredContent.lua)
    local other = mcp.fixture.start{ faults = { tools = { echo = { tool_error = true }, fail = { status = 500 } } } }
    local suite = table.concat({
      "local mcp = require(\"mcptest\")",
      "it(\"pinned\", function()",
      "  local c = mcp.connect{ url = os.getenv(\"MCPTEST_URL\") }",
      s.lua, e.structuredContent.lua, j.structuredContent.lua,
      "  c:close()",
      "end)", "" }, "\n")
    local file = tmpdir() .. "/pinned_spec.lua"
    write(file, suite)
    local code, doc, text = run_suite_cli(file, "MCPTEST_URL=" .. URL)
    assert.are.equal(0, code, text .. suite)
    assert.are.equal(1, doc.summary.passed)
    local code2, doc2, text2 = run_suite_cli(file, "MCPTEST_URL=" .. other.url .. "/mcp/open")
    other:stop()
    assert.are.equal(1, code2, text2)
    assert.are.equal(1, doc2.summary.failed)
  end)

  it("propose_assertions leaves out what changed between two calls", function()
    -- a real tool whose result changes: run_suite's duration (mcptest
    -- mcp-server itself is the target, over stdio)
    local file = tmpdir() .. "/tiny_spec.lua"
    write(file, "it(\"one\", function() assert.is_true(true) end)\n")
    local r = c:call_tool("propose_assertions", { command = { BIN, "mcp-server" }, name = "run_suite",
                                                  arguments = { path = file }, repeat_ok = true })
    assert.tool_ok(r)
    local s = r.structuredContent
    assert.is_true(s.called_twice)
    assert.is_true(s.lua:find('field_equals(r.structuredContent, "passed", 1)', 1, true) ~= nil, s.lua)
    assert.is_nil(s.lua:find('"duration"', 1, true), s.lua)
    assert.is_nil(s.lua:find("text_equals", 1, true), s.lua)
    local unstable = table.concat(s.unstable, " ")
    assert.is_true(unstable:find("duration", 1, true) ~= nil, unstable)
    -- the text is the same JSON: pinned through structuredContent, never as a string
    assert.is_nil(s.lua:find("mcp.text(r)", 1, true), s.lua)
    -- called once (not annotated, no repeat_ok): the shapes decide
    local once = c:call_tool("propose_assertions", { command = { BIN, "mcp-server" }, name = "run_suite",
                                                     arguments = { path = file } })
    assert.is_false(once.structuredContent.called_twice)
    -- Lua literals of JSON values round-trip
    local lit = require("mcptest.cli.mcp_tools").lua_literal({ a = 1, b = { "x", true }, ["c-d"] = mcp.json.null,
                                                               s = "two\nlines \"quoted\"\0" })
    local v = load("local mcp = require('mcptest'); return " .. lit)()
    assert.are.same({ "x", true }, v.b)
    assert.are.equal(mcp.json.null, v["c-d"])
    assert.are.equal("two\nlines \"quoted\"\0", v.s)
  end)

  it("run_suite: counts and each failure with file:line and message", function()
    local dir = tmpdir()
    write(dir .. "/mixed_spec.lua", table.concat({
      "local mcp = require(\"mcptest\")",
      "it(\"passes\", function()",
      "  local c = mcp.connect{ url = os.getenv(\"MCPTEST_URL\") }",
      "  assert.text_equals(c:call_tool(\"echo\", { message = \"a\" }), \"a\")",
      "end)",
      "it(\"fails\", function()",
      "  assert.are.equal(1, 2)",
      "end)", "" }, "\n"))
    local res = c:request("tools/call", { name = "run_suite", arguments = { path = dir .. "/mixed_spec.lua", url = URL },
                                          _meta = { progressToken = "r1" } })
    assert.tool_ok(res)
    local s = res.structuredContent
    assert.are.equal(2, s.tests)
    assert.are.equal(1, s.passed)
    assert.are.equal(1, s.failed)
    assert.is_false(s.ok)
    assert.are.equal(1, #s.failures)
    assert.are.equal("fails", s.failures[1].name)
    assert.are.equal(7, s.failures[1].line)
    assert.is_true(s.failures[1].file:find("mixed_spec.lua", 1, true) ~= nil)
    assert.is_string(s.failures[1].message)
    local seen = false
    for _, n in ipairs(c.notifications) do
      if n.method == "notifications/progress" and n.params.progressToken == "r1" then seen = true end
    end
    assert.is_true(seen)
    local f = c:call_tool("run_suite", { path = dir .. "/mixed_spec.lua", url = URL, filter = "passes" })
    assert.are.equal(1, f.structuredContent.tests)
    assert.is_true(f.structuredContent.ok)
    local missing = c:call_tool("run_suite", { path = dir .. "/none.lua" })
    assert.is_not.tool_ok(missing)
    assert.text_contains(missing, "no file or directory")
  end)

  it("speaks the era the client asks for: modern by server/discover, legacy by initialize", function()
    assert.are.equal("modern", c.era)
    local old = mcp.connect{ command = { BIN, "mcp-server" }, env = { MCPTEST_SRC = SRC, MCPTEST_HOME = home },
                             protocol = "2025-11-25", timeout = 30 }
    assert.are.equal("legacy", old.era)
    assert.is_true(#old:list_tools() >= 8)
    old:close()
  end)

  for _, era in ipairs({ "modern", "legacy" }) do
  it("run_suite stops the child on notifications/cancelled (" .. era .. " era)", function()
    local dir = tmpdir()
    local pidfile = dir .. "/pid"
    write(dir .. "/slow_spec.lua", table.concat({
      "local sys = require(\"mcptest.core.sys\")",
      "it(\"waits\", function()",
      "  local f = io.open(" .. string.format("%q", pidfile) .. ", \"w\"); f:write(sys.pid()); f:close()",
      "  sys.sleep(30)",
      "end)", "" }, "\n"))
    local short = agent{ home = home, timeout = 1.5, protocol = era == "legacy" and "2025-11-25" or nil }
    assert.are.equal(era, short.era)
    local t0 = sys.now()
    local ok, err = short:try("tools/call", { name = "run_suite", arguments = { path = dir .. "/slow_spec.lua" } })
    assert.is_false(ok)
    assert.are.equal("timeout", err.kind)
    local pid = tonumber(slurp(pidfile))
    assert.is_number(pid)
    local gone = false
    while sys.now() - t0 < 5 do
      if not os.execute("kill -0 " .. pid .. " 2>/dev/null") then gone = true; break end
      sys.sleep(0.05)
    end
    short:close()
    assert.is_true(gone, "the suite process still runs after the cancellation")
  end)
  end

  it("serves the docs pages as resources and the write_suite prompt", function()
    local res = c:list_resources()
    local uris = {}
    for _, r in ipairs(res) do uris[r.uri] = true end
    assert.is_true(uris["mcptest://docs/lua-api"])
    assert.is_true(uris["mcptest://docs/cli"])
    assert.is_true(uris["mcptest://docs/doctor"])
    local page = c:read_resource("mcptest://docs/doctor")
    assert.are.equal(slurp(SRC .. "/docs/doctor.md"), page.contents[1].text)
    local p = c:get_prompt("write_suite", { target = URL })
    local text = p.messages[1].content.text
    assert.is_true(text:find("scaffold_suite", 1, true) ~= nil)
    assert.is_true(text:find("run_suite", 1, true) ~= nil)
  end)
end)

describe("mcptest mcp-server's stdio transport", function()
  local function raw(input)
    local inp, out = os.tmpname(), os.tmpname()
    write(inp, input)
    local _, _, code = os.execute(string.format("%s mcp-server <%s >%s 2>/dev/null", BIN, inp, out))
    local lines = {}
    for l in slurp(out):gmatch("[^\n]+") do lines[#lines + 1] = mcp.json.decode(l) end
    os.remove(inp); os.remove(out)
    return code, lines
  end

  it("refuses a stray word with exit 2, and is no longer a planned verb", function()
    local _, _, code = os.execute(BIN .. " mcp-server extra </dev/null >/dev/null 2>&1")
    assert.are.equal(2, code)
    local p = io.popen(BIN .. " --help")
    local help = p:read("a"); p:close()
    assert.matches("mcp%-server", help)
  end)

  it("exits 0 when stdin ends, answering a last line without its newline", function()
    local code, lines = raw('{"jsonrpc":"2.0","id":1,"method":"ping"}')
    assert.are.equal(0, code)
    assert.are.equal(1, lines[1].id)
  end)

  it("answers the requests in flight when stdin ends before exiting", function()
    local call = mcp.json.encode({ jsonrpc = "2.0", id = 5, method = "tools/call",
      params = { name = "call_tool", arguments = { url = URL, name = "sleep", arguments = { seconds = 0.3 } } } })
    local code, lines = raw(call .. "\n")
    assert.are.equal(0, code)
    assert.are.equal(1, #lines)
    assert.are.equal(5, lines[1].id)
    assert.is_false(lines[1].result.structuredContent.isError)
  end)

  it("answers a line over the cap with -32600 naming the cap, and goes on", function()
    local big = '{"jsonrpc":"2.0","id":9,"method":"ping","params":{"x":"' .. string.rep("a", 1100000) .. '"}}'
    local code, lines = raw(big .. "\nnot json\n" .. '{"jsonrpc":"2.0","id":2,"method":"ping"}\n')
    assert.are.equal(0, code)
    assert.are.equal(3, #lines)
    assert.are.equal(-32600, lines[1].error.code)
    assert.is_true(lines[1].error.message:find("1048576 bytes", 1, true) ~= nil, lines[1].error.message)
    assert.are.equal(-32700, lines[2].error.code)
    assert.are.equal(2, lines[3].id)
  end)
end)
