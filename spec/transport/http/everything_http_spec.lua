-- Integration: server-everything (pinned) over Streamable HTTP on 127.0.0.1:
-- the scenarios every transport passes (spec/transport/everything_scenarios.lua,
-- sampling and elicitation answered over HTTP among them), plus logging
-- notifications kept in c.notifications and session reuse.
local mcp = require("mcptest")
local H = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "helpers.lua")

local SRC = os.getenv("MCPTEST_SRC") or "."
-- loaded into this file's environment, where busted put describe and it
assert(loadfile(SRC .. "/spec/transport/everything_scenarios.lua", "t", _ENV))(){
  name = "server-everything over Streamable HTTP",
  connect = function()
    local server = H.start_everything("streamableHttp")
    return { url = server.base .. "/mcp" }, server.stop
  end,
  extra = function(client)
    it("has a session id and the Streamable HTTP transport", function()
      local c = client()
      assert.is_string(c.session_id)
      assert.are.equal("streamable-http", c.transport.kind)
    end)

    it("records logging notifications in c.notifications", function()
      local c = client()
      assert.are.same({}, c:set_log_level("debug"))
      -- the tool emits log notifications on its streams
      c:call_tool("toggle-simulated-logging", {})
      local sys = require("mcptest.core.sys")
      local deadline = sys.now() + 8
      local found
      repeat
        for _, n in ipairs(c.notifications) do
          if n.method == "notifications/message" then found = n end
        end
        if not found then c:ping(); require("mcptest.loop").step(0.2) end
      until found or sys.now() > deadline
      c:call_tool("toggle-simulated-logging", {})
      assert.is_table(found, "no notifications/message arrived")
      assert.is_string(found.params.level)
    end)

    it("keeps one session and one connection across many calls (connection reuse)", function()
      local c = client()
      local sid = c.session_id
      -- watch every POST the calls make: req:connection() tells the local
      -- port of the connection that carried it and whether curl opened one
      local http = require("mcptest.transport.curl")
      local real, posts = http.start, {}
      http.start = function(o, on)
        local req, err = real(o, on)
        if req and o.method == "POST" then posts[#posts + 1] = req end
        return req, err
      end
      local ok, err = pcall(function()
        for i = 1, 50 do assert.text_equals(c:call_tool("echo", { message = tostring(i) }), "Echo: " .. i) end
      end)
      http.start = real
      if not ok then error(err, 0) end
      assert.are.equal(sid, c.transport.session_id)
      assert.are.equal(50, #posts)
      local port = posts[1]:connection()
      assert.is_true(port > 0)
      for i, req in ipairs(posts) do
        local p, opened = req:connection()
        assert.are.equal(port, p, "call " .. i .. " went over another connection")
        assert.are.equal(0, opened, "call " .. i .. " opened a new connection")
      end
    end)
  end,
}

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
