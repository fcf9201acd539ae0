-- mcptest.auth.oauth: the OAuth client's flows (MCP 2025-11-25
-- authorization, RFC 6749, 7591, 7636, 8252, 8628, 8707, 9207), on the
-- event loop, every credential registered with mcptest.secrets.
--
--   oauth.client_for(d, cfg) -> client        identity: configured client_id
--        (+ client_secret_env), else the registration cached for the
--        issuer, else dynamic registration (cached per issuer)
--   oauth.register(as, metadata) -> registration | nil, err   (RFC 7591)
--   oauth.token_request(ctx, params) -> tokens | nil, err
--   oauth.grant(ctx, grant, cfg) -> tokens | nil, err
--        grant: "client_credentials" | "authorization_code" | "device_code"
--   oauth.refresh(ctx, refresh_token) -> tokens | nil, err
-- ctx = { d = discovery result, client = { client_id, client_secret,
--         auth_method }, resource = RFC 8707 value or nil, scope = ...,
--         tls = { ca_file =, insecure = } for every request to the AS }
-- Token sets as stored: { access_token, token_type, refresh_token,
-- expires_at (epoch s), scope, grant, issuer, resource, client_id,
-- client_secret_env, token_endpoint, obtained_at }.
local curl = require("mcptest.transport.curl")
local url_mod = require("mcptest.url")
local json = require("mcptest.json")
local errors = require("mcptest.errors")
local secrets = require("mcptest.secrets")
local crypto = require("mcptest.core.crypto")
local sys = require("mcptest.core.sys")
local loop = require("mcptest.loop")
local cache = require("mcptest.auth.cache")
local jwt = require("mcptest.auth.jwt")

local M = {}

M.DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
M.JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
M.TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
M.ID_JAG = "urn:ietf:params:oauth:token-type:id-jag"
M.ID_TOKEN = "urn:ietf:params:oauth:token-type:id_token"
M.ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
M.CALLBACK_PORTS = { 8085, 8099 } -- seed 002's range
M.TIMEOUT = 30

local function auth_error(message, fields) return errors.new("auth", message, fields) end

local function b64url(bytes) return crypto.base64url_encode(bytes) end

local function random_string(n) return b64url(crypto.random_bytes(n or 32)) end

-- ===== client identity =====

local function env_secret(var, what)
  local v = os.getenv(var)
  if v == nil or v == "" then
    errors.raise("auth", "env var `" .. var .. "` (named by `" .. what .. "`) is not set or is empty"
      .. " in this process; export the value into it.")
  end
  secrets.register(v, what .. " from " .. var)
  return v
end

-- The JWS alg for a PEM private key: ES256 (P-256) or RS256 (RSA).
function M.key_alg(pem)
  local jwk, err = crypto.public_jwk(pem)
  if not jwk then return nil, err end
  return jwk.kty == "EC" and "ES256" or "RS256", jwk
end

-- RFC 7591 dynamic registration.
function M.register(as, metadata, opts)
  local endpoint = as.registration_endpoint
  if not endpoint then
    return nil, auth_error("the authorization server " .. tostring(as.issuer) .. " offers no dynamic"
      .. " registration (no registration_endpoint); give a client_id (--client-id) registered there")
  end
  local r, err = curl.request{ method = "POST", url = endpoint, body = json.encode(metadata), timeout = M.TIMEOUT,
    tls = opts and opts.tls,
    headers = { ["Content-Type"] = "application/json", Accept = "application/json" } }
  if not r then return nil, err end
  local doc = json.try_decode(r.body)
  if r.status ~= 201 and r.status ~= 200 or type(doc) ~= "table" or type(doc.client_id) ~= "string" then
    local why = type(doc) == "table" and doc.error and (tostring(doc.error) .. (doc.error_description
      and (": " .. tostring(doc.error_description)) or "")) or ("HTTP " .. r.status)
    return nil, auth_error("dynamic registration at " .. url_mod.shown(endpoint) .. " failed: " .. why)
  end
  if doc.client_secret then secrets.register(doc.client_secret, "client secret of " .. doc.client_id) end
  if doc.registration_access_token then secrets.register(doc.registration_access_token, "registration access token") end
  return doc
