-- mcptest.auth.discovery: the OAuth metadata walk for an MCP server URL
-- (MCP 2025-11-25 authorization; RFC 9728, RFC 8414, OpenID Connect
-- Discovery; the 2025-03-26 fallbacks), recording every URL tried.
--
--   discovery.discover(url[, opts]) -> d | nil, err (err.walk has the steps)
--     opts: challenge (a WWW-Authenticate value already received),
--           tls, timeout
--     d = { url =, challenge = {scheme=, params=} | nil,
--           prm = {...} | nil, prm_url =, resource = (PRM resource exactly
--           as published, else nil), issuer =, as = {AS metadata},
--           as_url =, legacy = true when the 2025-03-26 fallbacks were used,
--           scopes = (the challenge's scope, else PRM scopes_supported),
--           walk = { {step=, url=, status=, note=}, ... } }
--   discovery.authorization_servers(url[, opts]) -> { issuer, ... } | nil
--     the PRM's authorization_servers now (opts.challenge: a 401's
--     WWW-Authenticate, whose resource_metadata is tried first)
-- Validation that stops the walk (and never authorizes): a PRM whose
-- `resource` does not cover the server URL (same origin, path prefix); an
-- AS metadata `issuer` not identical to the issuer the PRM named (RFC 8414
-- 3.3: the same string); an authorization server over plain http that is
-- not on a loopback address.
local curl = require("mcptest.transport.curl")
local url_mod = require("mcptest.url")
local json = require("mcptest.json")
local errors = require("mcptest.errors")

local M = {}

local function fail(walk, message, fields)
  local e = errors.new("auth", message, fields)
  e.walk = walk
  return nil, e
end

local function origin(p)
  return p.scheme .. "://" .. p.host .. (p.port and (":" .. p.port) or "")
end

