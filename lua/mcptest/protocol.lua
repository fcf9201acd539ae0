-- mcptest.protocol: MCP's fixed vocabulary, written once for the client,
-- the server engine and the fixture: protocol versions and the era each
-- belongs to, JSON-RPC and MCP error codes, log levels, and mcptest's own
-- name and version (CMake's project version, through mcptest.core.sys).
local sys = require("mcptest.core.sys")
local crypto = require("mcptest.core.crypto")

local M = {}

M.VERSION = sys.version -- mcptest's version

M.MODERN = "2026-07-28"
-- Revisions without a handshake (version and capabilities in every
-- request's _meta), newest first.
M.MODERN_VERSIONS = { M.MODERN }
-- Revisions with the initialize handshake, newest first.
M.LEGACY_VERSIONS = { "2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05" }
M.LATEST_LEGACY = M.LEGACY_VERSIONS[1]

-- version -> "modern" | "legacy"
M.ERA = { [M.MODERN] = "modern" }
for _, v in ipairs(M.LEGACY_VERSIONS) do M.ERA[v] = "legacy" end

function M.is_legacy(v) return M.ERA[v] == "legacy" end

-- The request _meta keys of the modern era, and the result one.
M.META_VERSION = "io.modelcontextprotocol/protocolVersion"
M.META_CAPABILITIES = "io.modelcontextprotocol/clientCapabilities"
M.META_CLIENT_INFO = "io.modelcontextprotocol/clientInfo"
M.META_LOG_LEVEL = "io.modelcontextprotocol/logLevel"
M.META_SERVER_INFO = "io.modelcontextprotocol/serverInfo"
M.META_SUBSCRIPTION_ID = "io.modelcontextprotocol/subscriptionId"
-- The tasks extension (SEP-2663): its id in capabilities.extensions.
M.TASKS_EXTENSION = "io.modelcontextprotocol/tasks"

-- The capability a client must declare to be sent each kind of input
-- request (a server request in the legacy era, an inputRequest in the modern).
M.INPUT_CAPABILITY = { ["sampling/createMessage"] = "sampling", ["elicitation/create"] = "elicitation",
                       ["roots/list"] = "roots" }

-- JSON-RPC 2.0 error codes, and the ones MCP defines.
M.PARSE_ERROR = -32700
M.INVALID_REQUEST = -32600
M.METHOD_NOT_FOUND = -32601
M.INVALID_PARAMS = -32602
M.INTERNAL_ERROR = -32603
M.URL_ELICITATION_REQUIRED = -32042
M.RESOURCE_NOT_FOUND = -32002
-- Resource not found: -32002 in the legacy era; 2026-07-28 retired it for
-- -32602 with data.uri (and clients should still accept -32002).
function M.is_resource_not_found(code, data)
  return code == M.RESOURCE_NOT_FOUND or (code == M.INVALID_PARAMS and type(data) == "table" and data.uri ~= nil)
end
-- the modern era's (2026-07-28)
M.HEADER_MISMATCH = -32020
M.MISSING_CLIENT_CAPABILITY = -32021
M.UNSUPPORTED_PROTOCOL_VERSION = -32022

-- Header values of the modern era (Mcp-Name, Mcp-Param-*): plain visible
-- ASCII as it is, anything else (non-ASCII, controls, a leading or
-- trailing space, what looks like the sentinel) as =?base64?...?=.
local function encode_header(v)
  if v:find("^[\33-\126][\32-\126]*$") and not v:find(" $") and not v:find("^=%?") then return v end
  return "=?base64?" .. crypto.base64_encode(v) .. "?="
end
-- every modern-era request names its tool, prompt or resource in a header:
-- the encodings of the last few hundred names are kept (the three pattern
-- matches took 3,600 instructions per request); a run reading a new URI
-- per request starts the table again past 512
local encoded, n_encoded = {}, 0
function M.encode_header(v)
  if math.type(v) == "integer" then return tostring(v) end
  if type(v) == "boolean" then return tostring(v) end
  v = tostring(v)
  local e = encoded[v]
  if e then return e end
  e = encode_header(v)
  if n_encoded >= 512 then encoded, n_encoded = {}, 0 end
  encoded[v], n_encoded = e, n_encoded + 1
  return e
end

function M.decode_header(v)
  if v == nil then return nil end
  local b = v:match("^=%?base64%?(.*)%?=$")
  if b then
    -- strict (SEP-2243's test cases): padded to a multiple of 4, alphabet only
    if #b % 4 ~= 0 or not b:match("^[A-Za-z0-9+/]*=?=?$") then return nil end
    local ok, raw = pcall(crypto.base64_decode, b)
    return ok and raw or nil
  end
  return v
end

-- The x-mcp-header annotations of a tool's inputSchema (SEP-2243;
-- reference mcp-2026-07-28.md section 3.1): a list of {name =, path =
-- {property keys from the root}, type =}, or nil and the rule broken.
-- Valid: an RFC 9110 token, unique within the tool ignoring case, on a
-- string, integer or boolean property reached from the root through
-- `properties` keys only (not items, composition, if, $ref).
local TOKEN = "^[%w!#%$%%&'%*%+%-%.%^_`|~]+$"
function M.header_params(schema)
  if type(schema) ~= "table" then return {} end
  local out, seen, why = {}, {}, nil
  local function walk(node, path)
    local props = node.properties
    if type(props) ~= "table" then return end
    local keys = {}
    for k in pairs(props) do keys[#keys + 1] = k end
    table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
    for _, key in ipairs(keys) do
      local sub = props[key]
      if type(sub) == "table" and not why then
        local p = table.move(path, 1, #path, 1, {})
        p[#p + 1] = key
        local h = sub["x-mcp-header"]
        if h ~= nil then
          local where = "property " .. table.concat(p, ".")
          if type(h) ~= "string" or not h:find(TOKEN) then
            why = where .. ": x-mcp-header must be a non-empty token (RFC 9110), got " .. string.format("%q", tostring(h))
          elseif sub.type ~= "string" and sub.type ~= "integer" and sub.type ~= "boolean" then
            why = where .. ": x-mcp-header " .. h .. " is on a property of type " .. tostring(sub.type)
              .. " (only string, integer and boolean may be mirrored)"
          elseif seen[h:lower()] then
            why = where .. ": x-mcp-header " .. h .. " is used twice (names are compared ignoring case)"
          else
            seen[h:lower()] = true
            out[#out + 1] = { name = h, path = p, type = sub.type }
          end
        end
        walk(sub, p)
      end
    end
  end
  walk(schema, {})
  if why then return nil, why end
  -- an annotation anywhere else (items, anyOf, $defs, ...) breaks the rule
  local total = 0
  local function count(node, depth)
    if depth > 64 then return end
    for k, v in pairs(node) do
      if k == "x-mcp-header" then total = total + 1 end
      if type(v) == "table" then count(v, depth + 1) end
    end
  end
  count(schema, 0)
  if total > #out then
    return nil, "x-mcp-header is allowed only on properties reached through \"properties\" from the root"
      .. " (not items, composition, if or $ref)"
  end
  return out
end

-- The value of a mirrored argument as its Mcp-Param header carries it, or
-- nil for no header (absent, null, or a type that is not mirrored).
function M.param_header_value(v)
  if v == nil or type(v) == "userdata" then return nil end
  if math.type(v) == "integer" then return tostring(v) end
  if type(v) == "number" and v == math.floor(v) and math.abs(v) < 2^53 then return string.format("%d", v) end
  if type(v) == "boolean" then return tostring(v) end
  if type(v) == "string" then return M.encode_header(v) end
  return nil
end

-- RFC 5424 severities as MCP's logging/setLevel names them, least severe first.
M.LOG_LEVELS = { "debug", "info", "notice", "warning", "error", "critical", "alert", "emergency" }
M.LOG_LEVEL_RANK = {}
for i, name in ipairs(M.LOG_LEVELS) do M.LOG_LEVEL_RANK[name] = i end

-- clientInfo mcptest sends, serverInfo its servers send (with their own names).
M.CLIENT_INFO = { name = "mcptest", version = M.VERSION }
function M.server_info(name, title)
  return { name = name, title = title, version = M.VERSION }
end

return M
