-- The client under test for the MCP conformance suite's client auth
-- scenarios (@modelcontextprotocol/conformance, `client` command), using
-- only mcptest's public Lua API. spec/conformance/client.sh runs it as
--   mcptest spec/conformance/client.lua SERVER_URL
-- with MCP_CONFORMANCE_SCENARIO (the scenario's name) and, for some
-- scenarios, MCP_CONFORMANCE_CONTEXT (JSON: client_id, client_secret, ...)
-- set by the suite; client.sh exports the context's client_secret as
-- MCP_CONFORMANCE_CLIENT_SECRET, since mcptest reads secrets from env vars.
--
-- What it does is what a person using mcptest at a terminal does, and no
-- more: it discovers (only to pick the grant the authorization server
-- offers), connects with an auth.oauth configuration (the context's
-- pre-registered client when there is one, else mcptest's own choice:
-- dynamic registration), lists the tools, calls the first, and closes.
-- Every OAuth decision (when to log in, scope, step-up, client
-- authentication, resource, iss and issuer checks, an AS migration) is
-- mcptest's; nothing here retries or logs in again after a 401 or a 403.
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

-- 2. the OAuth configuration a person would give mcp.connect for this
-- server; mcptest logs in itself: an unattended grant at connect, the
-- authorization code on the first 401 (the person at the terminal is
-- client.sh's script(1) and $BROWSER, a curl that follows the redirects)
local oauth = { grant = grant }
if type(context.client_id) == "string" then oauth.client_id = context.client_id end
if type(context.client_secret) == "string" then oauth.client_secret_env = "MCP_CONFORMANCE_CLIENT_SECRET" end
if type(context.private_key_pem) == "string" then oauth.private_key_env = "MCP_CONFORMANCE_PRIVATE_KEY" end
if grant == "jwt_bearer" then
  if context.idp_token_endpoint then
    -- enterprise-managed authorization: the IdP's ID token for an ID-JAG
    oauth.idp = { token_endpoint = context.idp_token_endpoint, id_token_env = "MCP_CONFORMANCE_ID_TOKEN",
                  client_id = context.idp_client_id }
  else
    oauth.assertion_env = "MCP_CONFORMANCE_ASSERTION" -- a workload identity JWT
  end
end
-- a person configuring mcptest for such a server would turn these on:
-- DPoP where the AS offers it, and their app's client metadata URL where
-- the AS takes CIMD client ids (the suite expects this URL)
if d.as and type(d.as.dpop_signing_alg_values_supported) == "table" then oauth.dpop = true end
if d.as and d.as.client_id_metadata_document_supported == true and not oauth.client_id then
  oauth.client_metadata_url = "https://conformance-test.local/client-metadata.json"
end
log("connect: grant", grant, "client_id", oauth.client_id or "(dynamic registration)")

-- 3. use it: a session, the tools, a call (a 401 logs in, a 403
-- insufficient_scope steps up, a PRM naming another AS logs in there)
local c = mcp.connect{ url = url, timeout = 10, auth = { oauth = oauth } }
log("connected:", c.protocol_version)
local tools = c:list_tools()
local names = {}
for _, tool in ipairs(tools) do names[#names + 1] = tool.name end
log("tools:", table.concat(names, ", "))
if names[1] then
  local r = c:call_tool(names[1], mcp.json.object())
  log("called", names[1] .. ":", mcp.text(r))
end
local t = mcp.tokens.get(url)
log("token:", t and t.token_type or "(none)", "scope", t and t.scope or "(none)", "issuer", t and t.issuer or "-")
c:close()
log("done")