end

-- The token endpoint authentication method for a client (reference 6.8).
local function choose_auth_method(as, client)
  local supported = as.token_endpoint_auth_methods_supported
  local has_secret = client.client_secret ~= nil
  local function listed(m)
    if type(supported) ~= "table" then return nil end
    for _, v in ipairs(supported) do if v == m then return true end end
    return false
  end
  if client.private_key then
    if supported == nil or listed("private_key_jwt") then return "private_key_jwt" end
  end
  if client.auth_method and (supported == nil or listed(client.auth_method)) then return client.auth_method end
  if supported == nil then return has_secret and "client_secret_basic" or "none" end
  if has_secret and listed("client_secret_basic") then return "client_secret_basic" end
  if has_secret and listed("client_secret_post") then return "client_secret_post" end
  if listed("none") then return "none" end
  return has_secret and "client_secret_post" or "none"
end

local function grant_types_for(grant)
  if grant == "client_credentials" then return { "client_credentials" } end
  if grant == "device_code" then return { M.DEVICE_GRANT, "refresh_token" } end
  return { "authorization_code", "refresh_token" }
end

-- cfg: client_id, client_secret_env, grant, redirect_uri, register (force a
-- fresh registration). Returns { client_id, client_secret, auth_method,
-- registered = true when it came from (cached) registration }.
function M.client_for(d, cfg)
  local private_key = cfg.private_key_env and env_secret(cfg.private_key_env, "private_key_env")
  if private_key and not M.key_alg(private_key) then
    errors.raise("auth", "env var `" .. cfg.private_key_env .. "` (named by `private_key_env`) does not hold"
      .. " a PEM private key (P-256 or RSA)")
  end
  if cfg.client_id then
    local c = { client_id = cfg.client_id, private_key = private_key }
    if cfg.client_secret_env then c.client_secret = env_secret(cfg.client_secret_env, "client_secret_env") end
    c.auth_method = choose_auth_method(d.as, c)
    return c
  end
  if cfg.client_metadata_url and d.as.client_id_metadata_document_supported == true then
    -- CIMD: the client id is the URL of its metadata document
    local c = { client_id = cfg.client_metadata_url, private_key = private_key, cimd = true }
    c.auth_method = private_key and "private_key_jwt" or "none"
    return c
  end
  local issuer = d.issuer
  local grant = cfg.grant or "authorization_code"
  if grant == "jwt_bearer" then
    return { client_id = nil, auth_method = "none" } -- RFC 7523: client authentication is optional
  end
  local cached = not cfg.register and cache.client(issuer)
  if cached and cached.client_id and (cached.grant_types == nil or table.concat(cached.grant_types, " "):find(
       grant == "device_code" and M.DEVICE_GRANT or grant, 1, true)) then
    if cached.client_secret then secrets.register(cached.client_secret, "client secret of " .. cached.client_id) end
    return { client_id = cached.client_id, client_secret = cached.client_secret,
             auth_method = cached.token_endpoint_auth_method, registered = true }
  end
  local confidential = grant == "client_credentials"
  local meta = {
    client_name = "mcptest",
    grant_types = json.array(grant_types_for(grant)),
    response_types = json.array(grant == "authorization_code" and { "code" } or {}),
    token_endpoint_auth_method = confidential and "client_secret_basic" or "none",
    application_type = "native",
  }
  if grant == "authorization_code" then
    meta.redirect_uris = json.array({ cfg.redirect_uri or ("http://127.0.0.1:" .. M.CALLBACK_PORTS[1] .. "/callback") })
  end
  if cfg.scope then meta.scope = cfg.scope end
  local reg, err = M.register(d.as, meta, { tls = cfg.tls })
  if not reg then error(err, 0) end
  reg.issuer = issuer
  reg.store = cfg.store -- the client secret goes where the tokens go
  cache.put_client(issuer, reg)
  return { client_id = reg.client_id, client_secret = reg.client_secret,
           auth_method = reg.token_endpoint_auth_method, registered = true, redirect_uris = reg.redirect_uris }
