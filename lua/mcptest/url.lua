-- mcptest.url: URLs, forms and percent-encoding, written once for the
-- client (transports, OAuth) and the server side (fixture, its
-- authorization server):
--   url.parse(u) -> {scheme, host, port, path, query} | nil
--   url.canonical_resource(u)   resource URI form for comparisons
--   url.is_loopback_host(host)
--   url.shown(u)                a URL fit for messages (no userinfo, no query)
--   url.form_decode(s) / url.encode(s) / url.encode_pairs(t) / url.parse_form(text)
--   url.media_type(content_type)
local M = {}

local function hexval(h) return tonumber(h, 16) end

-- Percent-decode one form component ('+' is a space). Returns nil on a
-- malformed escape, so callers can answer invalid_request.
function M.form_decode(s)
  s = s:gsub("+", " ")
  if s:find("%%") then
    if s:find("%%[^%x]") or s:find("%%%x[^%x]") or s:find("%%%x?$") then return nil end
    s = s:gsub("%%(%x%x)", function(h) return string.char(hexval(h)) end)
  end
  return s
end

-- Encode for a query string or form body: only unreserved characters stay.
function M.encode(s)
  return (tostring(s):gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end

-- Encode a list of {name, value} pairs (or a map, in sorted order).
function M.encode_pairs(t)
  local out = {}
  if t[1] then
    for _, p in ipairs(t) do
      if p[2] ~= nil then out[#out + 1] = M.encode(p[1]) .. "=" .. M.encode(p[2]) end
    end
  else
    local keys = {}
    for k in pairs(t) do keys[#keys + 1] = k end
    table.sort(keys)
    for _, k in ipairs(keys) do out[#out + 1] = M.encode(k) .. "=" .. M.encode(t[k]) end
  end
  return table.concat(out, "&")
end

-- Parse application/x-www-form-urlencoded text (also a query string).
-- Returns params (name -> first value), then, when the text is not
-- acceptable, a message and the name of the first duplicated parameter
-- (nil for a malformed text). Parameters sent without a value are treated
-- as omitted (RFC 6749 3.1). counts[name] tells how often a name came.
function M.parse_form(text)
  local params, counts = {}, {}
  local err, dup
  if text == nil or text == "" then return params, nil, nil, counts end
  for piece in text:gmatch("[^&]+") do
    local k, v = piece:match("^([^=]*)=(.*)$")
    if not k then k, v = piece, "" end
    k, v = M.form_decode(k), M.form_decode(v)
    if k == nil or v == nil then
      err = err or "malformed percent-encoding"
    elseif k == "" then
      err = err or "parameter without a name"
    else
      counts[k] = (counts[k] or 0) + 1
      if counts[k] > 1 then
        if not err then err, dup = "duplicate parameter: " .. k, k end
      elseif v ~= "" then
        params[k] = v
      end
    end
  end
  return params, err, dup, counts
end

-- Split an absolute URL: scheme, host (lower-case, [v6] kept), port, path,
-- query. Returns nil when it is not absolute or holds a fragment.
function M.parse(u)
  if type(u) ~= "string" or u:find("#", 1, true) or u:find("[%s%c]") then return nil end
  local scheme, rest = u:match("^([%a][%w+%-.]*):(.*)$")
  if not scheme then return nil end
  local r = { scheme = scheme:lower() }
  local auth, tail = rest:match("^//([^/?]*)(.*)$")
  if not auth then
    r.opaque = rest
    return r
  end
  if auth:find("@", 1, true) then return nil end -- no userinfo in our URLs
  local host, port
  if auth:sub(1, 1) == "[" then
    host, port = auth:match("^(%[[%x:.]+%])(.*)$")
  else
    host, port = auth:match("^([^:]*)(.*)$")
  end
  if not host or host == "" then return nil end
  if port ~= "" then
    port = port:match("^:(%d+)$")
    if not port then return nil end
  else
    port = nil
  end
  r.host, r.port = host:lower(), port
  r.path, r.query = tail:match("^([^?]*)%??(.*)$")
  if not tail:find("?", 1, true) then r.query = nil end
  return r
end

local LOOPBACK = { ["127.0.0.1"] = true, ["[::1]"] = true, ["localhost"] = true }
function M.is_loopback_host(h) return LOOPBACK[h] == true end

-- Canonical form of a resource URI for comparisons: scheme and host in
-- lower case, default ports dropped, one trailing "/" dropped.
function M.canonical_resource(u)
  local p = M.parse(u)
  if not p or not p.host or (p.scheme ~= "http" and p.scheme ~= "https") then return nil end
  local port = p.port
  if (p.scheme == "http" and port == "80") or (p.scheme == "https" and port == "443") then port = nil end
  local path = p.path or ""
  if path:sub(-1) == "/" then path = path:sub(1, -2) end
  return p.scheme .. "://" .. p.host .. (port and (":" .. port) or "") .. path
    .. (p.query and ("?" .. p.query) or "")
end

-- Media type of a Content-Type header value, lower-cased, no parameters.
function M.media_type(v)
  if type(v) ~= "string" then return nil end
  return (v:match("^%s*([^;%s]+)") or ""):lower()
end

-- A URL as messages, logs and reports may show it: credentials in its
-- userinfo and its query (?api_key=..., a legacy ?sessionId=...) hidden.
function M.shown(u)
  u = tostring(u)
  return (u:gsub("^(%a[%w+.-]*://)[^/?#]*@", "%1***@"):gsub("%?[^#]*", "?..."))
end

return M
