-- Run by spec/auth/migration_spec.lua under script(1) (a terminal, so a
-- person is "at hand"; $BROWSER is spec/data/browser.sh): log in with the
-- authorization code (dynamic registration), move the fixture to a new
-- issuer, and call again: mcptest discovers the new AS, registers there and
-- logs in again, then the call goes through. arg[1]: the MCP URL, arg[2]:
-- the fixture's base URL.
local mcp = require("mcptest")
local url, base = arg[1], arg[2]
mcp.oauth.login{ url = url, grant = "authorization_code" }
local c = mcp.connect{ url = url }
print("before: " .. mcp.json.decode(mcp.text(c:call_tool("whoami", {}))).client_id)
local r = assert(mcp.http.request{ method = "POST", url = base .. "/test/migrate", timeout = 5,
  headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }, body = "issuer_path=/tenant2" })
assert(r.status == 200, r.body)
print("after: " .. mcp.json.decode(mcp.text(c:call_tool("whoami", {}))).client_id)
print("issuer: " .. mcp.tokens.get(url).issuer)
c:close()
