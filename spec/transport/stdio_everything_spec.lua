-- Integration: the official reference server, server-everything, over stdio.
local SRC = os.getenv("MCPTEST_SRC") or "."
local SE = SRC .. "/.deps/npm/node_modules/@modelcontextprotocol/server-everything/dist/index.js"

-- loaded into this file's environment, where busted put describe and it
assert(loadfile(SRC .. "/spec/transport/everything_scenarios.lua", "t", _ENV))(){
  name = "server-everything over stdio",
  connect = function() return { command = { "node", SE, "stdio" } } end,
  extra = function(client)
    it("keeps what the server wrote on stderr", function()
      assert.matches("STDIO", client().stderr)
    end)
  end,
}
