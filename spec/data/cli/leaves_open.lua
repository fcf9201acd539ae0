-- client/collect_spec: a file that leaves three HTTP clients open (the
-- runner must close them when this file ends, before the next one runs).
local mcp = require("mcptest")
for _ = 1, 3 do mcp.connect{ url = os.getenv("SPEC_URL") } end
it("leaves clients open", function() collectgarbage(); collectgarbage() end)