end

-- ===== the token endpoint =====

local function describe_oauth_error(doc, status)
  local s = tostring(doc.error)
  if doc.error_description then s = s .. ": " .. tostring(doc.error_description) end
  return s .. " (HTTP " .. status .. ")"
end

-- Client authentication for a request to the AS (token, device
-- authorization): into the form or the headers, by the chosen method.
function M.authenticate_client(as, client, form, headers)
  local method = choose_auth_method(as, client)
  if method == "private_key_jwt" and client.private_key then
    local alg = M.key_alg(client.private_key)
    local now = os.time()
    local assertion = jwt.sign({ iss = client.client_id, sub = client.client_id, aud = as.issuer,
      jti = random_string(16), iat = now, exp = now + 60 }, client.private_key, alg)
    secrets.register(assertion, "client assertion")
    form.client_id = client.client_id
    form.client_assertion_type = M.ASSERTION_TYPE
    form.client_assertion = assertion
  elseif method == "client_secret_basic" and client.client_secret then
    local basic = crypto.base64_encode(url_mod.encode(client.client_id) .. ":" .. url_mod.encode(client.client_secret))
    secrets.register(basic, "client credentials of " .. client.client_id)
    headers.Authorization = "Basic " .. basic
  elseif method == "client_secret_post" and client.client_secret then
    form.client_id, form.client_secret = client.client_id, client.client_secret
  else
    form.client_id = client.client_id
  end
end

-- POST params (a map) to the token endpoint with client authentication
-- and resource. Returns the token response, or nil and an auth error with
-- .oauth_error (the RFC 6749 error code) when the AS gave one.
function M.token_request(ctx, params)
  local as, client = ctx.d.as, ctx.client
  local endpoint = as.token_endpoint
  if not endpoint then return nil, auth_error("the authorization server " .. tostring(as.issuer) .. " has no token_endpoint") end
  local form = {}
  for k, v in pairs(params) do if k ~= "_nonce_retry" then form[k] = v end end
  if ctx.resource and form.resource == nil then form.resource = ctx.resource end
  local headers = { ["Content-Type"] = "application/x-www-form-urlencoded", Accept = "application/json" }
  M.authenticate_client(as, client, form, headers)
  if ctx.dpop then headers.DPoP = ctx.dpop:proof("POST", endpoint) end
  local r, err = curl.request{ method = "POST", url = endpoint, headers = headers, body = url_mod.encode_pairs(form),
                               timeout = ctx.timeout or M.TIMEOUT, tls = ctx.tls }
  if not r then return nil, err end
  if ctx.dpop and r.headers["dpop-nonce"] then
    ctx.dpop.nonce = r.headers["dpop-nonce"]
    local doc0 = json.try_decode(r.body)
    if type(doc0) == "table" and doc0.error == "use_dpop_nonce" and not params._nonce_retry then
      -- RFC 9449 8: one retry with the server's nonce
      local again = {}
      for k, v in pairs(params) do again[k] = v end
      again._nonce_retry = true
      return M.token_request(ctx, again)
    end
  end
  local ct = url_mod.media_type(r.headers["content-type"]) or ""
  local doc = json.try_decode(r.body)
  if type(doc) ~= "table" then
    return nil, auth_error("the token endpoint " .. url_mod.shown(endpoint) .. " answered HTTP " .. r.status
      .. " with " .. (ct ~= "" and ct or "no Content-Type") .. ", not JSON; is token_endpoint right?",
      { http_status = r.status })
  end
  if doc.error then
    local e = auth_error("the token endpoint " .. url_mod.shown(endpoint) .. " refused the "
      .. tostring(params.grant_type) .. " request: " .. describe_oauth_error(doc, r.status),
      { http_status = r.status, oauth_error = doc.error })
    return nil, e
  end
  if r.status ~= 200 or type(doc.access_token) ~= "string" then
    return nil, auth_error("the token endpoint " .. url_mod.shown(endpoint) .. " answered HTTP " .. r.status
      .. " without an access_token", { http_status = r.status })
  end
  local tt = doc.token_type and doc.token_type:lower()
  if tt and tt ~= "bearer" and tt ~= "dpop" and tt ~= "n_a" then
    return nil, auth_error("the token endpoint issued a " .. tostring(doc.token_type) .. " token; mcptest sends Bearer and DPoP tokens")
  end
  if ctx.dpop and tt == "bearer" and not ctx.exchange then
    return nil, auth_error("DPoP was asked for (dpop = true) but the token endpoint " .. url_mod.shown(endpoint)
      .. " issued a Bearer token; check that the authorization server supports DPoP (dpop_signing_alg_values_supported)")
  end
  return doc
