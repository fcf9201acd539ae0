-- mcptest.auth: the credential chain and the auth failure message, in one
-- place that the HTTP transport, the CLI and doctor all call.
--
-- DESIGN.md's order: an explicit `auth` option (today bearer_token_env);
-- an Authorization header the user gave (a `Bearer ${X}` whose X is unset
-- or empty was already dropped by the header expansion, as seed 002 does);
-- then, in the OAuth work that builds on this seam, a cached token for the
-- server URL and, in an interactive terminal outside CI, the OAuth flow on
-- a 401.
--
-- The seam a transport sees (it is handed the object; it never requires
-- this module):
--   a:headers() -> { "Authorization: ..." } | {}    lines to send on every request
--   a:on_challenge(ctx) -> true | nil, err
--       ctx = { status = 401|403, www_authenticate = raw header value,
--               url = shown URL, method_desc = what was refused, retried = bool }
--       true: credentials were renewed, send the request once more;
--       nil, err: give up with err (an `auth` mcptest.Error carrying the
--       message of DESIGN.md).
--   a.source        "none" | "env" | "header"   where the credential came from
--   a.token_env     the env var's name (never its value)
-- Every credential read here is registered with mcptest.secrets.
local errors = require("mcptest.errors")
local secrets = require("mcptest.secrets")
local curl = require("mcptest.transport.curl")

local M = {}

local Auth = {}
Auth.__index = Auth
M.Auth = Auth

-- The Authorization line among header lines ("Name: value"), if any.
local function authorization_line(lines)
  for _, line in ipairs(lines) do
    if line:match("^([^:]+)"):lower() == "authorization" then return line end
  end
end

-- The chain for one server: opts are mcp.connect's (auth, headers); url is
-- the URL as messages show it.
function M.for_server(opts, url)
  local a = setmetatable({ url = url, source = "none", lines = {} }, Auth)
  local explicit = opts.auth
  if explicit ~= nil and type(explicit) ~= "table" then
    errors.raise("usage", "auth must be a table, e.g. auth = { bearer_token_env = \"MCP_TOKEN\" }")
  end
  if explicit and explicit.bearer_token_env then
    local var = explicit.bearer_token_env
    if type(var) ~= "string" or var == "" then
      errors.raise("usage", "auth.bearer_token_env must name an environment variable")
    end
    local v = os.getenv(var)
    if v == nil or v == "" then
      errors.raise("auth", M.unset_env_message(var), { url = url })
    end
    secrets.register(v, "token from " .. var)
    a.source, a.token_env = "env", var
    a.lines = { "Authorization: Bearer " .. v }
    return a
  end
  local line = authorization_line((curl.header_lines(opts.headers)))
  if line then
    secrets.register(line:match("^[^:]+:%s*(.*)$"), "Authorization header")
    local token = line:match("^[^:]+:%s*%a+%s+(%S+)")
    if token then secrets.register(token, "token in the Authorization header") end
    a.source, a.lines = "header", { line }
  end
  return a
end

function Auth:headers() return self.lines end

-- Static credentials cannot be renewed: every challenge ends in the message.
function Auth:on_challenge(ctx)
  return nil, M.failure(ctx, self)
end

-- ===== messages (DESIGN.md, "The auth failure message") =====

function M.unset_env_message(var)
  return "env var `" .. var .. "` (named by `bearer_token_env`) is not set or is empty"
    .. " in this process; export a valid token into it."
end

-- The auth failure error for a 401/403: ctx as for on_challenge, a the
-- chain that supplied (or did not supply) the credential.
function M.failure(ctx, a)
  local status, url = ctx.status, ctx.url
  local server_url = a and a.url or url
  local ch = curl.parse_www_authenticate(ctx.www_authenticate)
  local lines = { "auth failed: HTTP " .. status .. " from " .. url .. ", server advertises "
    .. curl.describe_challenge(ch) .. "." }
  local scope = ch and ch.params.scope
  local source = a and a.source or "none"
  if status == 403 and scope then
    lines[#lines + 1] = "  the token lacks permission (the server asks for scope \"" .. scope
      .. "\"); check scope or audience."
  elseif source == "env" then
    lines[#lines + 1] = "  the token from env var `" .. a.token_env .. "` was rejected; mint a fresh one or re-login."
  elseif source == "header" then
    lines[#lines + 1] = "  the Authorization header given in the options was rejected; check the token it holds."
  else
    lines[#lines + 1] = "  no credentials were supplied; pass --bearer-token-env <VAR> or run mcptest login "
      .. server_url .. "."
  end
  lines[#lines + 1] = "Diagnose with: mcptest doctor --url " .. server_url .. " --bearer-token-env "
    .. (a and a.token_env or "VAR")
  return errors.new("auth", table.concat(lines, "\n"), { http_status = status, url = url,
    www_authenticate = ch, method_desc = ctx.method_desc })
end

return M
