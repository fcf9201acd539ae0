-- examples/everything_stdio.lua: a first suite against the official MCP
-- reference server (server-everything) started over stdio.
--   mcptest examples/everything_stdio.lua
-- scripts/deps.sh installs the pinned server into .deps/npm; point
-- MCPTEST_EVERYTHING at another copy of its dist/index.js to use that.
local mcp = require("mcptest")

local server = os.getenv("MCPTEST_EVERYTHING")
  or ".deps/npm/node_modules/@modelcontextprotocol/server-everything/dist/index.js"

describe("server-everything over stdio", function()
  local c

  setup(function()
    c = mcp.connect{
      command = { "node", server, "stdio" },
      -- a handler here also declares the sampling capability
      on = {
        ["sampling/createMessage"] = function(params)
          return { role = "assistant", model = "example",
                   content = { type = "text", text = "42" } }
        end,
      },
    }
  end)

  teardown(function() c:close() end)

  it("says who it is", function()
    assert.are.equal("mcp-servers/everything", c.server_info.name)
  end)

  it("offers an echo tool", function()
    assert.has_tool(c:list_tools(), "echo")
  end)

  it("echoes", function()
    local result = c:call_tool("echo", { message = "hello" })
    assert.tool_ok(result)
    assert.text_equals(result, "Echo: hello")
  end)

  it("adds", function()
    assert.text_contains(c:call_tool("get-sum", { a = 2, b = 3 }), "5")
  end)

  it("asks us to sample, and uses our answer", function()
    assert.text_contains(c:call_tool("trigger-sampling-request", { prompt = "?" }), "42")
  end)

  it("rejects an unknown method with -32601", function()
    local ok, err = c:try("no/such/method")
    assert.is_false(ok)
    assert.error_code(err, -32601)
  end)
end)
