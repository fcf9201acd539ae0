-- Interop: mcptest's client against a server built on the official
-- TypeScript SDK v2 (@modelcontextprotocol/server 2.4.0, pinned in
-- scripts/npm-sdk2, installed into .deps/npm-sdk2 by scripts/deps.sh;
-- the server is spec/data/sdk2_server.cjs) in its 2026-07-28 mode, over
-- stdio (the SDK's serveStdio) and HTTP (its createMcpHandler): era
-- detection, tools, input_required round trips for elicitation and
-- sampling, resources, prompts, and the legacy era of the same server.
local mcp = require("mcptest")
local sys = require("mcptest.core.sys")
local process = require("mcptest.core.process")
local poll = require("mcptest.core.poll")

local SRC = os.getenv("MCPTEST_SRC") or "."
local DEPS = os.getenv("MCPTEST_SDK2_DIR") or (SRC .. "/.deps/npm-sdk2")
local SERVER = SRC .. "/spec/data/sdk2_server.cjs"

local function installed()
  local f = io.open(DEPS .. "/node_modules/@modelcontextprotocol/server/package.json", "r")
  if f then f:close() return true end
  return false
end

local HANDLERS = {
  ["elicitation/create"] = function(p)
    assert.are.equal("Your name?", p.message)
    return { action = "accept", content = { name = "Ada" } }
  end,
  ["sampling/createMessage"] = function(p)
    assert.are.equal("say hi", p.messages[1].content.text)
    return { role = "assistant", model = "test-model", content = { type = "text", text = "hi there" } }
  end,
}

-- The checks every modern connection to the SDK server passes.
local function modern_checks(c)
  assert.are.equal("modern", c.era)
  assert.are.equal("2026-07-28", c.protocol_version)
  assert.are.equal("sdk2-interop", c.server_info.name)
  local tools = c:list_tools()
  assert.has_tool(tools, "echo")
  assert.has_tool(tools, "ask")
  assert.text_equals(c:call_tool("echo", { message = "hi" }), "hi")
  assert.text_equals(c:call_tool("ask", {}), "hello Ada")
  assert.are.equal(1, #c.input_rounds)
  local _, req = next(c.input_rounds[1].inputRequests)
  assert.are.equal("elicitation/create", req.method)
  assert.text_equals(c:call_tool("sample", {}), "model said hi there")
  assert.are.equal(1, #c.input_rounds)
  assert.are.equal("sdk2 readme", c:read_resource("sdk2://readme").contents[1].text)
  assert.are.equal("greet Bo", c:get_prompt("greet", { name = "Bo" }).messages[1].content.text)
end

describe("the TypeScript SDK v2 server", function()
  setup(function()
    assert(installed(), "@modelcontextprotocol/server is not installed in " .. DEPS .. ": run scripts/deps.sh")
  end)

  for _, mode in ipairs({ "dual", "modern" }) do
    it("over stdio (" .. mode .. "): auto picks modern; tools, input_required, resources, prompts", function()
      local c = mcp.connect{ command = { "node", SERVER, DEPS, mode }, timeout = 20, on = HANDLERS }
      modern_checks(c)
      assert.matches("server/discover answered", c.era_reason)
      c:close()
    end)
  end

  it("over stdio: c:subscribe opens subscriptions/listen; list_changed arrives in c.notifications", function()
    local c = mcp.connect{ command = { "node", SERVER, DEPS, "dual" }, timeout = 20, on = HANDLERS }
    assert.are.equal("modern", c.era)
    local ack = c:subscribe("sdk2://readme")
    assert.is_true(ack.notifications.toolsListChanged)
    -- the honoured subset: this server does not announce resources.subscribe
    assert.is_nil(ack.notifications.resourceSubscriptions)
    local listen = c.listen_id
    assert.text_equals(c:call_tool("grow", {}), "added grown1")
    local deadline = sys.now() + 10
    local got
    while not got and sys.now() < deadline do
      for _, n in ipairs(c.notifications) do
        if n.method == "notifications/tools/list_changed" then got = n end
      end
      if not got then c:call_tool("echo", { message = "tick" }) end
    end
    assert(got, "no notifications/tools/list_changed arrived")
    assert.are.equal(listen, got.params._meta["io.modelcontextprotocol/subscriptionId"])
    assert.has_tool(c:list_tools(), "grown1")
    -- a new filter replaces the listen
    c:unsubscribe("sdk2://readme")
    assert.are_not.equal(listen, c.listen_id)
    c:close()
  end)

  it("over stdio (dual): the legacy era when pinned", function()
    local c = mcp.connect{ command = { "node", SERVER, DEPS, "dual" }, timeout = 20, protocol = "2025-11-25" }
    assert.are.equal("legacy", c.era)
    assert.text_equals(c:call_tool("echo", { message = "old" }), "old")
    c:close()
  end)

  describe("over HTTP (createMcpHandler)", function()
    local proc, url
    setup(function()
      proc = assert(process.spawn{ argv = { "node", SERVER, DEPS, "http" } })
      local deadline = sys.now() + 20
      while not url and sys.now() < deadline do
        local lines, n, eof = proc:read_lines()
        for i = 1, n or 0 do url = url or lines[i]:match("^(http://%S+)") end
        if eof then break end
        if not url then poll.wait({ proc:fds() }, nil, 0.1) end
      end
      assert(url, "sdk2_server.cjs http did not start: " .. tostring(proc:read_stderr()))
    end)
    teardown(function() if proc then proc:close(1) end end)

    it("auto picks modern; tools, input_required, resources, prompts", function()
      local c = mcp.connect{ url = url, timeout = 20, on = HANDLERS }
      modern_checks(c)
      assert.is_nil(c.session_id)
      c:close()
    end)

    it("c:subscribe opens subscriptions/listen (a long-lived SSE response), acknowledged", function()
      local c = mcp.connect{ url = url, timeout = 20, on = HANDLERS }
      local ack = c:subscribe()
      assert.is_true(ack.notifications.toolsListChanged)
      local first = c.listen_id
      assert.text_equals(c:call_tool("echo", { message = "while listening" }), "while listening")
      ack = c:subscribe("sdk2://readme") -- a new filter: the old stream closed, a new one open
      assert.are_not.equal(first, c.listen_id)
      assert.are.equal(c.listen_id, ack._meta["io.modelcontextprotocol/subscriptionId"])
      c:close()
    end)

    it("mcptest load: a handler's time between input_required rounds is in mcp_call_duration only", function()
      local dir = os.tmpname()
      local f = assert(io.open(dir, "w"))
      f:write([[
local mcp = require("mcptest")
local function busy() local t = os.clock() + 0.3; while os.clock() < t do end end
options = { thresholds = { ["mcp_call_duration{name:ask}"] = { "count>0" }, ["mcp_req_duration{name:ask}"] = { "count>0" } } }
function default(data, vu)
  vu.c = vu.c or mcp.connect{ url = os.getenv("URL"), timeout = 20, on = { ["elicitation/create"] = function()
    busy(); return { action = "accept", content = { name = "Ada" } } end } }
  vu.c:call_tool("ask", {})
end
]])
      f:close()
      local bin = os.getenv("MCPTEST_BIN") or (SRC .. "/build/mcptest")
      local _, _, code = os.execute(string.format("URL=%s %s load %s --vus 1 --iterations 3 -q -o json:%s.json >/dev/null 2>%s.err </dev/null",
        url, bin, dir, dir, dir))
      local ef = io.open(dir .. ".err"); local err = ef:read("a"); ef:close()
      assert.are.equal(0, code, err)
      local jf = io.open(dir .. ".json"); local m = mcp.json.decode(jf:read("a")).metrics; jf:close()
      os.remove(dir); os.remove(dir .. ".json"); os.remove(dir .. ".err")
      local call, wire = m["mcp_call_duration{name:ask}"].values, m["mcp_req_duration{name:ask}"].values
      assert.are.equal(3, call.count)
      assert.is_true(call.min >= 300, "the call includes the handler: min " .. call.min .. " ms")
      assert.is_true(wire.max < 150, "the wire time excludes it: max " .. wire.max .. " ms")
    end)

    it("the legacy era when pinned", function()
      local c = mcp.connect{ url = url, timeout = 20, protocol = "2025-11-25" }
      assert.are.equal("legacy", c.era)
      assert.text_equals(c:call_tool("echo", { message = "old" }), "old")
      c:close()
    end)
  end)
end)
