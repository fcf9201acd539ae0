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
--   a.source        "none" | "env" | "env_unset" | "header" | "cache" | "oauth"
--                   where the credential came from ("env_unset": the
--                   bearer_token_env variable is unset or empty; nothing
--                   is sent, and any outcome is an error)
--   a.token_env     the env var's name (never its value)
-- Every credential read here is registered with mcptest.secrets.
local errors = require("mcptest.errors")
local secrets = require("mcptest.secrets")
local curl = require("mcptest.transport.curl")
local url_mod = require("mcptest.url")
local message = require("mcptest.auth.message")
local cache = require("mcptest.auth.cache")
-- mcptest.auth.session (the OAuth flows behind it) loads only when a
-- server has OAuth configured or cached: a plain connect stays light
local function session() return require("mcptest.auth.session") end

local M = {}

local Auth = {}
local H = secrets.hidden(Auth, { lines = true }) -- the credential lines
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
  local a = setmetatable({ url = url, target = opts.url, source = "none" }, Auth)
  H(a).lines = {}
  local explicit = opts.auth
  if explicit ~= nil and type(explicit) ~= "table" then
    errors.raise("usage", "auth must be a table, e.g. auth = { bearer_token_env = \"MCP_TOKEN\" }")
  end
  if explicit and explicit.bearer_token_env then
    local var = explicit.bearer_token_env
    -- a token pasted where the name belongs is refused without being shown
    if type(var) ~= "string" or not var:match("^[%a_][%w_]*$") then
      errors.raise("usage", "auth.bearer_token_env takes the NAME of an environment variable holding the token"
        .. " (e.g. MCP_TOKEN, matching [A-Za-z_][A-Za-z0-9_]*), not the token itself")
    end
    local v = os.getenv(var)
    if v == nil or v == "" then
      -- still an error (DESIGN.md), but the request goes out without
      -- credentials first, so the message can say what the server
      -- advertised (seed 000); mcp.connect raises if it was accepted
      a.source, a.token_env = "env_unset", var
      return a
    end
    secrets.register(v, "token from " .. var)
    a.source, a.token_env = "env", var
    H(a).lines = { "Authorization: Bearer " .. v }
    return a
  end
  -- auth.store / auth.oauth.store: where the secrets of a login go
  -- ("file", the default, or "keychain"; auth/cache.lua)
  if explicit and explicit.store ~= nil then M.check_store(explicit.store, "auth.store") end
  a.store = explicit and explicit.store
  if explicit and explicit.oauth ~= nil then
    M.check_oauth(explicit.oauth)
    local cfg = explicit.oauth
    if explicit.store ~= nil and cfg.store == nil then
      cfg = setmetatable({ store = explicit.store }, { __index = explicit.oauth })
    end
    return session().new(opts, url, cfg)
  end
  local line = authorization_line((curl.header_lines(opts.headers)))
  if line then
    secrets.register(line:match("^[^:]+:%s*(.*)$"), "Authorization header")
    local token = line:match("^[^:]+:%s*%a+%s+(%S+)")
    if token then secrets.register(token, "token in the Authorization header") end
    a.source, H(a).lines = "header", { line }
    return a
  end
  -- a token cached for this server by an earlier login
  if cache.has_tokens(opts.url) then return session().new(opts, url, nil) end
  return a
end

M.cache_url = cache.url_key

-- auth.oauth's keys (DESIGN.md); a typo or an inline secret is a usage
-- error naming the key, never silently ignored.
M.OAUTH_KEYS = { grant = "string", client_id = "string", client_secret_env = "string",
  client_metadata_url = "string", private_key_env = "string", scope = "string", token_url = "string",
  no_browser = "boolean", dpop = "boolean", assertion_env = "string", idp = "table",
  callback_port = "number", register = "boolean", store = "string" }

function M.check_store(v, where)
  if v ~= "file" and v ~= "keychain" then
    errors.raise("usage", where .. " must be \"file\" or \"keychain\", got " .. (type(v) == "string"
      and string.format("%q", v) or type(v)))
  end
end
M.GRANTS = { authorization_code = true, client_credentials = true, device_code = true, jwt_bearer = true }

function M.check_oauth(cfg)
  if type(cfg) ~= "table" then
    errors.raise("usage", "auth.oauth must be a table, e.g. { grant = \"client_credentials\", client_id = ..., client_secret_env = ... }")
  end
  local names = {}
  for k in pairs(M.OAUTH_KEYS) do names[#names + 1] = k end
  table.sort(names)
  for k, v in pairs(cfg) do
    local want = M.OAUTH_KEYS[k]
    if not want then
      local hint = ""
      if k == "client_secret" or k == "assertion" or k == "private_key" or k == "token" then
        hint = " (secrets are never given inline: name an env var with " .. k .. "_env)"
      end
      errors.raise("usage", "auth.oauth: unknown key " .. tostring(k) .. hint .. "; known: " .. table.concat(names, ", "))
    end
    if type(v) ~= want then
      errors.raise("usage", "auth.oauth." .. k .. " must be a " .. want .. ", got " .. type(v))
    end
  end
  if cfg.store ~= nil then M.check_store(cfg.store, "auth.oauth.store") end
  if cfg.grant ~= nil and not M.GRANTS[cfg.grant] then
    errors.raise("usage", "auth.oauth.grant " .. string.format("%q", cfg.grant)
      .. " is not one of authorization_code, client_credentials, device_code, jwt_bearer")
  end
end

function Auth:headers() return H(self).lines end

-- Static credentials cannot be renewed: every challenge ends in the
-- message. With no credentials at all, in an interactive terminal outside
-- CI, a 401 starts the OAuth login (authorization code, the browser) and
-- the request is sent again with its token.
function Auth:on_challenge(ctx)
  if self.source == "none" and ctx.status == 401 and not ctx.retried and not ctx.final
     and self.target and session().interactive() then
    local ok, t = pcall(session().login, { url = self.target, grant = "authorization_code",
      challenge = ctx.www_authenticate, store = self.store })
    if ok then
      self.source, H(self).lines = "oauth", { "Authorization: Bearer " .. t.access_token }
      return true
    end
    self.renew_error = errors.is(t) and t.message or tostring(t)
    -- OAuth did not work here (no metadata, no registration...): seed
    -- 002's manual token prompt
    if errors.is(t) and t.kind == "auth" then
      local token = require("mcptest.auth.prompt").ask(self.url)
      if token then
        cache.with_lock(cache.url_key(self.target), function()
          cache.put_tokens(cache.url_key(self.target), { access_token = token, token_type = "Bearer",
            grant = "manual", obtained_at = os.time(), store = self.store })
        end)
        self.source, H(self).lines = "header", { "Authorization: Bearer " .. token }
        return true
      end
    end
  end
  return nil, message.failure(ctx, self)
end

M.failure = message.failure
M.unset_env_message = message.unset_env_message

return M
