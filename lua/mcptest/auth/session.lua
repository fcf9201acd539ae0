-- mcptest.auth.session: an OAuth-backed credential source behind the auth
-- seam (see auth/init.lua for the interface the transport uses).
-- It sends the token cached for the server (or one it obtained), refreshes
-- it proactively within MARGIN seconds of expiry and once on a 401, always
-- under the cache entry's lock (so parallel runs refresh once), and, when
-- the configuration allows a grant without a person (client credentials),
-- mints a new token when there is nothing to refresh. Interactive grants
-- (authorization code, device) run only from `mcptest login` or
-- mcp.oauth.login, or on a 401 in an interactive terminal outside CI.
--
--   session.new(opts, shown_url, oauth_cfg | nil) -> source
--   session.cached(url) -> true when the cache holds tokens for url
--   session.cache_url(url) -> the URL the cache files the server under
--   session.login(cfg) -> token set    (mcp.oauth.login; cfg.url, cfg.grant, ...)
--   session.refresh(url) -> token set  (mcp.oauth.refresh)
--   session.client_of(token set) -> client   its client and credentials
local errors = require("mcptest.errors")
local secrets = require("mcptest.secrets")
local url_mod = require("mcptest.url")
local sys = require("mcptest.core.sys")
local cache = require("mcptest.auth.cache")
local message = require("mcptest.auth.message")
-- the flows load when a token must be obtained or renewed, not for a run
-- that sends a cached token as it is (DESIGN: under 2 ms for such a run)
local lazy = setmetatable({}, { __index = function(t, k)
  local m = require("mcptest.auth." .. k)
  rawset(t, k, m)
  return m
end })

local M = {}

M.MARGIN = 60 -- seconds before expiry a token is refreshed

-- Grants that need no person: run at connect, and again when a token
-- expires with nothing to refresh it.
M.UNATTENDED = { client_credentials = true, jwt_bearer = true }

local Source = {}
-- tokens, the credential lines and the DPoP key stay out of the object
local H = secrets.hidden(Source, { lines = true, tokens = true, dpop = true })

M.cache_url = cache.url_key

-- A token living less than twice the margin is renewed at half its life
-- (else it would count as expiring from the moment it was issued, and every
-- connect of a load run would mint another).
local function expiring(t)
  if t.expires_at == nil then return false end
  local margin = M.MARGIN
  if t.obtained_at and (t.expires_at - t.obtained_at) < 2 * margin then margin = (t.expires_at - t.obtained_at) / 2 end
  return t.expires_at - os.time() <= margin
end

-- One renewal at a time per cache entry within this process: the tasks
-- of a load run that all connect at once wait for the first one's token
-- instead of each minting its own (the cache's file lock orders runs, not
-- the tasks of one run around a login that takes it more than once).
local minting = {}
local function one_at_a_time(key, fn)
  local loop = require("mcptest.loop")
  while minting[key] do
    if loop.task() then loop.suspend(0.005) else loop.step(0.005) end
  end
  minting[key] = true
  local res = table.pack(pcall(fn))
  minting[key] = nil
  if not res[1] then error(res[2], 0) end
  return table.unpack(res, 2, res.n)
end

local function register_set(t)
  if t.access_token then secrets.register(t.access_token, "access token") end
  if t.refresh_token then secrets.register(t.refresh_token, "refresh token") end
  return t
end

