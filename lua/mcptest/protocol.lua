-- mcptest.protocol: MCP's fixed vocabulary, written once for the client,
-- the server engine and the fixture: protocol versions and the era each
-- belongs to, JSON-RPC and MCP error codes, log levels, and mcptest's own
-- name and version (CMake's project version, through mcptest.core.sys).
local sys = require("mcptest.core.sys")

local M = {}

M.VERSION = sys.version -- mcptest's version

M.MODERN = "2026-07-28"
-- Revisions with the initialize handshake, newest first.
M.LEGACY_VERSIONS = { "2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05" }
M.LATEST_LEGACY = M.LEGACY_VERSIONS[1]

-- version -> "modern" | "legacy"
M.ERA = { [M.MODERN] = "modern" }
for _, v in ipairs(M.LEGACY_VERSIONS) do M.ERA[v] = "legacy" end

function M.is_legacy(v) return M.ERA[v] == "legacy" end

-- JSON-RPC 2.0 error codes, and the ones MCP defines.
M.PARSE_ERROR = -32700
M.INVALID_REQUEST = -32600
M.METHOD_NOT_FOUND = -32601
M.INVALID_PARAMS = -32602
M.INTERNAL_ERROR = -32603
M.URL_ELICITATION_REQUIRED = -32042
M.RESOURCE_NOT_FOUND = -32002

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