end

-- A token response as the cache keeps it.
function M.token_set(ctx, resp, grant, previous)
  secrets.register(resp.access_token, "access token")
  if resp.refresh_token then secrets.register(resp.refresh_token, "refresh token") end
  local now = os.time()
  return {
    access_token = resp.access_token,
    token_type = resp.token_type or "Bearer",
    -- a rotated refresh token replaces the old one; none issued keeps it (6.10)
    refresh_token = resp.refresh_token or (previous and previous.refresh_token) or nil,
    expires_at = resp.expires_in and (now + math.floor(tonumber(resp.expires_in) or 0)) or nil,
    scope = resp.scope or ctx.scope or (previous and previous.scope),
    grant = grant,
    issuer = ctx.d.issuer,
    resource = ctx.resource,
    client_id = ctx.client.client_id,
    client_secret_env = ctx.client_secret_env,
    private_key_env = ctx.private_key_env,
    assertion_env = ctx.assertion_env,
    idp = ctx.idp_names, -- { token_endpoint, id_token_env, client_id }: names only
    token_endpoint = ctx.d.as.token_endpoint,
    dpop_key = ctx.dpop and ctx.dpop.key or nil, -- kept with the token it is bound to (0600)
    obtained_at = now,
  }
end

function M.refresh(ctx, previous)
  local resp, err = M.token_request(ctx, { grant_type = "refresh_token", refresh_token = previous.refresh_token,
                                           scope = nil })
  if not resp then return nil, err end
  return M.token_set(ctx, resp, previous.grant, previous)
end

-- ===== grants =====

local function client_credentials(ctx)
  if not ctx.client.client_secret and not ctx.client.private_key then
    return nil, auth_error("the client_credentials grant needs client authentication: give client_id and"
      .. " client_secret_env (--client-id, --client-secret-env), or private_key_env (--private-key-env)")
  end
  return M.token_request(ctx, { grant_type = "client_credentials", scope = ctx.scope })
end

