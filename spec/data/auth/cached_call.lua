-- One run that uses the token cached for $URL (no auth option), for the
-- parallel-refresh specs: prints the fingerprint of the token it sent and
-- how long it waited for the cache lock.
local mcp = require("mcptest")
local secrets = require("mcptest.secrets")
local c = mcp.connect{ url = os.getenv("URL") }
c:call_tool("whoami", {})
local a = c.transport.auth
print("TOKEN " .. secrets.fingerprint(secrets.fields(a).tokens.access_token))
print(string.format("LOCKWAIT %.4f", require("mcptest.auth.cache").last_lock_wait))
c:close()
