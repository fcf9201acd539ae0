-- Integration: server-everything (pinned) over Streamable HTTP on 127.0.0.1,
-- the same scenarios as over stdio, plus sampling and elicitation answered
-- over HTTP and logging notifications kept in c.notifications.
local mcp = require("mcptest")
local H = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "helpers.lua")

describe("server-everything over Streamable HTTP", function()
  local server, c
  local sampled, elicited

  setup(function()
    server = H.start_everything("streamableHttp")
    c = mcp.connect{
      url = server.base .. "/mcp",
      timeout = 20,
      on = {
        ["sampling/createMessage"] = function(params)
          sampled = params
          return { role = "assistant", model = "mcptest-lua",
                   content = { type = "text", text = "sampled by a Lua handler" } }
        end,
        ["elicitation/create"] = function(params)
          elicited = params
          return { action = "accept", content = { name = "Ada Lovelace", check = true } }
        end,
        ["roots/list"] = function()
          return { roots = { { uri = "file:///tmp/mcptest-root", name = "mcptest-root" } } }
        end,
      },
    }
  end)

  teardown(function()
    if c then c:close() end
    if server then server.stop() end
  end)

  it("initializes with server info, a session id and the negotiated version", function()
    assert.are.equal("mcp-servers/everything", c.server_info.name)
    assert.are.equal("2025-11-25", c.protocol_version)
    assert.is_string(c.session_id)
    assert.are.equal("streamable-http", c.transport.kind)
    assert.is_table(c.capabilities.tools)
  end)

  it("lists tools", function()
    local tools = c:list_tools()
    assert.has_tool(tools, "echo")
    assert.has_tool(tools, "get-sum")
    assert.has_tool(tools, "trigger-sampling-request")
  end)

  it("echoes", function()
    local r = c:call_tool("echo", { message = "hello over http" })
    assert.tool_ok(r)
    assert.text_equals(r, "Echo: hello over http")
  end)

  it("adds with get-sum", function()
    assert.text_matches(c:call_tool("get-sum", { a = 40, b = 2 }), "is 42")
  end)

  it("reports a bad argument as an error result or a JSON-RPC error", function()
    local ok, r = c:try("tools/call", { name = "get-sum", arguments = { a = "forty", b = 2 } })
    if ok then assert.is_not.tool_ok(r) else assert.are.equal(-32602, r.code) end
  end)

  it("answers a sampling request with a Lua handler, over HTTP", function()
    local r = c:call_tool("trigger-sampling-request", { prompt = "say hi", maxTokens = 11 })
    assert.tool_ok(r)
    assert.text_contains(r, "sampled by a Lua handler")
    assert.are.equal(11, sampled.maxTokens)
  end)

  it("answers an elicitation request, over HTTP", function()
    local r = c:call_tool("trigger-elicitation-request", {})
    assert.tool_ok(r)
    assert.text_contains(r, "Ada Lovelace")
    assert.is_table(elicited.requestedSchema)
  end)

  it("serves roots/list to the server", function()
    local r = c:call_tool("get-roots-list", {})
    assert.tool_ok(r)
    assert.text_contains(r, "file:///tmp/mcptest-root")
  end)

  it("lists and reads resources", function()
    local list = c:list_resources()
    assert.is_true(#list > 0)
    local res = c:read_resource(list[1].uri)
    assert.are.equal(list[1].uri, res.contents[1].uri)
  end)

  it("lists and gets prompts", function()
    local names = {}
    for _, p in ipairs(c:list_prompts()) do names[p.name] = true end
    assert.is_true(names["simple-prompt"])
    local got = c:get_prompt("args-prompt", { city = "Paris" })
    assert.matches("Paris", got.messages[1].content.text)
  end)

  it("pings", function()
    assert.are.same({}, c:ping())
  end)

  it("returns the unknown-method error code through c:try", function()
    local ok, err = c:try("no/such/method", {})
    assert.is_false(ok)
    assert.are.equal("jsonrpc", err.kind)
    assert.error_code(err, -32601)
  end)

  it("records logging notifications in c.notifications", function()
    assert.are.same({}, c:set_log_level("debug"))
    -- the tool emits progress/log notifications on its stream before its result
    c:call_tool("toggle-simulated-logging", {})
    local deadline = require("mcptest.core.sys").now() + 8
    local found
    repeat
      for _, n in ipairs(c.notifications) do
        if n.method == "notifications/message" then found = n end
      end
      if not found then c:ping(); require("mcptest.loop").step(0.2) end
    until found or require("mcptest.core.sys").now() > deadline
    c:call_tool("toggle-simulated-logging", {})
    assert.is_table(found, "no notifications/message arrived")
    assert.is_string(found.params.level)
  end)

  it("keeps one session across many calls (connection reuse)", function()
    local sid = c.session_id
    for i = 1, 50 do assert.text_equals(c:call_tool("echo", { message = tostring(i) }), "Echo: " .. i) end
    assert.are.equal(sid, c.transport.session_id)
  end)
end)

describe("server-everything's legacy HTTP+SSE mode (fallback)", function()
  local server

  setup(function() server = H.start_everything("sse") end)
  teardown(function() if server then server.stop() end end)

  it("falls back from a refused initialize POST to GET + endpoint", function()
    local c = mcp.connect{ url = server.base .. "/sse", timeout = 20 }
    assert.are.equal("sse", c.transport.kind)
    assert.are.equal("mcp-servers/everything", c.server_info.name)
    assert.text_equals(c:call_tool("echo", { message = "legacy" }), "Echo: legacy")
    assert.has_tool(c:list_tools(), "get-sum")
    c:close()
  end)
end)
