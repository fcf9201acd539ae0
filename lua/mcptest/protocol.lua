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
-- the modern era's (2026-07-28)
M.HEADER_MISMATCH = -32020
M.MISSING_CLIENT_CAPABILITY = -32021
M.UNSUPPORTED_PROTOCOL_VERSION = -32022

-- Header values of the modern era (Mcp-Name, Mcp-Param-*): plain visible
-- ASCII as it is, anything else (non-ASCII, controls, a leading or
-- trailing space, what looks like the sentinel) as =?base64?...?=.
function M.encode_header(v)
  if math.type(v) == "integer" then return tostring(v) end
  if type(v) == "boolean" then return tostring(v) end
  v = tostring(v)
  if v:find("^[\33-\126][\32-\126]*$") and not v:find(" $") and not v:find("^=%?") then return v end
  return "=?base64?" .. crypto.base64_encode(v) .. "?="
end

function M.decode_header(v)
  if v == nil then return nil end
  local b = v:match("^=%?base64%?(.*)%?=$")
  if b then
    local ok, raw = pcall(crypto.base64_decode, b)
    return ok and raw or nil
  end
  return v
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
