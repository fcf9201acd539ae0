-- mcptest.http: raw HTTP for scripts that test a server's HTTP layer
-- itself (challenges, metadata documents).
--   local r = require("mcptest.http").request{ url = u, headers = {...} }
--   r.status, r.headers["www-authenticate"], r.body   (or nil, err)
-- The same function is mcp.http.request.
local curl = require("mcptest.transport.curl")

return { request = curl.request }