-- RFC 8628: print the code, poll at the interval (slow_down adds 5 s).
local function device_code(ctx, cfg)
  local endpoint = ctx.d.as.device_authorization_endpoint
  if not endpoint then
    return nil, auth_error("the authorization server " .. ctx.d.issuer .. " has no device authorization"
      .. " endpoint, so --device cannot work here; use --no-browser to log in with a URL you open anywhere")
  end
  local form = { scope = ctx.scope, resource = ctx.resource }
  local headers = { ["Content-Type"] = "application/x-www-form-urlencoded", Accept = "application/json" }
  M.authenticate_client(ctx.d.as, ctx.client, form, headers)
  local r, err = curl.request{ method = "POST", url = endpoint, headers = headers,
                               body = url_mod.encode_pairs(form), timeout = M.TIMEOUT, tls = ctx.tls }
  if not r then return nil, err end
  local doc = json.try_decode(r.body)
  if type(doc) ~= "table" or doc.error or not doc.device_code then
    return nil, auth_error("device authorization at " .. url_mod.shown(endpoint) .. " failed: "
      .. (type(doc) == "table" and doc.error and describe_oauth_error(doc, r.status) or ("HTTP " .. r.status)),
      { http_status = r.status, oauth_error = type(doc) == "table" and doc.error or nil })
  end
  secrets.register(doc.device_code, "device code")
  local say = cfg.say or function(s) io.stderr:write(s, "\n") end
  say("To sign in, open " .. tostring(doc.verification_uri) .. " and enter the code " .. tostring(doc.user_code))
  if doc.verification_uri_complete then say(tostring(doc.verification_uri_complete)) end
  local interval = tonumber(doc.interval) or 5
  local deadline = sys.now() + (tonumber(doc.expires_in) or 600)
  if cfg.on_device then cfg.on_device(doc) end
  while true do
    local wait_until = sys.now() + interval
    while sys.now() < wait_until do
      if sys.interrupted() then error("interrupted!", 0) end
      loop.step(math.min(0.2, wait_until - sys.now()))
    end
    if sys.now() > deadline then
      return nil, auth_error("the device code expired before the sign-in was approved; run the login again")
    end
    local resp, terr = M.token_request(ctx, { grant_type = M.DEVICE_GRANT, device_code = doc.device_code })
    if resp then return resp end
    local code = terr.oauth_error
    if code == "slow_down" then interval = interval + 5
    elseif code ~= "authorization_pending" then
      if code == "access_denied" then
        return nil, auth_error("the sign-in was denied at " .. tostring(doc.verification_uri))
      elseif code == "expired_token" then
        return nil, auth_error("the device code expired before the sign-in was approved; run the login again")
      end
      return nil, terr
    end
  end
end

-- The loopback listener for the authorization code (RFC 8252 7.3).
local function callback_port(cfg)
  local fixed = cfg.callback_port or tonumber(os.getenv("MCPTEST_OAUTH_CALLBACK_PORT") or "")
  if cfg.redirect_uri then fixed = fixed or tonumber(cfg.redirect_uri:match("^http://127%.0%.0%.1:(%d+)")) end
  return fixed
end

function M.listen(cfg)
  local httpd = require("mcptest.core.httpd")
  local fixed = callback_port(cfg)
  if fixed then
    local d, err = httpd.start{ port = fixed }
    if not d then
      return nil, auth_error("cannot listen for the OAuth callback on 127.0.0.1:" .. fixed .. " ("
        .. tostring(err and err.message or err) .. "); free the port or choose another with --callback-port")
    end
    return d, fixed
  end
  for port = M.CALLBACK_PORTS[1], M.CALLBACK_PORTS[2] do
    local d = httpd.start{ port = port }
    if d then return d, port end
  end
  return nil, auth_error("no free port for the OAuth callback in " .. M.CALLBACK_PORTS[1] .. "-"
    .. M.CALLBACK_PORTS[2] .. "; set --callback-port or MCPTEST_OAUTH_CALLBACK_PORT")
end

local CLOSE_PAGE = "<!doctype html><title>mcptest</title><p>mcptest received the sign-in. You can close this tab.</p>"

local function open_browser(u, cfg)
  if cfg.no_browser then return false end
  local cmd = os.getenv("BROWSER")
  if not cmd or cmd == "" then cmd = "xdg-open" end
  local q = "'" .. u:gsub("'", "'\\''") .. "'"
  local ok = os.execute(cmd .. " " .. q .. " >/dev/null 2>&1 &")
  return ok == true or ok == 0
end

