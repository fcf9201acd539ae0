-- spec/server/engine_spec.lua: the MCP server engine (mcptest.server) on
-- its own, with a two-tool catalog defined here and no fixture module,
-- served over Streamable HTTP on 127.0.0.1 inside this process (the
-- engine and the client share the state's loop) and driven by mcp.connect.
--   mcptest run spec/server/engine_spec.lua
local mcp = require("mcptest")
local json = require("mcptest.json")
local server = require("mcptest.server")
local context = require("mcptest.server.context")

local function text(s) return { content = json.array({ { type = "text", text = s } }) } end

local CATALOG = {
  tools = {
    { name = "add", description = "Adds a and b.",
      inputSchema = { type = "object", properties = { a = { type = "number" }, b = { type = "number" } },
                      required = json.array({ "a", "b" }) },
      secret_field = "never listed",
      run = function(_, args)
        if type(args.a) ~= "number" or type(args.b) ~= "number" then
          error(context.rpc_error(-32602, "a and b must be numbers"), 0)
        end
        return text(tostring(args.a + args.b))
      end },
    { name = "count", description = "Counts to n, with a progress notification per step.",
      inputSchema = { type = "object", properties = { n = { type = "integer" } } },
      run = function(ctx, args)
        local n = math.tointeger(args.n) or 2
        for i = 1, n do
          ctx:progress(i, n, "step " .. i)
          ctx:sleep(0.01)
        end
        return text("counted to " .. n)
      end },
  },
  instructions = "a two-tool engine test",
}

describe("mcptest.server (the engine alone)", function()
  local srv, c

  setup(function()
    srv = server.new{ catalog = CATALOG, config = { port = 0 },
                      server_info = { name = "engine-spec", version = "1.0" } }
    srv:streamable_http("/mcp")
    assert(srv:start())
    -- the legacy era (sessions); spec/client/era_spec.lua drives the modern one
    c = mcp.connect{ url = srv.url .. "/mcp", timeout = 10, protocol = "2025-11-25" }
  end)

  teardown(function()
    if c then c:close() end
    if srv then srv:stop() end
  end)

  it("never loads a fixture module", function()
    for name in pairs(package.loaded) do
      assert.is_nil(name:match("^mcptest%.fixture%."), name)
    end
  end)

  it("initializes: version, server info, instructions, capabilities of its catalog, a session", function()
    assert.equals("2025-11-25", c.protocol_version)
    assert.equals("engine-spec", c.server_info.name)
    assert.is_string(c.session_id)
    assert.is_table(c.capabilities.tools)
    assert.is_nil(c.capabilities.prompts)
    assert.is_nil(c.capabilities.resources)
  end)

  it("lists its tools with their MCP fields only", function()
    local tools = c:list_tools()
    assert.equals(2, #tools)
    assert.equals("add", tools[1].name)
    assert.equals("count", tools[2].name)
    assert.is_table(tools[1].inputSchema)
    assert.is_nil(tools[1].secret_field)
    assert.is_nil(tools[1].run)
  end)

  it("calls a tool; a JSON-RPC error raised by it reaches the client", function()
    assert.equals("5", mcp.text(c:call_tool("add", { a = 2, b = 3 })))
    local ok, err = c:try("tools/call", { name = "add", arguments = { a = "x", b = 1 } })
    assert.is_false(ok)
    assert.equals(-32602, err.code)
    ok, err = c:try("tools/call", { name = "nope", arguments = {} })
    assert.is_false(ok)
    assert.equals(-32602, err.code)
  end)

  it("answers an unknown method, and a capability it lacks, with -32601", function()
    for _, m in ipairs({ "no/such/method", "prompts/list" }) do
      local ok, err = c:try(m, {})
      assert.is_false(ok)
      assert.equals(-32601, err.code, m)
    end
  end)

  it("streams progress notifications before the result", function()
    c.notifications = {}
    local r = c:request("tools/call", { name = "count", arguments = { n = 3 }, _meta = { progressToken = "p-1" } })
    assert.equals("counted to 3", mcp.text(r))
    local seen = {}
    for _, n in ipairs(c.notifications) do
      if n.method == "notifications/progress" and n.params.progressToken == "p-1" then
        seen[#seen + 1] = n.params.progress
      end
    end
    assert.same({ 1, 2, 3 }, seen)
  end)

  it("answers ping and serves concurrent calls from tasks", function()
    assert.is_true(c:ping() ~= nil)
    local tasks = {}
    for i = 1, 4 do
      tasks[i] = mcp.spawn(function() return mcp.text(c:call_tool("add", { a = i, b = i })) end)
    end
    assert.is_true(mcp.join(tasks, 10))
    for i = 1, 4 do assert.equals(tostring(2 * i), tasks[i].results[1]) end
  end)
end)

-- The stdio transport on its own, fed lines directly: a modern request's
-- session ends with the request (a long-lived mcp-server must not keep one
-- per request it ever answered).
describe("mcptest.server.stdio", function()
  it("keeps no session of a modern request once it is answered", function()
    local loop = require("mcptest.loop")
    local srv = server.new{ catalog = CATALOG, config = {}, server_info = { name = "engine-spec", version = "1.0" } }
    local out = assert(io.tmpfile())
    local t = require("mcptest.server.stdio").new(srv, { output = out })
    local meta = { ["io.modelcontextprotocol/protocolVersion"] = "2026-07-28",
                   ["io.modelcontextprotocol/clientCapabilities"] = json.object() }
    for i = 1, 50 do
      t:feed(json.encode({ jsonrpc = "2.0", id = i, method = "tools/call",
                           params = { name = "add", arguments = { a = i, b = 1 }, _meta = meta } }) .. "\n")
    end
    for _ = 1, 20 do loop.step(0) end
    out:seek("set")
    local answers = 0
    for line in out:lines() do
      if json.decode(line).result then answers = answers + 1 end
    end
    assert.are.equal(50, answers)
    assert.are.equal("modern", t.era)
    assert.is_nil(next(t.modern_sessions))
  end)
end)