-- What a refresh or a re-mint needs, rebuilt from the stored set (no
-- discovery: the set keeps its issuer, token endpoint and client).
-- The client a stored set was issued to, with its credentials: the env
-- vars it names, else the registration cached for its issuer (a
-- registered client's secret lives there, never in the token set).
function M.client_of(t)
  local client = { client_id = t.client_id, auth_method = t.auth_method }
  if t.private_key_env then
    local v = os.getenv(t.private_key_env)
    if v and v ~= "" then client.private_key = secrets.register(v, "private key from " .. t.private_key_env) end
  end
  if t.client_secret_env then
    local v = os.getenv(t.client_secret_env)
    if v and v ~= "" then client.client_secret = secrets.register(v, "client secret from " .. t.client_secret_env) end
  elseif t.issuer then
    local reg = cache.client(t.issuer)
    if reg and reg.client_id == t.client_id and reg.client_secret then
      client.client_secret = secrets.register(reg.client_secret, "client secret of " .. reg.client_id)
    end
  end
  return client
end

local function ctx_from_set(t, tls)
  local client = M.client_of(t)
  return { d = { issuer = t.issuer, as = { issuer = t.issuer, token_endpoint = t.token_endpoint,
                                           token_endpoint_auth_methods_supported = t.auth_methods } },
           client = client, resource = t.resource, scope = t.scope, client_secret_env = t.client_secret_env,
           private_key_env = t.private_key_env, dpop = t.dpop_key and lazy.dpop.new(t.dpop_key) or nil, tls = tls }
end

-- A new token set for an expired (or refused) one, without a person:
-- refresh when there is a refresh token, else mint again with client
-- credentials when the secret is at hand. nil, why when neither works.
local function renew(t, tls)
  local ctx = ctx_from_set(t, tls)
  if t.refresh_token then
    local nt, err = lazy.oauth.refresh(ctx, t)
    if nt then
      nt.auth_method, nt.auth_methods = t.auth_method, t.auth_methods
      return nt
    end
    -- only invalid_grant says the refresh token is dead; an outage, a 500
    -- or invalid_client keeps it for the next run
    if err.oauth_error ~= "invalid_grant" then return nil, err end
    -- a dead refresh token: drop it, so no run tries it again
    t.refresh_token = nil
    cache.put_tokens(t.url, t)
    if t.grant ~= "client_credentials" then return nil, err end
  end
  if (t.grant == "client_credentials" and (ctx.client.client_secret or ctx.client.private_key))
     or (t.grant == "jwt_bearer" and (t.assertion_env or t.idp)) then
    local nt, err = lazy.oauth.grant(ctx, t.grant, { assertion_env = t.assertion_env, idp = t.idp })
    if not nt then return nil, err end
    nt.auth_method, nt.auth_methods = t.auth_method, t.auth_methods
    return nt
  end
  return nil, errors.new("auth", "no refresh token, and the " .. tostring(t.grant) .. " grant needs a person")
end

-- Under the entry's lock: the cached set if it is still good (another run
-- may have just renewed it), else a renewed one, stored before it is used.
-- `refused`: the access token the server refused (a 401), renewed even if
-- it has not expired.
local function fresh_tokens(key, refused, tls)
  return cache.with_lock(key, function()
    local t = cache.tokens(key)
    if not t then return nil, errors.new("auth", "no cached token for " .. key) end
    register_set(t)
    if not expiring(t) and t.access_token ~= refused then return t end
    local nt, err = renew(t, tls)
    if not nt then return nil, err, t end
    cache.put_tokens(key, nt)
    return register_set(nt)
  end)
end

function M.new(opts, shown, cfg)
  local key = M.cache_url(opts.url)
  local s = setmetatable({ url = shown, key = key, source = cfg and "oauth" or "cache",
                           cfg = cfg, target = opts.url, tls = opts.tls, attempts = 0 }, Source)
  H(s).lines = {}
  local t = cache.tokens(key)
  if t then
    register_set(t)
    if expiring(t) then
      local nt, err = fresh_tokens(key, nil, opts.tls)
      if nt then t = nt else s.expired, s.renew_error, t = true, err and tostring(err.message), nil end
    end
  elseif cfg and M.UNATTENDED[cfg.grant] then
    -- nothing cached: a grant that needs no person gets a token now (or
    -- the one another task of this process has just got)
    t = one_at_a_time(key, function()
      local cur = cache.tokens(key)
      if cur and not expiring(cur) then return register_set(cur) end
      return M.login(setmetatable({ url = opts.url, tls = opts.tls }, { __index = cfg }))
    end)
  end
  s:use(t)
  return s
end

function Source:use(t)
  H(self).tokens = t
  H(self).dpop = t and t.dpop_key and lazy.dpop.new(t.dpop_key) or nil
  if not t then H(self).lines = {}
  elseif H(self).dpop then H(self).lines = { "Authorization: DPoP " .. t.access_token }
  else H(self).lines = { "Authorization: Bearer " .. t.access_token } end
end

function Source:headers() return H(self).lines end

-- A DPoP-bound token needs a proof per request (RFC 9449 7.1).
function Source:request_headers(method, u)
  local d = H(self).dpop
  if not d then return nil end
  return { "DPoP: " .. d:proof(method, u, H(self).tokens.access_token) }
end

