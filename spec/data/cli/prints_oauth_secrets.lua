-- A careless script with OAuth credentials (spec/runner/secrets_spec.lua):
-- an authorization-code login with DPoP (access token, refresh token, DPoP
-- private key) and a dynamic registration with a client secret, each
-- printed, written, asserted on and raised. SPEC_SECRETS_OUT receives the
-- values hex-encoded (so the scrubber lets them through) for the spec to
-- look for in the output.
local mcp = require("mcptest")
local fx = mcp.fixture.start{ auto_approve = true }
local url = fx.url .. "/mcp/oauth"
local t = mcp.oauth.login{ url = url, grant = "authorization_code", dpop = true, say = function() end }
local d = mcp.oauth.discover(url)
local reg = mcp.oauth.register(d.as, { client_name = "leaky", grant_types = { "client_credentials" },
  token_endpoint_auth_method = "client_secret_basic" })
local values = { t.access_token, t.refresh_token, t.dpop_key, reg.client_secret }
local f = assert(io.open(os.getenv("SPEC_SECRETS_OUT"), "w"))
for _, v in ipairs(values) do
  f:write((v:gsub(".", function(ch) return string.format("%02x", ch:byte()) end)), "\n")
end
f:close()
local c = mcp.connect{ url = url }
it("prints the OAuth secrets", function()
  for _, v in ipairs(values) do print("secret:", v); io.stderr:write("again ", v, "\n") end
  c:ping()
  assert.are.equal("x", t.access_token .. reg.client_secret)
end)
it("raises an error holding them", function()
  error("server said: " .. table.concat(values, " "))
end)
