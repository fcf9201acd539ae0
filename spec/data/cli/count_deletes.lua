-- client/collect_spec: runs after leaves_open.lua; by now the runner has
-- ended that file's three sessions with DELETE.
local mcp = require("mcptest")
it("sees the previous file's sessions ended", function()
  local r = mcp.http.request{ url = os.getenv("SPEC_STATS"), timeout = 5 }
  assert.are.equal(3, mcp.json.decode(r.body).deletes)
end)
