-- Integration: the official reference server, server-everything (pinned in
-- scripts/npm/package.json), started over stdio.
local mcp = require("mcptest")

local SRC = os.getenv("MCPTEST_SRC") or "."
local SE = SRC .. "/.deps/npm/node_modules/@modelcontextprotocol/server-everything/dist/index.js"

describe("server-everything over stdio", function()
  local c
  local sampled, elicited

  setup(function()
    c = mcp.connect{
      command = { "node", SE, "stdio" },
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

  teardown(function() if c then c:close() end end)

  it("initializes with server info and capabilities", function()
    assert.are.equal("mcp-servers/everything", c.server_info.name)
    assert.are.equal("2025-11-25", c.protocol_version)
    assert.is_table(c.capabilities.tools)
    assert.is_table(c.capabilities.resources)
    assert.is_table(c.capabilities.prompts)
  end)

  it("lists tools, including the capability-gated ones", function()
    local tools = c:list_tools()
    assert.has_tool(tools, "echo")
    assert.has_tool(tools, "get-sum")
    assert.has_tool(tools, "trigger-sampling-request")
    assert.has_tool(tools, "trigger-elicitation-request")
    assert.has_tool(tools, "get-roots-list")
  end)

  it("echoes", function()
    local r = c:call_tool("echo", { message = "hello mcptest" })
    assert.tool_ok(r)
    assert.text_equals(r, "Echo: hello mcptest")
  end)

  it("adds with get-sum", function()
    local r = c:call_tool("get-sum", { a = 40, b = 2 })
    assert.tool_ok(r)
    assert.text_matches(r, "is 42")
  end)

  it("reports a bad argument as an error result or a JSON-RPC error", function()
    local ok, r = c:try("tools/call", { name = "get-sum", arguments = { a = "forty", b = 2 } })
    if ok then
      assert.is_not.tool_ok(r)
      assert.text_contains(r, "a")
    else
      assert.are.equal(-32602, r.code)
    end
  end)

  it("answers a sampling request with a Lua handler", function()
    local r = c:call_tool("trigger-sampling-request", { prompt = "say hi", maxTokens = 11 })
    assert.tool_ok(r)
    assert.text_contains(r, "sampled by a Lua handler")
    assert.are.equal(11, sampled.maxTokens)
    assert.are.equal("user", sampled.messages[1].role)
  end)

  it("answers an elicitation request", function()
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
    local first = list[1]
    local res = c:read_resource(first.uri)
    assert.are.equal(first.uri, res.contents[1].uri)
    local templates = c:list_resource_templates()
    assert.is_table(templates)
  end)

  it("lists and gets prompts", function()
    local prompts = c:list_prompts()
    local names = {}
    for _, p in ipairs(prompts) do names[p.name] = p end
    assert.is_table(names["simple-prompt"])
    local got = c:get_prompt("simple-prompt", {})
    assert.is_true(#got.messages >= 1)
    assert.are.equal("user", got.messages[1].role)
  end)

  it("gets a prompt with arguments", function()
    local got = c:get_prompt("args-prompt", { city = "Paris" })
    assert.matches("Paris", got.messages[1].content.text)
  end)

  it("completes a prompt argument", function()
    local r = c:complete({ type = "ref/prompt", name = "completable-prompt" },
                         { name = "department", value = "E" })
    assert.are.same({ "Engineering" }, r.completion.values)
  end)

  it("lists resource templates", function()
    local templates = c:list_resource_templates()
    local found = false
    for _, t in ipairs(templates) do
      if t.uriTemplate == "demo://resource/dynamic/text/{resourceId}" then found = true end
    end
    assert.is_true(found)
  end)

  it("subscribes to and unsubscribes from a resource", function()
    local uri = c:list_resources()[1].uri
    assert.are.same({}, c:subscribe(uri))
    assert.are.same({}, c:unsubscribe(uri))
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

  it("sets the log level and keeps the server's notifications", function()
    assert.are.same({}, c:set_log_level("debug"))
    assert.is_table(c.notifications)
  end)
end)