-- A 401: renew once (refresh, or what another run renewed meanwhile);
-- a 403 or a second refusal ends in the message.
function Source:on_challenge(ctx)
  if ctx.final then return nil, message.failure(ctx, self) end
  -- RFC 9449 9: the resource server wants its nonce in the proof
  local ch = require("mcptest.transport.curl").parse_www_authenticate(ctx.www_authenticate)
  if ctx.status == 401 and H(self).dpop and ctx.dpop_nonce and ch and ch.params.error == "use_dpop_nonce"
     and H(self).dpop.nonce ~= ctx.dpop_nonce then
    H(self).dpop.nonce = ctx.dpop_nonce
    return true
  end
  if ctx.status == 403 then return self:step_up(ctx, ch) end
  if ctx.retried then return nil, message.failure(ctx, self) end
  if not H(self).tokens then
    -- an unattended grant mints a token; a person's grant runs when a
    -- person is at hand (an interactive terminal outside CI)
    if self.cfg and (M.UNATTENDED[self.cfg.grant] or M.interactive()) then
      local ok, t = pcall(M.login, setmetatable({ url = self.target, tls = self.tls,
        challenge = ctx.status == 401 and ctx.www_authenticate or nil }, { __index = self.cfg }))
      if ok then self:use(t); return true end
      self.renew_error = errors.is(t) and t.message or tostring(t)
    end
    return nil, message.failure(ctx, self)
  end
  -- another run may have renewed the token (or moved it to a new AS) meanwhile
  local cur = cache.tokens(self.key)
  if cur and cur.access_token ~= H(self).tokens.access_token and not expiring(cur) then
    self:use(register_set(cur))
    return true
  end
  local moved_to = self:moved_to(ctx)
  if moved_to then return self:migrate(ctx, moved_to) end
  local t, err = fresh_tokens(self.key, H(self).tokens.access_token, self.tls)
  if not t then
    -- "expired" only when it had: a refused token that was still valid says so
    self.expired = expiring(H(self).tokens)
    self.renew_error = err and tostring(err.message)
    return nil, message.failure(ctx, self)
  end
  self:use(t)
  return true
end

-- SEP-2352: the refused token's issuer is no longer among the
-- authorization servers the server's PRM names (the server moved to
-- another AS). Returns the AS it names now, or nil (same AS, no PRM, or an
-- issuer that came from token_url rather than discovery).
function Source:moved_to(ctx)
  local t = H(self).tokens
  if not t.issuer or t.issuer_source == "token_url" then return nil end
  local ok, list = pcall(lazy.discovery.authorization_servers, self.target,
    { tls = self.tls, challenge = ctx.www_authenticate })
  if not ok or not list then return nil end
  for _, issuer in ipairs(list) do
    if issuer == t.issuer then return nil end
  end
  return list[1]
end

-- The server moved to another authorization server: the token set of the
-- old one is dropped (its refresh token and client mean nothing to the new
-- AS, and nothing of them is sent there), then a login at the new AS, when
-- the grant needs no person or a person is at hand: a new discovery, the
-- new AS's registration (cached per issuer) or the same CIMD URL. A client
-- id configured for the old AS is not assumed to be valid at the new one.
function Source:migrate(ctx, new_issuer)
  local old = H(self).tokens
  cache.with_lock(self.key, function()
    local cur = cache.tokens(self.key)
    if cur and cur.issuer == old.issuer then cache.remove_tokens(self.key) end
  end)
  local grant = (self.cfg and self.cfg.grant) or old.grant
  local what = "the server now names the authorization server " .. new_issuer .. ", not "
    .. tostring(old.issuer) .. " that issued the cached token (an AS migration); mcptest dropped that token"
    .. " and sends nothing of " .. tostring(old.issuer) .. "'s to " .. new_issuer
  local cfg = self.cfg or {}
  local client_id, client_metadata_url = cfg.client_id, cfg.client_metadata_url
  if old.client_kind == "cimd" and not client_metadata_url then client_metadata_url = old.client_id end
  if client_id and client_id == old.client_id and old.client_kind == "configured" then
    self.renew_error = what .. "; the client id " .. client_id .. " was issued by " .. tostring(old.issuer)
      .. ": register a client at " .. new_issuer .. " and configure its id (client_id, --client-id)"
    return nil, message.failure(ctx, self)
  end
  if not (M.UNATTENDED[grant] or M.interactive()) then
    self.renew_error = what .. "; a " .. tostring(grant) .. " login needs a person: run mcptest login "
      .. url_mod.shown(self.target) .. " in a terminal"
    return nil, message.failure(ctx, self)
  end
  local login = setmetatable({ url = self.target, tls = self.tls, grant = grant,
    challenge = ctx.www_authenticate, client_id = client_id, client_metadata_url = client_metadata_url,
    client_secret_env = client_id and cfg.client_secret_env or nil,
    private_key_env = cfg.private_key_env or (old.client_kind == "cimd" and old.private_key_env) or nil,
    assertion_env = cfg.assertion_env or old.assertion_env, idp = cfg.idp or old.idp,
    dpop = cfg.dpop or (old.dpop_key ~= nil) }, { __index = cfg })
  local ok, t = pcall(M.login, login)
  if not ok then
    self.renew_error = what .. "; the login at " .. new_issuer .. " failed: " .. (errors.is(t) and t.message or tostring(t))
    return nil, message.failure(ctx, self)
  end
  self:use(t)
  return true