-- One request of the walk, recorded as a step: the response, or nil
-- (the step's note says why) and the transport error.
local function fetch(walk, step, req)
  local r, err = curl.request(req)
  local entry = { step = step, url = url_mod.shown(req.url) }
  walk[#walk + 1] = entry
  if not r then entry.note = tostring(err.message) end
  if r then entry.status = r.status end
  return r, err, entry
end

-- GET a JSON document; records the step. Returns the decoded object or
-- nil (with the step's note saying why).
local function get_json(walk, step, u, opts)
  local r, _, entry = fetch(walk, step, { url = u, headers = { Accept = "application/json" },
                                          timeout = opts.timeout or 15, tls = opts.tls })
  if not r then return nil, "unreachable" end
  if r.status < 200 or r.status >= 300 then
    entry.note = "HTTP " .. r.status
    return nil, r.status
  end
  local ct = url_mod.media_type(r.headers["content-type"]) or ""
  local doc = json.try_decode(r.body)
  if type(doc) ~= "table" or json.is_array(doc) then
    entry.note = "not a JSON object (Content-Type " .. (ct ~= "" and ct or "none") .. ")"
    return nil, "bad"
  end
  entry.note = "found"
  return doc
end

-- RFC 9728 section 3.1: the well-known path goes between host and path.
function M.prm_urls(server_url)
  local p = url_mod.parse(server_url)
  local base = origin(p)
  local path = (p.path or ""):gsub("/$", "")
  local q = p.query and ("?" .. p.query) or ""
  local list = {}
  if path ~= "" then list[#list + 1] = base .. "/.well-known/oauth-protected-resource" .. path .. q end
  list[#list + 1] = base .. "/.well-known/oauth-protected-resource"
  return list
end

-- The AS metadata URLs for an issuer, in the order MCP 2025-11-25 gives.
function M.as_urls(issuer)
  local p = url_mod.parse(issuer)
  local base = origin(p)
  local path = (p.path or ""):gsub("/$", "")
  if path == "" then
    return { base .. "/.well-known/oauth-authorization-server", base .. "/.well-known/openid-configuration" }
  end
  return { base .. "/.well-known/oauth-authorization-server" .. path,
           base .. "/.well-known/openid-configuration" .. path,
           base .. path .. "/.well-known/openid-configuration" }
end

-- Does the PRM resource cover the server URL? Same origin (scheme, host,
-- port after normalisation) and the server's path starts with the
-- resource's path at a segment boundary.
function M.resource_covers(resource, server_url)
  local r, s = url_mod.parse(url_mod.canonical_resource(resource) or ""), url_mod.parse(url_mod.canonical_resource(server_url) or "")
  if not r or not s or not r.host or not s.host then return false end
  if origin(r) ~= origin(s) then return false end
  local rp, sp = r.path or "", s.path or ""
  if rp == "" or rp == "/" then return true end
  return sp == rp or sp:sub(1, #rp + 1) == rp .. "/"
end

-- A plain-http authorization server is accepted on loopback only.
local function check_transport_security(walk, what, u)
  local p = url_mod.parse(u)
  if not p or (p.scheme ~= "https" and p.scheme ~= "http") then
    return fail(walk, what .. " " .. tostring(u) .. " is not an http(s) URL")
  end
  if p.scheme == "http" and not url_mod.is_loopback_host(p.host) then
    return fail(walk, what .. " " .. url_mod.shown(u) .. " uses plain http on a host that is not loopback;"
      .. " mcptest sends credentials to an authorization server only over https (or http on 127.0.0.1/[::1]/localhost)")
  end
  return true
end

-- The challenge of an unauthenticated request to the MCP endpoint.
local function probe(walk, server_url, opts)
  local protocol = require("mcptest.protocol")
  local body = json.encode({ jsonrpc = "2.0", id = 1, method = "initialize", params = {
    protocolVersion = protocol.LATEST_LEGACY, capabilities = json.object(), clientInfo = protocol.CLIENT_INFO } })
  local r, err, entry = fetch(walk, "challenge", { method = "POST", url = server_url, body = body,
    timeout = opts.timeout or 15, tls = opts.tls,
    headers = { ["Content-Type"] = "application/json", Accept = "application/json, text/event-stream" } })
  if not r then return nil, err end
  local www = r.headers["www-authenticate"]
  entry.note = www and ("WWW-Authenticate: " .. www) or "no WWW-Authenticate"
  return www, nil, r.status
end

-- The login commands that would work with this authorization server's
-- metadata, most convenient first ({ "mcptest login URL --device   (...)" }).
function M.login_commands(server_url, as)
  local out = {}
  if as.authorization_endpoint then out[#out + 1] = "mcptest login " .. server_url .. "   (a browser)" end
  if as.device_authorization_endpoint then
    out[#out + 1] = "mcptest login " .. server_url .. " --device   (no browser here)"
  end
  if type(as.grant_types_supported) == "table" then
    for _, g in ipairs(as.grant_types_supported) do
      if g == "client_credentials" then
        out[#out + 1] = "mcptest login " .. server_url .. " --client-credentials --client-id ID --client-secret-env VAR"
      end
    end
  end
  return out
end

-- The PRM: from the challenge's resource_metadata, else the path-inserted
-- then the root well-known URL. Returns doc, url (or nothing).
local function find_prm(walk, server_url, params, opts)
  local candidates = {}
  if params.resource_metadata then candidates[1] = params.resource_metadata end
  for _, u in ipairs(M.prm_urls(server_url)) do
    if u ~= params.resource_metadata then candidates[#candidates + 1] = u end
  end
  for _, u in ipairs(candidates) do
    local doc, why = get_json(walk, "protected resource metadata", u, opts)
    if doc then return doc, u end
    if why == "unreachable" or (type(why) == "number" and why >= 500 and why ~= 502) then return nil end
  end
end

-- The authorization servers the PRM names now (SEP-2352: a server may
-- move to another AS), for a token refused with this challenge: a list of
-- issuers, or nil when there is no usable PRM (then nothing can be said).
function M.authorization_servers(server_url, opts)
  opts = opts or {}
  local ch = curl.parse_www_authenticate(opts.challenge)
  local prm = find_prm({}, server_url, ch and ch.params or {}, opts)
  if type(prm) ~= "table" or type(prm.resource) ~= "string" or not M.resource_covers(prm.resource, server_url) then
    return nil
  end
  local list = prm.authorization_servers
  if type(list) ~= "table" or type(list[1]) ~= "string" then return nil end
  return list
end

function M.discover(server_url, opts)
  opts = opts or {}
  local walk = {}
  local p = url_mod.parse(server_url)
  if not p or not p.host or (p.scheme ~= "http" and p.scheme ~= "https") then
    errors.raise("usage", "discover needs an http(s) MCP server URL, got " .. url_mod.shown(tostring(server_url)))
  end
  local d = { url = server_url, walk = walk }
  local www = opts.challenge
  if www == nil then
    local w, err, status = probe(walk, server_url, opts)
    if err then return fail(walk, "cannot reach " .. url_mod.shown(server_url) .. ": " .. tostring(err.message)) end
    www = w
    d.probe_status = status
  end
  d.challenge = curl.parse_www_authenticate(www)
  local params = d.challenge and d.challenge.params or {}

  -- 1. Protected Resource Metadata
  d.prm, d.prm_url = find_prm(walk, server_url, params, opts)

  local issuer
  if d.prm then
    local prm = d.prm
    if type(prm.resource) ~= "string" then
      return fail(walk, "the protected resource metadata at " .. url_mod.shown(d.prm_url) .. " has no resource")
    end
    if not M.resource_covers(prm.resource, server_url) then
      return fail(walk, "the protected resource metadata at " .. url_mod.shown(d.prm_url) .. " is for "
        .. url_mod.shown(prm.resource) .. ", which does not cover " .. url_mod.shown(server_url)
        .. " (RFC 9728 3.3); mcptest will not authorize with it")
    end
    d.resource = prm.resource -- exactly as published (RFC 8707 resource parameter)
    local servers = prm.authorization_servers
    if type(servers) ~= "table" or type(servers[1]) ~= "string" then
      return fail(walk, "the protected resource metadata at " .. url_mod.shown(d.prm_url)
        .. " names no authorization_servers")
    end
    issuer = servers[1]
  else
    -- 2025-03-26: no PRM; the AS is the server's origin
    d.legacy = true
    issuer = origin(p)
  end
  local ok, err = check_transport_security(walk, "the authorization server", issuer)
  if not ok then return nil, err end

  -- 2. Authorization server metadata
  for _, u in ipairs(M.as_urls(issuer)) do
    local doc, why = get_json(walk, "authorization server metadata", u, opts)
    if doc then
      if doc.issuer ~= issuer then
        return fail(walk, "the authorization server metadata at " .. url_mod.shown(u) .. " names issuer "
          .. errors.snippet(doc.issuer) .. ", not " .. string.format("%q", issuer)
          .. " (RFC 8414 3.3: they must be identical); mcptest will not use it")
      end
      d.as, d.as_url = doc, u
      break
    end
    if why == "unreachable" or (type(why) == "number" and why >= 500 and why ~= 502) then break end
  end
  if not d.as then
    if not d.legacy then
      -- the last step's note says why (a TLS or connection error above all)
      local last = walk[#walk]
      return fail(walk, "no authorization server metadata for " .. issuer .. " (tried "
        .. #M.as_urls(issuer) .. " URLs; see the walk" .. (last and last.note and ("; the last: " .. last.note) or "") .. ")")
    end
    -- 2025-03-26 default endpoints
    d.as = { issuer = issuer, authorization_endpoint = issuer .. "/authorize",
             token_endpoint = issuer .. "/token", registration_endpoint = issuer .. "/register",
             default_endpoints = true }
    walk[#walk + 1] = { step = "default endpoints", url = issuer, note = "using /authorize, /token, /register (2025-03-26)" }
  end
  d.issuer = issuer
  for _, field in ipairs({ "token_endpoint", "authorization_endpoint", "device_authorization_endpoint",
                           "registration_endpoint", "revocation_endpoint" }) do
    local e = d.as[field]
    if e ~= nil then
      ok, err = check_transport_security(walk, "the " .. field:gsub("_", " "), e)
      if not ok then return nil, err end
    end
  end
  if params.scope then d.scopes = params.scope
  elseif d.prm and type(d.prm.scopes_supported) == "table" and #d.prm.scopes_supported > 0 then
    d.scopes = table.concat(d.prm.scopes_supported, " ")
  end
  return d
end

return M
