-- mcptest.transport.curl: HTTP for the rest of mcptest, on mcptest.core.http
-- (libcurl's multi interface) driven by the one event loop.
--   http.start(opts, on) -> req      non-blocking; on(req, chunk, done, err, opts.ctx)
--   http.after(seconds, fn) -> timer  loop.after (timer:cancel())
--   http.request{ method=, url=, headers=, body=, timeout=, tls=, verbose= }
--       (verbose, or http.verbose = true: each exchange on stderr, header
--       values redacted, every registered secret scrubbed)
--       -> { status=, headers= (lower-case names), body= } | nil, err
--   http.expand(value) -> value with ${VAR} from the environment, names
--   http.header_lines(headers) -> {"Name: value", ...}, dropped
--   http.redact_header(name, value) -> value fit for logs (only mcptest's own
--                                       protocol headers are shown)
--   http.shown_url(url) -> url fit for messages and logs (no userinfo, no query)
-- request() is mcp.http.request (DESIGN.md): it looks blocking, but the
-- loop keeps serving every other connection meanwhile.
local core = require("mcptest.core.http")
local loop = require("mcptest.loop")
local errors = require("mcptest.errors")
local sys = require("mcptest.core.sys")

local M = { core = core }

local now = sys.now

-- ===== the loop source: curl's descriptors and its own timeouts =====

local source = {}

function source.fds() return core.fds() end
function source.on_ready(_, fd, what) return core.action(fd, what) end
function source.timeout() return core.timeout() end

local registered = false

function source.on_timeout()
  core.on_timeout()
  -- idle (no transfer): leave the loop, so other sources poll fewer
  -- descriptors; start() registers again
  if core.active() == 0 then
    registered = false
    loop.unregister(source)
  end
end

local function ensure_registered()
  if not registered then
    registered = true
    loop.register(source)
  end
end

-- A loop timer (kept here for the transports that call http.after).
M.after = loop.after

-- Start a request (see runtime/http.c for the options); on(req, chunk,
-- done, err, ctx) is called as data arrives, ctx being opts.ctx (so one
-- function can serve many requests). Returns the request or nil, err.
function M.start(opts, on)
  if not registered then ensure_registered() end
  opts.on = on
  return core.request(opts)
end

-- ===== headers =====

-- "${VAR}" -> the variable's value ("" when unset); also returns whether a
-- referenced variable was unset or empty.
function M.expand(value)
  local missing = false
  local out = tostring(value):gsub("%${([%w_]+)}", function(name)
    local v = os.getenv(name)
    if v == nil or v == "" then missing = true; return "" end
    return v
  end)
  return out, missing
end

-- Headers given as { Name = value } or { "Name: value", ... } become curl
-- lines, ${VAR} expanded. A value whose variables are unset and that is
-- left empty, or "Bearer " with nothing after it, is dropped (seed 002).
-- Returns lines, dropped_names.
function M.header_lines(headers)
  local lines, dropped = {}, {}
  if headers == nil then return lines, dropped end
  local pairs_list = {}
  for k, v in pairs(headers) do
    if type(k) == "number" then
      local name, value = tostring(v):match("^%s*([^:]+):%s*(.-)%s*$")
      if not name then
        -- never echo the whole line: it may be "Authorization Bearer <token>"
        errors.raise("usage", "header " .. M.header_label(v) .. " is not 'Name: value' (no colon)")
      end
      pairs_list[#pairs_list + 1] = { name, value }
    else
      pairs_list[#pairs_list + 1] = { tostring(k), tostring(v) }
    end
  end
  table.sort(pairs_list, function(a, b) return a[1]:lower() < b[1]:lower() end)
  for _, p in ipairs(pairs_list) do
    local name, value = p[1], p[2]
    if name:find("[%c:%s]") then
      errors.raise("usage", "invalid header name " .. M.header_label(name)
        .. ": a name holds no spaces or control characters")
    end
    local v, missing = M.expand(value)
    v = v:gsub("^%s+", ""):gsub("%s+$", "")
    if v:find("[\r\n]") then
      errors.raise("usage", "header " .. name .. " holds a line break")
    end
    if missing and (v == "" or v:match("^[Bb]earer$")) then
      dropped[#dropped + 1] = name
    else
      lines[#lines + 1] = name .. ": " .. v
    end
  end
  return lines, dropped
end

-- What a usage error may show of a malformed header line: the text before
-- its first space or colon (the rest may be a credential), quoted; a line
-- that is one word (a bare token?) shows only its length.
function M.header_label(line)
  line = tostring(line)
  if not line:find("^%s*[^%s:]*[%s:]") then
    return "of " .. #line .. " characters (not shown: it may be a credential)"
  end
  local head = line:match("^%s*([^%s:]*)") or ""
  if #head > 64 then head = head:sub(1, 64) .. "..." end
  return string.format("%q", head) .. " ..."
end

-- The protocol headers mcptest itself sets, which hold nothing secret. Every
-- other header (any the user gave, values from ${VAR} or bearer_token_env)
-- and the session id are redacted in logs.
local VISIBLE_HEADERS = { accept = true, ["content-type"] = true, ["mcp-protocol-version"] = true,
                          ["last-event-id"] = true, ["mcp-method"] = true }
local AUTH_SCHEMES = { bearer = true, basic = true, digest = true, dpop = true }

-- A header value as logs may show it.
function M.redact_header(name, value)
  local n = tostring(name):lower()
  if VISIBLE_HEADERS[n] then return value end
  if n == "authorization" or n == "proxy-authorization" then
    local scheme = tostring(value):match("^(%a+)%s+%S")
    if scheme and AUTH_SCHEMES[scheme:lower()] then return scheme .. " <redacted>" end
  end
  return "<redacted>"
end

M.shown_url = require("mcptest.url").shown

-- Parse WWW-Authenticate: { scheme = "Bearer", params = { realm = "mcp", ... } }
-- (the first challenge; parameter names lower-cased).
function M.parse_www_authenticate(value)
  if type(value) ~= "string" or value == "" then return nil end
  local scheme, rest = value:match("^%s*([%w!#$%%&'*+%-.^_`|~]+)%s*(.*)$")
  if not scheme then return nil end
  local params, pos = {}, 1
  while pos <= #rest do
    local name, after = rest:match("^[%s,]*([%w_%-]+)%s*=%s*()", pos)
    if not name then break end
    local v
    if rest:sub(after, after) == '"' then
      local i, buf = after + 1, {}
      while i <= #rest do
        local ch = rest:sub(i, i)
        if ch == "\\" then buf[#buf + 1] = rest:sub(i + 1, i + 1); i = i + 2
        elseif ch == '"' then i = i + 1; break
        else buf[#buf + 1] = ch; i = i + 1 end
      end
      v, pos = table.concat(buf), i
    else
      local tok, nxt = rest:match("^([^,%s]*)()", after)
      v, pos = tok, nxt
    end
    params[name:lower()] = v
    -- a second challenge ("..., Basic realm=x") ends the first one
    local next_scheme = rest:match("^%s*,%s*([%w_%-]+)%s+[%w_%-]+%s*=", pos)
    if next_scheme then break end
  end
  return { scheme = scheme, params = params, raw = value }
end

-- A one-line description of a challenge: Bearer (realm="mcp", scope="x")
function M.describe_challenge(ch)
  if not ch then return "no WWW-Authenticate challenge" end
  local keys = {}
  for k in pairs(ch.params) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b)
    if a == "realm" then return b ~= "realm" end
    if b == "realm" then return false end
    return a < b
  end)
  local parts = {}
  -- values are the server's: cut, so a 60 KB realm makes no 60 KB message
  for _, k in ipairs(keys) do parts[#parts + 1] = k .. "=" .. errors.snippet(ch.params[k]) end
  if ch.params.realm == nil then table.insert(parts, 1, "no realm") end
  return ch.scheme .. " (" .. table.concat(parts, ", ") .. ")"
end

-- ===== TLS =====

-- tls = { ca_file =, cert_file =, key_file =, insecure = } -> fields set
-- on curl options; warns once
-- per URL when verification is off.
local warned = {}
function M.apply_tls(opts, tls, url)
  if tls == nil then return opts end
  if type(tls) ~= "table" then errors.raise("usage", "tls must be a table { ca_file =, cert_file =, key_file =, insecure = }") end
  for k in pairs(tls) do
    if not (k == "ca_file" or k == "cert_file" or k == "key_file" or k == "insecure") then
      errors.raise("usage", "tls: unknown key " .. tostring(k) .. "; known: ca_file, cert_file, key_file, insecure")
    end
  end
  if tls.ca_file ~= nil then
    local f = io.open(tls.ca_file, "r")
    if not f then errors.raise("usage", "tls.ca_file " .. tostring(tls.ca_file) .. " cannot be read") end
    f:close()
    opts.ca_file = tls.ca_file
  end
  -- a client certificate (mTLS): both files, readable
  if tls.cert_file ~= nil or tls.key_file ~= nil then
    for _, k in ipairs({ "cert_file", "key_file" }) do
      local v = tls[k]
      if type(v) ~= "string" then
        errors.raise("usage", "tls." .. k .. " is required with tls." .. (k == "cert_file" and "key_file" or "cert_file")
          .. " (a client certificate needs its PEM certificate and its private key)")
      end
      local f = io.open(v, "r")
      if not f then errors.raise("usage", "tls." .. k .. " " .. v .. " cannot be read") end
      f:close()
      opts[k] = v
    end
  end
  if tls.insecure then
    opts.insecure = true
    if url and url:match("^https:") and not warned[url] then
      warned[url] = true
      io.stderr:write("mcptest: warning: TLS certificate verification is disabled for ", M.shown_url(url),
                      " (insecure); the server's identity is not checked\n")
    end
  end
  return opts
end

-- Explain a curl failure: the URL, what curl said, and a hint.
local HINTS = {
  [6] = "the host name does not resolve",
  [7] = "nothing accepts connections there; is the server running and is the port right?",
  [28] = "no answer in time",
  [35] = "the TLS handshake failed; is it really an https:// server?",
  [52] = "the server closed the connection without answering",
  [56] = "the connection broke while receiving",
  [27] = "curl ran out of room for the answer: a response header over curl's 100 KB limit"
    .. " (CURL_MAX_HTTP_HEADER) is the usual cause; the server sent a header no client should take",
  [58] = "the client certificate or key could not be used; check tls.cert_file and tls.key_file / --cert and --key",
  [60] = "the server's TLS certificate is not trusted (self-signed or unknown CA); "
    .. "trust its CA with tls = { ca_file = ... } / --cacert FILE, or skip verification with "
    .. "tls = { insecure = true } / --insecure",
  [77] = "the CA file could not be loaded; check tls.ca_file / --cacert",
  [1] = "only http:// and https:// URLs are supported",
  [3] = "the URL is malformed",
}
M.CURL_HINTS = HINTS

-- Failures whose curl code is too broad for one hint, told by curl's text.
local function specific_hint(err)
  local m = tostring(err.message)
  if m:find("HTTP/0.9", 1, true) then
    return "the server's answer does not start with an HTTP status line (HTTP/1.1 200 OK):"
      .. " it is not an HTTP server, or it wrote something else first"
  end
  if err.curl_code == 60 and (m:find("subject name", 1, true) or m:find("does not match", 1, true)) then
    return "the certificate is valid but names another host: connect with a host name the"
      .. " certificate lists, or fix the server's certificate"
  end
  if err.curl_code == 60 and m:find("expired", 1, true) then
    return "the server's certificate has expired"
  end
end
M.specific_hint = specific_hint

function M.describe_failure(err, method, url)
  local hint = specific_hint(err) or HINTS[err.curl_code]
  local msg = method .. " " .. url .. " failed: " .. tostring(err.message)
  if err.curl_code == 60 then msg = method .. " " .. url .. " failed: TLS certificate verification failed ("
    .. tostring(err.message) .. ")" end
  if hint then msg = msg .. "; " .. hint end
  return msg
end

-- ===== mcp.http.request =====

function M.request(o)
  if type(o) ~= "table" then
    errors.raise("usage", "mcp.http.request expects a table { method=, url=, headers=, body=, timeout= }")
  end
  if type(o.url) ~= "string" or not o.url:match("^https?://") then
    errors.raise("usage", "mcp.http.request: url must be an http:// or https:// URL")
  end
  if o.body ~= nil and type(o.body) ~= "string" then
    errors.raise("usage", "mcp.http.request: body must be a string (encode JSON with mcp.json.encode)")
  end
  local method = (o.method or (o.body and "POST" or "GET")):upper()
  local timeout = tonumber(o.timeout) or 30
  local lines = M.header_lines(o.headers)
  local opts = { method = method, url = o.url, headers = lines, body = o.body,
                 timeout = timeout, connect_timeout = timeout }
  M.apply_tls(opts, o.tls, o.url)
  local chunks, done, failure = {}, false, nil
  local task = loop.task() -- a task waits suspended, woken when the transfer ends
  local req, err = M.start(opts, function(_, chunk, fin, e)
    if chunk then chunks[#chunks + 1] = chunk end
    if fin then
      done, failure = true, e
      if task then loop.wake(task) end
    end
  end)
  if not req then return nil, err end
  local shown = M.shown_url(o.url)
  local verbose = o.verbose or M.verbose
  if verbose then
    local hs = {}
    for i, line in ipairs(lines) do
      local name, value = line:match("^([^:]+):%s*(.*)$")
      hs[i] = name .. ": " .. M.redact_header(name, value)
    end
    require("mcptest.secrets").log("mcptest: http: ", method, " ", shown,
      #hs > 0 and ("\n    " .. table.concat(hs, "\n    ")) or "", o.body and ("\n    (" .. #o.body .. " bytes)") or "", "\n")
  end
  local deadline = now() + timeout + 1
  while not done do
    local left = deadline - now()
    if left <= 0 then
      req:abort()
      return nil, errors.new("timeout", method .. " " .. shown .. ": no complete response within "
        .. timeout .. " s", { url = shown })
    end
    if task then loop.suspend(left < 0.5 and left or 0.5) else loop.step(left) end
  end
  if failure then
    failure.url = shown
    failure.message = M.describe_failure(failure, method, shown)
    return nil, failure
  end
  local res = { status = req:status(), headers = req:headers(), body = table.concat(chunks) }
  if verbose then
    require("mcptest.secrets").log("mcptest: http: ", method, " ", shown, " -> HTTP ", res.status, " ",
      tostring(res.headers["content-type"] or ""), " (", #res.body, " bytes)\n")
  end
  return res
end

return M
