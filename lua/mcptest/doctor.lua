-- mcptest.doctor: a layered diagnosis of one server (seed 000's "use
-- mcptest doctor when a 401 or 403 appears"). Each layer gets OK, WARN,
-- FAIL or SKIP with one finding and one hint; the walk stops where a
-- layer makes the next meaningless (no DNS, no TCP...), and the later
-- layers are reported as SKIP with the reason.
--
--   doctor.run(target) -> report
--     target = { url = | command = (string or argv), bearer_token_env =,
--                headers = { "Name: value" }, tls = { ca_file=, insecure= },
--                timeout = seconds (default 10), protocol = }
--     report = { target =, ok = bool, layers = { { name =, status =,
--                finding =, hint =, details = {...} }, ... } }
-- The CLI verb (cli/doctor.lua) prints it; the agent-facing server will
-- return it as structured output. Secrets: env var values are never put
-- in the report, only their names; every credential read here is
-- registered with mcptest.secrets before anything is sent.
local curl = require("mcptest.transport.curl")
local url_mod = require("mcptest.url")
local json = require("mcptest.json")
local errors = require("mcptest.errors")
local secrets = require("mcptest.secrets")
local protocol = require("mcptest.protocol")
local sys = require("mcptest.core.sys")

local M = {}

M.LAYERS = { "CONFIG", "DNS", "TCP", "TLS", "HTTP", "MCP", "AUTH", "DISCOVERY" }
M.CERT_WARN_DAYS = 14

local function ms(seconds) return string.format("%.0f ms", (seconds or 0) * 1000) end

local Report = {}
Report.__index = Report

local function new_report(target)
  return setmetatable({ target = target, layers = {}, by_name = {}, ok = true }, Report)
end

function Report:set(name, status, finding, hint, details)
  local l = { name = name, status = status, finding = finding, hint = hint, details = details }
  self.layers[#self.layers + 1] = l
  self.by_name[name] = l
  if status == "FAIL" then self.ok = false end
  return l
end

-- Every layer not reported yet becomes SKIP with the reason.
function Report:skip_rest(reason)
  for _, name in ipairs(M.LAYERS) do
    if not self.by_name[name] then self:set(name, "SKIP", reason) end
  end
end

function Report:finish()
  local order = {}
  for i, name in ipairs(M.LAYERS) do order[name] = i end
  table.sort(self.layers, function(a, b) return order[a.name] < order[b.name] end)
  self.by_name = nil
  return setmetatable(self, nil)
end

-- ===== the credential the probe sends (DESIGN.md's order) =====

local function credential(target, url)
  local cred = { source = "none", lines = {} }
  if target.bearer_token_env then
    local var = target.bearer_token_env
    cred.token_env = var
    local v = os.getenv(var)
    if v == nil or v == "" then
      cred.source = "env_unset" -- the request still goes out, without credentials
    else
      secrets.register(v, "token from " .. var)
      cred.source, cred.lines = "env", { "Authorization: Bearer " .. v }
    end
    return cred
  end
  for _, line in ipairs(target.header_lines or {}) do
    if line:match("^([^:]+)"):lower() == "authorization" then
      secrets.register(line:match("^[^:]+:%s*(.*)$"), "Authorization header")
      cred.source, cred.lines = "header", { line }
      return cred
    end
  end
  local cache = require("mcptest.auth.cache")
  if cache.has_tokens(url) then
    local t = cache.tokens(cache.url_key(url))
    if t and t.access_token then
      secrets.register(t.access_token, "cached access token")
      if t.refresh_token then secrets.register(t.refresh_token, "cached refresh token") end
      local expired = t.expires_at and t.expires_at <= os.time()
      cred.source, cred.expired, cred.refreshable = "cache", expired, t.refresh_token ~= nil
      if not expired then cred.lines = { "Authorization: Bearer " .. t.access_token } end
    end
  end
  return cred
end

-- ===== one HTTP exchange with curl's diagnostics =====

local function probe_request(target, url, lines, insecure)
  local headers = { "Content-Type: application/json", "Accept: application/json, text/event-stream" }
  for _, l in ipairs(lines) do headers[#headers + 1] = l end
  for _, l in ipairs(target.header_lines or {}) do
    if l:match("^([^:]+)"):lower() ~= "authorization" then headers[#headers + 1] = l end
  end
  local body = json.encode({ jsonrpc = "2.0", id = 1, method = "initialize", params = {
    protocolVersion = protocol.LATEST_LEGACY, capabilities = json.object(),
    clientInfo = { name = "mcptest-doctor", version = protocol.CLIENT_INFO.version } } })
  local opts = { method = "POST", url = url, headers = headers, body = body, diagnose = true,
                 timeout = target.timeout, connect_timeout = target.timeout }
  if target.tls then curl.apply_tls(opts, { ca_file = target.tls.ca_file, insecure = target.tls.insecure }) end
  if insecure then opts.insecure = true end
  local chunks, done, failure = {}, false, nil
  local req, err = curl.start(opts, function(_, chunk, fin, e)
    if chunk and #table.concat(chunks) < 65536 then chunks[#chunks + 1] = chunk end
    if fin then done, failure = true, e end
  end)
  if not req then return { error = err } end
  local loop = require("mcptest.loop")
  local deadline = sys.now() + target.timeout + 1
  while not done and sys.now() < deadline do loop.step(math.max(0.01, deadline - sys.now())) end
  if not done then
    req:abort()
    failure = errors.new("timeout", "no answer within " .. target.timeout .. " s", { curl_code = 28 })
  end
  local res = { diag = req:diagnostics() or {}, error = failure }
  if not failure then
    res.status, res.headers, res.body = req:status(), req:headers(), table.concat(chunks)
  end
  return res
end

-- ===== the layers of an HTTP server =====

local TLS_CODES = { [35] = true, [51] = true, [53] = true, [54] = true, [58] = true, [59] = true,
                    [60] = true, [64] = true, [66] = true, [77] = true, [80] = true, [83] = true, [90] = true, [91] = true }

local MONTHS = { Jan = 1, Feb = 2, Mar = 3, Apr = 4, May = 5, Jun = 6, Jul = 7, Aug = 8, Sep = 9, Oct = 10, Nov = 11, Dec = 12 }

-- "Jan 12 10:00:00 2027 GMT" (OpenSSL's form) -> seconds since the epoch
function M.parse_cert_date(s)
  local mon, day, h, mi, sec, year = tostring(s):match("(%a%a%a)%s+(%d+)%s+(%d+):(%d+):(%d+)%s+(%d+)")
  if not mon or not MONTHS[mon] then return nil end
  local t = os.time({ year = tonumber(year), month = MONTHS[mon], day = tonumber(day),
                      hour = tonumber(h), min = tonumber(mi), sec = tonumber(sec), isdst = false })
  -- os.time reads local time; the date is UTC
  local utc_offset = os.time(os.date("*t", t)) - os.time(os.date("!*t", t))
  return t + utc_offset
end

local function cert_summary(cert)
  if not cert then return nil end
  local subject = (cert.subject or ""):match("CN%s*=%s*([^,/]+)") or cert.subject
  local issuer = (cert.issuer or ""):match("CN%s*=%s*([^,/]+)") or cert.issuer
  return subject, issuer
end

local function config_layer(r, target)
  local p = url_mod.parse(target.url)
  if not p or not p.host or (p.scheme ~= "http" and p.scheme ~= "https") then
    r:set("CONFIG", "FAIL", "not an http(s) URL: " .. url_mod.shown(tostring(target.url)),
      "give the server's MCP endpoint, e.g. https://mcp.example.com/mcp")
    return nil
  end
  local notes, warns, hint = {}, {}, nil
  local details = { scheme = p.scheme, host = p.host, port = p.port, env = {} }
  if p.scheme == "http" and not url_mod.is_loopback_host(p.host) then
    warns[#warns + 1] = "plain http to a host that is not loopback: credentials would travel in clear"
    hint = "use https://"
  end
  if target.bearer_token_env then
    local var = target.bearer_token_env
    local set = (os.getenv(var) or "") ~= ""
    details.env[var] = set
    notes[#notes + 1] = "--bearer-token-env " .. var .. (set and " (set)" or " (not set or empty)")
    if not set then
      warns[#warns + 1] = "env var `" .. var .. "` is not set or is empty"
      hint = hint or ("export a token into " .. var .. " (the request goes out without one)")
    end
  end
  for _, name in ipairs(target.dropped or {}) do
    warns[#warns + 1] = "header " .. name .. " dropped: the ${VAR} it names is not set or is empty"
  end
  for var in table.concat(target.headers or {}, "\n"):gmatch("%${([%w_]+)}") do
    details.env[var] = (os.getenv(var) or "") ~= ""
  end
  if target.tls and target.tls.insecure then warns[#warns + 1] = "--insecure: certificates are not verified" end
  local finding = url_mod.shown(target.url) .. (#notes > 0 and ("; " .. table.concat(notes, ", ")) or "")
  if #warns > 0 then
    r:set("CONFIG", "WARN", finding .. "; " .. table.concat(warns, "; "), hint, details)
  else
    r:set("CONFIG", "OK", finding, nil, details)
  end
  return p
end

local function is_ip(host)
  return host:match("^%d+%.%d+%.%d+%.%d+$") or host:sub(1, 1) == "["
end

-- DNS, TCP, TLS from one probe; false when the walk must stop.
local function network_layers(r, target, p, res)
  local d, e = res.diag, res.error
  local code = e and e.curl_code
  local host = p.host
  if code == 6 then
    r:set("DNS", "FAIL", "the host name " .. host .. " does not resolve", "check the spelling, or your DNS/VPN")
    return false
  end
  if code == 3 or code == 1 then
    r:set("DNS", "FAIL", "curl refused the URL: " .. tostring(e.message), "check the URL")
    return false
  end
  if is_ip(host) then
    r:set("DNS", "OK", host .. " is an address (no lookup)")
  else
    r:set("DNS", "OK", host .. " -> " .. tostring(d.ip or "?") .. " in " .. ms(d.dns), nil, { ip = d.ip, seconds = d.dns })
  end
  if code == 7 or (code == 28 and (d.connect or 0) == 0) then
    local port = p.port or (p.scheme == "https" and "443" or "80")
    r:set("TCP", "FAIL", code == 7 and ("connection refused at " .. tostring(d.ip or host) .. ":" .. port)
      or ("no connection within " .. target.timeout .. " s to " .. host .. ":" .. port),
      code == 7 and "is the server running, and is the port right?" or "a firewall, or the wrong host or port")
    return false
  end
  r:set("TCP", "OK", "connected to " .. tostring(d.ip or host) .. " in " .. ms((d.connect or 0) - (d.dns or 0)), nil,
    { seconds = d.connect })
  if p.scheme ~= "https" then
    r:set("TLS", "SKIP", "plain http")
    return true
  end
  if code and TLS_CODES[code] then
    -- look at the certificate without verifying it, to say what it is
    local look = probe_request(target, target.url, {}, true)
    local subject, issuer = cert_summary(look.diag and look.diag.cert)
    local what = subject and (" (certificate for " .. subject .. ", issued by " .. tostring(issuer)
      .. (subject == issuer and ", self-signed" or "") .. ")") or ""
    local hint = (code == 60 or code == 77) and "trust its CA with --cacert FILE (or --insecure to skip the check)"
      or "is it really an https:// server?"
    if code == 60 and tostring(e.message):find("name", 1, true) and not tostring(e.message):find("issuer", 1, true) then
      hint = "the certificate is for another host name; use the name it was issued for"
    end
    r:set("TLS", "FAIL", "TLS failed: " .. tostring(e.message) .. what, hint,
      { curl_code = code, ca_file = target.tls and target.tls.ca_file or d.ca_file })
    return false
  end
  local subject, issuer = cert_summary(d.cert)
  local expires = d.cert and M.parse_cert_date(d.cert.expire_date)
  local ca = (target.tls and target.tls.ca_file) or d.ca_file or "the system store"
  local details = { subject = d.cert and d.cert.subject, issuer = d.cert and d.cert.issuer,
    expire_date = d.cert and d.cert.expire_date, ca_file = ca, seconds = (d.tls or 0) - (d.connect or 0) }
  local finding = (target.tls and target.tls.insecure and "not verified (--insecure)" or "verified")
    .. (subject and (", certificate for " .. subject .. " issued by " .. tostring(issuer)) or "")
    .. (d.cert and (", expires " .. d.cert.expire_date) or "") .. ", CA: " .. ca
  if expires and expires - os.time() < M.CERT_WARN_DAYS * 86400 then
    local days = math.floor((expires - os.time()) / 86400)
    r:set("TLS", "WARN", finding .. " (" .. (days < 0 and "expired" or (days .. (days == 1 and " day left" or " days left"))) .. ")",
      "renew the certificate", details)
  elseif target.tls and target.tls.insecure then
    r:set("TLS", "WARN", finding, "trust the CA with --cacert FILE instead of --insecure", details)
  else
    r:set("TLS", "OK", finding, nil, details)
  end
  return true
end

local MCP_TYPES = { ["application/json"] = true, ["text/event-stream"] = true }

-- The HTTP layer: false when what answered is not an MCP endpoint.
local function http_layer(r, target, res)
  local e = res.error
  if e then
    local waited = e.curl_code == 28
    r:set("HTTP", "FAIL", waited and ("connected, but no response within " .. target.timeout .. " s")
      or ("the exchange failed: " .. tostring(e.message)),
      waited and "the server accepts connections but does not answer: is it stuck?" or curl.CURL_HINTS[e.curl_code])
    return false
  end
  local h = res.headers or {}
  local ct = url_mod.media_type(h["content-type"])
  local server = h["server"]
  local redirects = (res.diag and res.diag.redirects) or 0
  local finding = "HTTP " .. res.status .. (ct and (" " .. ct) or "") .. (server and (", server " .. server) or "")
    .. " in " .. ms(res.diag and res.diag.total)
  local details = { status = res.status, content_type = ct, server = server, redirects = redirects,
                    session = h["mcp-session-id"] ~= nil }
  if res.status >= 300 and res.status < 400 then
    r:set("HTTP", "FAIL", finding .. ", redirect to " .. url_mod.shown(tostring(h["location"])),
      "MCP clients do not follow redirects on POST: use the URL it points to", details)
    return false
  end
  if res.status == 401 or res.status == 403 then
    r:set("HTTP", "OK", finding .. " (the server asks for authorization: see AUTH)", nil, details)
    return true
  end
  if res.status >= 200 and res.status < 300 and MCP_TYPES[ct] then
    r:set("HTTP", "OK", finding, nil, details)
    return true
  end
  local hint
  if ct == "text/html" then
    hint = "this URL serves a web page, not an MCP endpoint: find the server's MCP path (often /mcp)"
  elseif res.status == 404 then
    hint = "nothing at this path: check the MCP endpoint's path (often /mcp, or /sse for old servers)"
  elseif res.status == 405 then
    hint = "the path refuses POST: an old HTTP+SSE server takes its GET at /sse; else check the path"
  elseif res.status >= 500 then
    hint = "the server failed: look at its logs"
  else
    hint = "an MCP server answers a POSTed initialize with JSON or an event stream"
  end
  r:set("HTTP", "FAIL", finding .. ": not an MCP answer", hint, details)
  return false
end

local function challenge_of(res)
  local www = res and res.headers and res.headers["www-authenticate"]
  return www, curl.parse_www_authenticate(www)
end

local function mcp_layer(r, target, res)
  if res and (res.status == 401 or res.status == 403) then
    r:set("MCP", "SKIP", "the server asks for authorization first (see AUTH)")
    return nil
  end
  local mcp = require("mcptest")
  local opts = { timeout = target.timeout, protocol = target.protocol, tls = target.tls,
                 headers = target.headers }
  if target.url then
    opts.url = target.url
    if target.bearer_token_env and (os.getenv(target.bearer_token_env) or "") ~= "" then
      opts.auth = { bearer_token_env = target.bearer_token_env }
    end
  else
    opts.command = target.command
  end
  local t0 = sys.now()
  local ok, c = pcall(mcp.connect, opts)
  local took = sys.now() - t0
  if not ok then
    local err = c
    local msg = errors.is(err) and err.message or tostring(err)
    if errors.is(err) and err.kind == "auth" then
      r:set("MCP", "SKIP", "the server refused the session (see AUTH)")
      return nil, err
    end
    local timed_out = errors.is(err) and err.kind == "timeout"
    r:set("MCP", "FAIL", (timed_out and ("no answer to server/discover or initialize within " .. target.timeout .. " s: ") or "")
      .. secrets.scrub(msg), timed_out and "the server started but does not answer: look at its logs (stderr)"
      or "see the message; run with --verbose to see every message", { seconds = took })
    return nil, err
  end
  local caps = {}
  for k in pairs(c.capabilities or {}) do caps[#caps + 1] = k end
  table.sort(caps)
  local info = c.server_info or {}
  local era = c.era or "legacy"
  r:set("MCP", "OK", "protocol " .. tostring(c.protocol_version) .. " (" .. era .. " era"
    .. (c.era_reason and (": " .. tostring(c.era_reason)) or "") .. "), server " .. tostring(info.name)
    .. (info.version and (" " .. tostring(info.version)) or "") .. ", capabilities: "
    .. (#caps > 0 and table.concat(caps, ", ") or "none") .. (c.session_id and ", session" or ", no session")
    .. ", " .. ms(took), nil,
    { protocol_version = c.protocol_version, era = era, era_reason = c.era_reason, server_info = info,
      capabilities = caps, session = c.session_id ~= nil, seconds = took })
  pcall(c.close, c)
  return true
end

-- The AUTH layer: seed 000's five credential states.
local function auth_layer(r, target, cred, res, mcp_err)
  local url = url_mod.shown(target.url)
  local www, ch = challenge_of(res)
  local status = res and res.status
  if mcp_err and errors.is(mcp_err) and mcp_err.kind == "auth" then
    status = mcp_err.http_status or status
    if mcp_err.www_authenticate then ch = mcp_err.www_authenticate end
  end
  local advertised = curl.describe_challenge(ch)
  local details = { state = nil, source = cred.source, token_env = cred.token_env, status = status,
                    challenge = ch, www_authenticate = www }
  local refused = status == 401 or status == 403
  if not refused then
    if cred.source == "env_unset" then
      details.state = "env_unset"
      r:set("AUTH", "WARN", "env var `" .. cred.token_env .. "` is not set or is empty, and the server answered without credentials",
        "if the server needs no token, drop --bearer-token-env; else export one into " .. cred.token_env, details)
    elseif cred.source == "none" then
      details.state = "not_required"
      r:set("AUTH", "OK", "the server did not ask for credentials", nil, details)
    else
      details.state = "accepted"
      local from = cred.source == "env" and ("env var `" .. cred.token_env .. "`")
        or cred.source == "header" and "the Authorization header" or "the token cache"
      r:set("AUTH", "OK", "the token from " .. from .. " was accepted", nil, details)
    end
    return false
  end
  local finding, hint
  local head = "HTTP " .. status .. ", server advertises " .. advertised .. "; "
  local scope = ch and ch.params.scope
  if status == 403 and cred.source ~= "none" and cred.source ~= "env_unset" then
    details.state = "insufficient_scope"
    finding = head .. "the token lacks permission" .. (scope and (" (the server asks for scope \"" .. scope .. "\")") or "")
    hint = "check scope or audience" .. (scope and (": log in again with --scope \"" .. scope .. "\"") or "")
  elseif cred.source == "none" then
    details.state = "no_credentials"
    finding = head .. "no credentials were supplied"
    hint = "pass --bearer-token-env <VAR> or run mcptest login " .. url
  elseif cred.source == "env_unset" then
    details.state = "env_unset"
    finding = head .. "env var `" .. cred.token_env .. "` (named by --bearer-token-env) is not set or is empty in this process"
    hint = "export a valid token into " .. cred.token_env
  elseif cred.source == "cache" and cred.expired then
    details.state = "cache_expired"
    finding = head .. "the cached login token for " .. url .. " has expired"
      .. (cred.refreshable and " and could not be refreshed" or " and holds no refresh token")
    hint = "run mcptest login " .. url
  elseif cred.source == "env" then
    details.state = "rejected"
    finding = head .. "the token from env var `" .. cred.token_env .. "` was rejected"
    hint = "mint a fresh one or re-login"
  else
    details.state = "rejected"
    finding = head .. "the token from " .. (cred.source == "header" and "the Authorization header" or "the token cache")
      .. " was rejected"
    hint = cred.source == "header" and "check the token the header holds" or ("run mcptest login " .. url)
  end
  r:set("AUTH", "FAIL", finding, hint, details)
  return true
end

local function discovery_layer(r, target, www)
  local discovery = require("mcptest.auth.discovery")
  local ok, d, err = pcall(discovery.discover, target.url, { tls = target.tls, timeout = target.timeout, challenge = www or "" })
  if not ok then d, err = nil, d end
  local walk = (d and d.walk) or (type(err) == "table" and err.walk) or {}
  local tried = {}
  for _, w in ipairs(walk) do
    tried[#tried + 1] = { step = w.step, url = w.url, status = w.status, note = w.note }
  end
  local details = { walk = tried }
  if not d then
    local msg = errors.is(err) and err.message or tostring(err)
    r:set("DISCOVERY", "FAIL", secrets.scrub(msg), "the server's OAuth metadata is broken or missing: "
      .. "use a token minted elsewhere (--bearer-token-env VAR), or fix the metadata (mcptest discover "
      .. url_mod.shown(target.url) .. " shows each URL tried)", details)
    return
  end
  local as = d.as
  local cmds = discovery.login_commands(url_mod.shown(target.url), as)
  details.resource, details.issuer, details.prm_url, details.as_url = d.resource, d.issuer, d.prm_url, d.as_url
  details.grants = as.grant_types_supported
  details.pkce = as.code_challenge_methods_supported
  details.registration = as.registration_endpoint ~= nil
  details.cimd = as.client_id_metadata_document_supported == true
  details.device = as.device_authorization_endpoint ~= nil
  details.login_commands = cmds
  local pkce = type(as.code_challenge_methods_supported) == "table" and table.concat(as.code_challenge_methods_supported, ",") or nil
  local finding = (d.prm_url and ("resource metadata at " .. url_mod.shown(d.prm_url) .. " (resource "
      .. url_mod.shown(d.resource) .. ", matches)") or "no resource metadata (2025-03-26 fallbacks)")
    .. "; authorization server " .. d.issuer
    .. "; grants " .. (type(as.grant_types_supported) == "table" and table.concat(as.grant_types_supported, ",") or "(not listed)")
    .. "; PKCE " .. (pkce or "(not listed)")
    .. "; registration " .. ((details.registration and "dynamic") or (details.cimd and "CIMD") or "none")
    .. "; device flow " .. (details.device and "possible" or "not offered")
  local status, hint = "OK", cmds[1] and ("log in with: " .. cmds[1]) or nil
  if pkce and not pkce:find("S256", 1, true) then
    status, hint = "WARN", "the authorization server does not list PKCE S256, which MCP requires"
  elseif not cmds[1] then
    status, hint = "WARN", "no login flow mcptest can run is advertised: use a token minted elsewhere"
  end
  r:set("DISCOVERY", status, finding, hint, details)
end

local function run_http(r, target)
  local p = config_layer(r, target)
  if not p then r:skip_rest("CONFIG failed") return end
  local cred = credential(target, target.url)
  local res = probe_request(target, target.url, cred.lines)
  if not network_layers(r, target, p, res) then r:skip_rest("an earlier layer failed") return end
  if not http_layer(r, target, res) then r:skip_rest("not an MCP endpoint (HTTP)") return end
  -- the probe's initialize may have opened a session: end it
  local sid = res.headers and res.headers["mcp-session-id"]
  if sid and res.status < 300 then
    local lines = { "Mcp-Session-Id: " .. sid }
    for _, l in ipairs(cred.lines) do lines[#lines + 1] = l end
    pcall(curl.request, { method = "DELETE", url = target.url, headers = lines, timeout = 2, tls = target.tls })
  end
  local _, mcp_err = mcp_layer(r, target, res)
  local refused = auth_layer(r, target, cred, res, mcp_err)
  if refused then
    discovery_layer(r, target, (challenge_of(res)))
  else
    r:set("DISCOVERY", "SKIP", "the server did not ask for authorization")
  end
end

local function run_stdio(r, target)
  local argv = target.command
  if type(argv) == "string" then
    local ok, words = pcall(require("mcptest.transport.stdio").split_command, argv)
    argv = ok and words or nil
  end
  if type(argv) ~= "table" or not argv[1] then
    r:set("CONFIG", "FAIL", "no command to start", "give the server's command: --stdio \"node server.js\"")
    r:skip_rest("CONFIG failed")
    return
  end
  local exe = argv[1]
  local found = exe:find("/", 1, true) and exe or nil
  if not found then
    for dir in (os.getenv("PATH") or ""):gmatch("[^:]+") do
      local f = io.open(dir .. "/" .. exe, "r")
      if f then f:close(); found = dir .. "/" .. exe; break end
    end
  end
  if not found or not io.open(found, "r") then
    r:set("CONFIG", "FAIL", "the command " .. exe .. " is not found" .. (exe:find("/", 1, true) and "" or " on PATH"),
      "check the command, or give its full path")
    r:skip_rest("CONFIG failed")
    return
  end
  r:set("CONFIG", "OK", "stdio: " .. table.concat(argv, " ") .. " (" .. found .. ")")
  for _, name in ipairs({ "DNS", "TCP", "TLS", "HTTP" }) do r:set(name, "SKIP", "stdio") end
  target.command = argv
  mcp_layer(r, target, nil)
  r:set("AUTH", "SKIP", "stdio servers take no HTTP authorization")
  r:set("DISCOVERY", "SKIP", "stdio")
end

function M.run(target)
  target = setmetatable({}, { __index = target })
  target.timeout = tonumber(target.timeout) or 10
  local r = new_report({ url = target.url and url_mod.shown(target.url) or nil,
    command = type(target.command) == "table" and table.concat(target.command, " ") or target.command })
  if target.url then
    local lines, dropped = curl.header_lines(target.headers)
    target.header_lines, target.dropped = lines, dropped
    run_http(r, target)
  else
    run_stdio(r, target)
  end
  return r:finish()
end

return M