local function authorization_code(ctx, cfg)
  local as = ctx.d.as
  if not as.authorization_endpoint then
    return nil, auth_error("the authorization server " .. ctx.d.issuer .. " has no authorization_endpoint")
  end
  local methods = as.code_challenge_methods_supported
  local s256 = false
  for _, m in ipairs(type(methods) == "table" and methods or {}) do if m == "S256" then s256 = true end end
  if not s256 and not as.default_endpoints then
    return nil, auth_error("the authorization server " .. ctx.d.issuer .. " does not list S256 in"
      .. " code_challenge_methods_supported; MCP requires PKCE with S256, so mcptest will not authorize there")
  end
  local d, port = cfg.listener, cfg.listener_port
  if not d then
    d, port = M.listen(cfg)
    if not d then return nil, port end
  end
  local redirect_uri = "http://127.0.0.1:" .. port .. "/callback"
  local verifier = secrets.register(random_string(32), "PKCE code verifier")
  local challenge = b64url(crypto.sha256(verifier))
  local state = random_string(24) -- not a credential: it travels in the URL a person opens
  local q = url_mod.encode_pairs({ { "response_type", "code" }, { "client_id", ctx.client.client_id },
    { "redirect_uri", redirect_uri }, { "scope", ctx.scope }, { "state", state },
    { "code_challenge", challenge }, { "code_challenge_method", "S256" }, { "resource", ctx.resource } })
  local auth_url = as.authorization_endpoint .. (as.authorization_endpoint:find("?", 1, true) and "&" or "?") .. q
  local say = cfg.say or function(s) io.stderr:write(s, "\n") end
  if not open_browser(auth_url, cfg) then
    say("Open this URL to sign in:")
  else
    say("Opened a browser to sign in; if nothing opened, visit:")
  end
  say(auth_url)
  if cfg.on_authorize_url then cfg.on_authorize_url(auth_url) end
  local source = { fds = function() return { d:fd() } end, on_ready = function() end }
  loop.register(source)
  local result, ferr
  local deadline = sys.now() + (cfg.callback_timeout or 300)
  while not result and not ferr do
    if sys.interrupted() then loop.unregister(source); d:close(); error("interrupted!", 0) end
    if sys.now() > deadline then ferr = auth_error("no OAuth callback within " .. (cfg.callback_timeout or 300)
      .. " s; if the browser showed an error (such as invalid_client: the server forgot mcptest's"
      .. " registration), log in again with a fresh registration (register = true, --register)"); break end
    loop.step(0.1)
    local reqs = d:run()
    for _, req in ipairs(reqs) do
      if req.path ~= "/callback" then
        d:respond(req.id, 404, { ["Content-Type"] = "text/plain" }, "not found\n")
      else
        local params, perr, _, counts = url_mod.parse_form(req.query_string or "")
        d:respond(req.id, 200, { ["Content-Type"] = "text/html; charset=utf-8" }, CLOSE_PAGE)
        if perr then
          ferr = auth_error("the OAuth callback is malformed (" .. perr .. "); refusing it")
        elseif params.state ~= state then
          ferr = auth_error("the OAuth callback's state did not match the request's (a stale or forged"
            .. " callback); run the login again")
        elseif params.error then
          ferr = auth_error("the authorization server refused the sign-in: " .. params.error
            .. (params.error_description and (": " .. params.error_description) or ""), { oauth_error = params.error })
        else
          -- RFC 9207: iss must be present when advertised, and match whenever present
          local iss = params.iss
          if iss == nil and (counts.iss or 0) > 0 then iss = "" end -- present but empty: compared too
          if as.authorization_response_iss_parameter_supported and iss == nil then
            ferr = auth_error("the OAuth callback has no iss parameter although " .. ctx.d.issuer
              .. " advertises authorization_response_iss_parameter_supported (RFC 9207); refusing the code")
          elseif iss ~= nil and iss ~= ctx.d.issuer then
            ferr = auth_error("the OAuth callback's iss is " .. errors.snippet(iss) .. ", not the issuer "
              .. errors.snippet(ctx.d.issuer) .. " (RFC 9207: a mix-up attack or a misconfigured server); refusing the code")
          elseif not params.code then
            ferr = auth_error("the OAuth callback carried neither a code nor an error")
          else
            result = params.code
          end
        end
      end
    end
  end
  loop.unregister(source)
  d:close()
  if ferr then return nil, ferr end
  secrets.register(result, "authorization code")
  return M.token_request(ctx, { grant_type = "authorization_code", code = result, redirect_uri = redirect_uri,
                                code_verifier = verifier })