end

-- Is a person at hand to authorize (an interactive terminal, not CI)?
function M.interactive()
  local ci = os.getenv("CI")
  if ci and ci ~= "" and ci ~= "false" and ci ~= "0" then return false end
  return sys.isatty(0) and sys.isatty(2)
end

local function union_scope(a, b)
  local seen, out = {}, {}
  for _, s in ipairs({ a or "", b or "" }) do
    for w in s:gmatch("%S+") do
      if not seen[w] then seen[w] = true; out[#out + 1] = w end
    end
  end
  return table.concat(out, " ")
end

-- A 403 insufficient_scope: authorize again with the union of the scopes
-- held and the scopes asked for (a refresh cannot widen a grant), when the
-- grant needs no person or a person is at hand; the transport bounds the
-- attempts per request (3), and the message names the scopes of each.
function Source:step_up(ctx, ch)
  local asked = ch and ch.params.scope
  if not (ch and ch.params.error == "insufficient_scope" and asked and H(self).tokens) then
    return nil, message.failure(ctx, self)
  end
  local want = union_scope(H(self).tokens.scope, asked)
  local grant = H(self).tokens.grant
  local cfg = self.cfg or {}
  if not (M.UNATTENDED[grant] or M.interactive()) then
    -- a grant that needs a person, and none is at hand (CI, no terminal)
    self.renew_error = "a " .. tostring(grant) .. " login needs a person; run mcptest login with --scope \""
      .. want .. "\" in a terminal"
    return nil, message.failure(ctx, self)
  end
  self.scopes_asked = self.scopes_asked or {}
  self.scopes_asked[#self.scopes_asked + 1] = want
  local login = setmetatable({ url = self.target, tls = self.tls, scope = want, grant = grant,
    client_id = cfg.client_id or H(self).tokens.client_id, client_secret_env = cfg.client_secret_env or H(self).tokens.client_secret_env,
    private_key_env = cfg.private_key_env or H(self).tokens.private_key_env,
    assertion_env = cfg.assertion_env or H(self).tokens.assertion_env, idp = cfg.idp or H(self).tokens.idp,
    dpop = cfg.dpop or (H(self).tokens.dpop_key ~= nil) }, { __index = cfg })
  local ok, t = pcall(M.login, login)
  if not ok then
    self.renew_error = errors.is(t) and t.message or tostring(t)
    return nil, message.failure(ctx, self)
  end
  self:use(t)
  return true
end

-- ===== mcp.oauth.login / refresh =====

-- cfg: url, grant ("authorization_code" default, "client_credentials",
-- "device_code", "jwt_bearer"), client_id, client_secret_env,
-- private_key_env, client_metadata_url, assertion_env, idp, dpop, scope,
-- no_browser, callback_port, register, tls, say (prints), on_device,
-- on_authorize_url, store ("file" | "keychain": where the secrets go).
function M.login(cfg)
  if type(cfg) ~= "table" or type(cfg.url) ~= "string" then
    errors.raise("usage", "mcp.oauth.login needs { url = \"https://server/mcp\", grant = ... }")
  end
  local grant = cfg.grant or "authorization_code"
  local d, err
  if cfg.token_url then
    -- a token endpoint given: no discovery (a machine grant against an AS
    -- whose metadata is not published); resource = the server URL
    local p = url_mod.parse(cfg.token_url)
    if not p or not p.host or (p.scheme ~= "https" and not (p.scheme == "http" and url_mod.is_loopback_host(p.host))) then
      errors.raise("usage", "token_url must be an https URL (or http on a loopback host), got " .. url_mod.shown(cfg.token_url))
    end
    local issuer = p.scheme .. "://" .. p.host .. (p.port and (":" .. p.port) or "")
    d = { url = cfg.url, issuer = issuer, resource = M.cache_url(cfg.url), walk = {},
          as = { issuer = issuer, token_endpoint = cfg.token_url } }
  else
    -- a 401's challenge, when login starts from one: its resource_metadata
    -- and scope are what the refused request needs
    d, err = lazy.discovery.discover(cfg.url, { tls = cfg.tls, challenge = cfg.challenge })
    if not d then error(err, 0) end
  end
  -- the callback listener first, so a registration names the port it will use
  local listener, port
  if grant == "authorization_code" then
    listener, port = lazy.oauth.listen(cfg)
    if not listener then error(port, 0) end
  end
  local redirect_uri = port and ("http://127.0.0.1:" .. port .. "/callback") or nil
  local ok_client, client = pcall(lazy.oauth.client_for, d, { client_id = cfg.client_id,
    client_secret_env = cfg.client_secret_env, private_key_env = cfg.private_key_env,
    client_metadata_url = cfg.client_metadata_url, grant = grant, scope = cfg.scope, register = cfg.register,
    redirect_uri = redirect_uri, tls = cfg.tls, store = cfg.store })
  if not ok_client then
    if listener then listener:close() end
    error(client, 0)
  end
  cfg = setmetatable({ listener = listener, listener_port = port }, { __index = cfg })
  local scope = cfg.scope or d.scopes
  -- offline_access only when the AS lists it, for grants that refresh
  if (grant == "authorization_code" or grant == "device_code") and type(d.as.scopes_supported) == "table" then
    for _, sc in ipairs(d.as.scopes_supported) do
      if sc == "offline_access" and not (" " .. (scope or "") .. " "):find(" offline_access ", 1, true) then
        scope = scope and (scope .. " offline_access") or "offline_access"
      end
    end
  end
  local ctx = { d = d, client = client, resource = d.resource, scope = scope, client_secret_env = cfg.client_secret_env,
                private_key_env = cfg.private_key_env, dpop = cfg.dpop and lazy.dpop.new() or nil, tls = cfg.tls }
  local t, gerr = lazy.oauth.grant(ctx, grant, cfg)
  if not t and gerr.oauth_error == "invalid_client" and client.registered and not cfg.client_id then
    -- the AS forgot our registration: drop it and register once more
    cache.remove_client(d.issuer)
    ctx.client = lazy.oauth.client_for(d, { grant = grant, scope = cfg.scope, register = true, redirect_uri = redirect_uri,
      tls = cfg.tls, store = cfg.store })
    if grant == "authorization_code" then
      -- the first attempt closed its listener; open one again
      local l2, p2 = lazy.oauth.listen({ callback_port = port })
      if not l2 then error(p2, 0) end
      cfg = setmetatable({ listener = l2, listener_port = p2 }, { __index = cfg })
    end
    t, gerr = lazy.oauth.grant(ctx, grant, cfg)
  end
  if not t then error(gerr, 0) end
  t.auth_method = lazy.oauth.choose_auth_method(d.as, ctx.client)
  t.auth_methods = d.as.token_endpoint_auth_methods_supported
  -- where the client id came from: on an AS migration only a CIMD URL
  -- travels to the new AS (SEP-2352)
  t.client_kind = ctx.client.cimd and "cimd" or ctx.client.registered and "registered"
    or ctx.client.client_id and "configured" or nil
  -- an issuer made up from token_url: no PRM to compare it with
  if cfg.token_url then t.issuer_source = "token_url" end
  local key = M.cache_url(cfg.url)
  t.store = cfg.store -- nil: the entry's store, else the file (auth/cache.lua)
  cache.with_lock(key, function() cache.put_tokens(key, t) end)
  return t
end

function M.refresh(u, opts)
  local key = M.cache_url(u)
  local t, err = cache.with_lock(key, function()
    local cur = cache.tokens(key)
    if not cur then return nil, errors.new("auth", "no cached token for " .. url_mod.shown(u) .. "; run mcptest login " .. url_mod.shown(u)) end
    register_set(cur)
    local nt, rerr = renew(cur, opts and opts.tls)
    if not nt then return nil, rerr end
    cache.put_tokens(key, nt)
    return register_set(nt)
  end)
  if not t then error(err, 0) end
  return t
end

M.now = sys.now
return M
