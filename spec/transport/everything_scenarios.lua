-- The scenarios every transport must pass against server-everything
-- (pinned in scripts/npm/package.json). A spec calls this with how to
-- start the server and connect; transport-specific tests stay in that spec.
--   assert(loadfile(".../everything_scenarios.lua", "t", _ENV))(){ name = "...", connect = function() return opts, stop end,
--                                          extra = function(get_client) ... end }
local mcp = require("mcptest")

return function(t)
  describe(t.name, function()
    local c, stop
    local sampled, elicited

    setup(function()
      local opts
      opts, stop = t.connect()
      opts.timeout = opts.timeout or 20
      opts.on = {
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
      }
      c = mcp.connect(opts)
    end)

    teardown(function()
      if c then c:close() end
      if stop then stop() end
    end)

    it("initializes with server info and capabilities", function()
      assert.are.equal("mcp-servers/everything", c.server_info.name)
      assert.are.equal("2025-11-25", c.protocol_version)
      assert.are.equal("legacy", c.era)
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
      if ok then assert.is_not.tool_ok(r) else assert.are.equal(-32602, r.code) end
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
      local res = c:read_resource(list[1].uri)
      assert.are.equal(list[1].uri, res.contents[1].uri)
    end)

    it("lists resource templates", function()
      local found = false
      for _, tpl in ipairs(c:list_resource_templates()) do
        if tpl.uriTemplate == "demo://resource/dynamic/text/{resourceId}" then found = true end
      end
      assert.is_true(found)
    end)

    it("subscribes to and unsubscribes from a resource", function()
      local uri = c:list_resources()[1].uri
      assert.are.same({}, c:subscribe(uri))
      assert.are.same({}, c:unsubscribe(uri))
    end)

    it("lists and gets prompts, with arguments", function()
      local names = {}
      for _, p in ipairs(c:list_prompts()) do names[p.name] = true end
      assert.is_true(names["simple-prompt"])
      local got = c:get_prompt("simple-prompt", {})
      assert.are.equal("user", got.messages[1].role)
      got = c:get_prompt("args-prompt", { city = "Paris" })
      assert.matches("Paris", got.messages[1].content.text)
    end)

    it("completes a prompt argument", function()
      local r = c:complete({ type = "ref/prompt", name = "completable-prompt" },
                           { name = "department", value = "E" })
      assert.are.same({ "Engineering" }, r.completion.values)
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

    it("sets the log level", function()
      assert.are.same({}, c:set_log_level("debug"))
    end)

    if t.extra then t.extra(function() return c end) end
  end)
end
