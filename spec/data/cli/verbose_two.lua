-- Two clients, two tests: --verbose traces say which connection and which test.
local mcp = require("mcptest")
local src = os.getenv("MCPTEST_SRC") or "."
describe("two servers", function()
  local a, b
  setup(function()
    a = mcp.connect{ command = { "node", src .. "/spec/data/stdio_server.js", "normal" } }
    b = mcp.connect{ command = { "node", src .. "/spec/data/stdio_server.js", "normal" } }
  end)
  it("lists with the first", function() a:list_tools() end)
  it("lists with the second", function() b:list_tools() end)
end)
