-- A task's error that no mcp.join raises (spec/client/concurrency_spec.lua).
local mcp = require("mcptest")
it("spawns a failing task and never joins it", function()
  mcp.spawn(function() error("boom in a task") end)
end)
