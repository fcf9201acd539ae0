-- mcptest.server.lifecycle: how a session starts and which protocol
-- versions the engine speaks (the server's side of mcptest.lifecycle).
-- Today one era: the initialize handshake of 2025-11-25 and older
-- (protocol.LEGACY_VERSIONS). The 2026-07-28 era (server/discover, a
-- version claimed in every request's _meta, no sessions) slots in here.
--   lifecycle.SUPPORTED[version] -> true       lifecycle.SUPPORTED_VERSIONS
--   lifecycle.negotiate(requested) -> the version to answer with
--   lifecycle.check_header(value) -> true | nil, message  (MCP-Protocol-Version)
--   lifecycle.capabilities(server) -> ServerCapabilities of its catalog
--   lifecycle.methods: initialize
local json = require("mcptest.json")
local protocol = require("mcptest.protocol")

local M = {}

M.SUPPORTED_VERSIONS = protocol.LEGACY_VERSIONS
M.LATEST = protocol.LATEST_LEGACY
M.SUPPORTED = {}
for _, v in ipairs(M.SUPPORTED_VERSIONS) do M.SUPPORTED[v] = true end

-- The client's version when we speak it, else our latest.
function M.negotiate(requested)
  if type(requested) == "string" and M.SUPPORTED[requested] then return requested end
  return M.LATEST
end

-- A later request's MCP-Protocol-Version header: absent is fine.
function M.check_header(v)
  if v == nil or M.SUPPORTED[v] then return true end
  return nil, "unsupported MCP-Protocol-Version " .. v .. " (supported: " .. table.concat(M.SUPPORTED_VERSIONS, ", ") .. ")"
end

-- What the catalog serves decides what is announced (catalog.capabilities
-- replaces it whole).
function M.capabilities(server)
  local cat = server.catalog
  if cat.capabilities then return cat.capabilities end
  local caps = { logging = json.object() }
  if cat.tools then caps.tools = { listChanged = false } end
  if cat.resources or cat.templates or cat.read_resource then
    caps.resources = { subscribe = true, listChanged = false }
  end
  if cat.prompts then caps.prompts = { listChanged = false } end
  if cat.complete then caps.completions = json.object() end
  return caps
end

M.methods = {}

M.methods["initialize"] = function(ctx, p)
  local s = ctx.session
  s.protocol_version = M.negotiate(p.protocolVersion)
  s.client_capabilities = type(p.capabilities) == "table" and p.capabilities or {}
  s.client_info = p.clientInfo
  local srv = ctx.server
  return {
    protocolVersion = s.protocol_version,
    capabilities = M.capabilities(srv),
    serverInfo = srv.server_info,
    instructions = srv.catalog.instructions,
  }
end

return M