end

-- RFC 7523 2.1 with a workload's JWT (assertion_env), or enterprise-managed
-- authorization: the IdP's ID token exchanged (RFC 8693) for an ID-JAG,
-- which is then the assertion.
local function jwt_bearer(ctx, cfg)
  local assertion
  if cfg.assertion_env then
    assertion = env_secret(cfg.assertion_env, "assertion_env")
  elseif type(cfg.idp) == "table" then
    local idp = cfg.idp
    if type(idp.token_endpoint) ~= "string" or type(idp.id_token_env) ~= "string" then
      errors.raise("usage", "idp needs token_endpoint and id_token_env (and usually client_id)")
    end
    local id_token = env_secret(idp.id_token_env, "id_token_env")
    local ip = url_mod.parse(idp.token_endpoint)
    if not ip or not ip.host or not (ip.scheme == "https" or (ip.scheme == "http" and url_mod.is_loopback_host(ip.host))) then
      errors.raise("usage", "idp.token_endpoint must be an https URL (or http on a loopback host): the ID token"
        .. " and the client secret go there, got " .. url_mod.shown(tostring(idp.token_endpoint)))
    end
    local form = { grant_type = M.TOKEN_EXCHANGE, requested_token_type = M.ID_JAG,
      subject_token = id_token, subject_token_type = M.ID_TOKEN, audience = ctx.d.issuer,
      resource = ctx.resource, scope = ctx.scope, client_id = idp.client_id }
    if idp.client_secret_env then form.client_secret = env_secret(idp.client_secret_env, "idp.client_secret_env") end
    local r, rerr = curl.request{ method = "POST", url = idp.token_endpoint, body = url_mod.encode_pairs(form),
      timeout = M.TIMEOUT, tls = ctx.tls, headers = { ["Content-Type"] = "application/x-www-form-urlencoded", Accept = "application/json" } }
    if not r then return nil, rerr end
    local doc = json.try_decode(r.body)
    if type(doc) ~= "table" or doc.error or type(doc.access_token) ~= "string" then
      return nil, auth_error("the identity provider's token exchange at " .. url_mod.shown(idp.token_endpoint)
        .. " failed: " .. (type(doc) == "table" and doc.error and describe_oauth_error(doc, r.status)
        or ("HTTP " .. r.status .. ", no ID-JAG")))
    end
    if doc.issued_token_type and doc.issued_token_type ~= M.ID_JAG then
      return nil, auth_error("the identity provider issued a " .. tostring(doc.issued_token_type) .. ", not an ID-JAG")
    end
    assertion = secrets.register(doc.access_token, "ID-JAG")
    ctx.idp_names = { token_endpoint = idp.token_endpoint, id_token_env = idp.id_token_env, client_id = idp.client_id,
                      client_secret_env = idp.client_secret_env }
  else
    errors.raise("usage", "the jwt_bearer grant needs assertion_env (a workload identity JWT) or idp = {...}")
  end
  ctx.assertion_env = cfg.assertion_env
  return M.token_request(ctx, { grant_type = M.JWT_BEARER, assertion = assertion, scope = ctx.scope })
end

local GRANTS = { client_credentials = client_credentials, device_code = device_code,
                 authorization_code = authorization_code, jwt_bearer = jwt_bearer }

function M.grant(ctx, grant, cfg)
  local fn = GRANTS[grant]
  if not fn then
    errors.raise("usage", "unknown OAuth grant " .. string.format("%q", tostring(grant))
      .. "; known: authorization_code, client_credentials, device_code, jwt_bearer")
  end
  local resp, err = fn(ctx, cfg or {})
  if not resp then return nil, err end
  return M.token_set(ctx, resp, grant)
end

M.choose_auth_method = choose_auth_method
return M
