-- The client under test for the MCP conformance suite's client auth
-- scenarios (@modelcontextprotocol/conformance, `client` command), using
-- only mcptest's public Lua API. spec/conformance/client.sh runs it as
--   mcptest spec/conformance/client.lua SERVER_URL
-- with MCP_CONFORMANCE_SCENARIO (the scenario's name) and, for some
-- scenarios, MCP_CONFORMANCE_CONTEXT (JSON: client_id, client_secret, ...)
-- set by the suite; client.sh exports the context's client_secret as
-- MCP_CONFORMANCE_CLIENT_SECRET, since mcptest reads secrets from env vars.
--
-- What it does is what a person using mcptest does, and no more: it
-- discovers, logs in with the grant the authorization server offers (the
-- context's pre-registered client when there is one, else mcptest's own
-- choice: dynamic registration), connects with the cached token, lists
-- the tools, calls test-tool, and closes. Every OAuth decision (scope,
-- client authentication, resource, iss and issuer checks) is mcptest's;
-- nothing here retries with another scope or logs in again after a 401 or
-- a 403: those are features the client itself has to have.
-- Any failure is raised, so the script exits non-zero (some scenarios
-- expect the client to refuse and allow that).
local mcp = require("mcptest")

local url = arg[1]
local scenario = os.getenv("MCP_CONFORMANCE_SCENARIO") or "?"
if type(url) ~= "string" or not url:match("^https?://") then
  error("usage: mcptest spec/conformance/client.lua SERVER_URL (got " .. tostring(url) .. ")", 0)
end

local function log(...)
  local parts = table.pack(...)
  for i = 1, parts.n do parts[i] = tostring(parts[i]) end
  io.stderr:write("[conformance-client] ", table.concat(parts, " "), "\n")
end

local context = {}
local raw = os.getenv("MCP_CONFORMANCE_CONTEXT")
if raw and raw ~= "" then context = mcp.json.decode(raw) end

log("scenario", scenario, "url", url)

-- scenarios that are not about auth: a plain session (client_plain.lua)
if scenario:sub(1, 5) ~= "auth/" then
  local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "spec/conformance"
  return assert(loadfile(here .. "/client_plain.lua"))(url, log)
end

-- 1. discovery, only to pick the grant (login walks it again itself)
local d = mcp.oauth.discover(url)
for _, step in ipairs(d.walk) do
  log("walk:", step.step, step.url, step.status or "-", step.note or "")
end

local function offers(grant)
  local list = d.as and d.as.grant_types_supported
  if type(list) ~= "table" then return grant == "authorization_code" end -- RFC 8414 default
  for _, g in ipairs(list) do if g == grant then return true end end
  return false
end

local grant
if offers("urn:ietf:params:oauth:grant-type:jwt-bearer") and (context.idp_token_endpoint or context.valid_jwt) then
  grant = "jwt_bearer"
elseif offers("authorization_code") then grant = "authorization_code"
elseif offers("client_credentials") then grant = "client_credentials"
elseif offers("urn:ietf:params:oauth:grant-type:device_code") then grant = "device_code"
else
  error("the authorization server offers none of the grants mcptest has (authorization_code,"
    .. " client_credentials, device_code): grant_types_supported = "
    .. mcp.json.encode(d.as.grant_types_supported), 0)
end

-- 2. log in (the authorization code goes through $BROWSER, which
-- client.sh points at a curl that follows the redirects)
local login = { url = url, grant = grant, say = function(s) log(s) end }
if type(context.client_id) == "string" then login.client_id = context.client_id end
if type(context.client_secret) == "string" then login.client_secret_env = "MCP_CONFORMANCE_CLIENT_SECRET" end
if type(context.private_key_pem) == "string" then login.private_key_env = "MCP_CONFORMANCE_PRIVATE_KEY" end
if grant == "jwt_bearer" then
  if context.idp_token_endpoint then
    -- enterprise-managed authorization: the IdP's ID token for an ID-JAG
    login.idp = { token_endpoint = context.idp_token_endpoint, id_token_env = "MCP_CONFORMANCE_ID_TOKEN",
                  client_id = context.idp_client_id }
  else
    login.assertion_env = "MCP_CONFORMANCE_ASSERTION" -- a workload identity JWT
  end
end
-- a person configuring mcptest for such a server would turn these on:
-- DPoP where the AS offers it, and their app's client metadata URL where
-- the AS takes CIMD client ids (the suite expects this URL)
if d.as and type(d.as.dpop_signing_alg_values_supported) == "table" then login.dpop = true end
if d.as and d.as.client_id_metadata_document_supported == true and not login.client_id then
  login.client_metadata_url = "https://conformance-test.local/client-metadata.json"
end
log("login: grant", grant, "client_id", login.client_id or "(dynamic registration)")
local t = mcp.oauth.login(login)
log("login: got a", t.token_type, "token, scope", t.scope or "(none)")

-- 3. use it: a session, the tools, a call
local c = mcp.connect{ url = url, timeout = 10 }
log("connected:", c.protocol_version)
local tools = c:list_tools()
local names = {}
for _, tool in ipairs(tools) do names[#names + 1] = tool.name end
log("tools:", table.concat(names, ", "))
if names[1] then
  local r = c:call_tool(names[1], mcp.json.object())
  log("called", names[1] .. ":", mcp.text(r))
end
c:close()
log("done")
