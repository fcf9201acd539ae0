-- mcptest.lifecycle: how a session starts, kept apart from the request
-- plumbing so each protocol era is one function here.
-- legacy era (2025-11-25 and older): initialize, then notifications/initialized.
local json = require("mcptest.json")
local errors = require("mcptest.errors")
local protocol = require("mcptest.protocol")

local M = {}

M.LATEST_LEGACY = protocol.LATEST_LEGACY
M.legacy_versions = protocol.LEGACY_VERSIONS
local known = {}
for _, v in ipairs(M.legacy_versions) do known[v] = true end

-- Handlers given in `on` declare the capability the server checks for.
local handler_capability = {
  ["sampling/createMessage"] = { "sampling", {} },
  ["elicitation/create"] = { "elicitation", {} },
  -- listChanged stays off: mcptest sends notifications/roots/list_changed
  -- only when a script does (c:notify), so declare it in capabilities then
  ["roots/list"] = { "roots", {} },
}

local function merge(into, from)
  for k, v in pairs(from) do
    if type(v) == "table" and type(into[k]) == "table" and not json.is_array(v) then
      merge(into[k], v)
    else
      into[k] = v
    end
  end
  return into
end

function M.client_capabilities(opts)
  local caps = json.object()
  for method in pairs(opts.on or {}) do
    local cap = handler_capability[method]
    if cap then caps[cap[1]] = merge(json.object(), cap[2]) end
  end
  if opts.capabilities then merge(caps, opts.capabilities) end
  for k, v in pairs(caps) do
    if type(v) == "table" and next(v) == nil then caps[k] = json.object() end
  end
  return caps
end

M.client_info = protocol.CLIENT_INFO

-- Start a legacy-era session on a connected client.
function M.initialize(c, opts)
  local version = opts.protocol
  if version == nil or version == "auto" then version = M.LATEST_LEGACY end
  if version == "2026-07-28" then
    errors.raise("usage", "protocol 2026-07-28 (modern era) is not supported by this build yet;"
      .. " use protocol = \"auto\" or a 2025 version")
  end
  if not known[version] then
    errors.raise("usage", "unknown protocol version " .. string.format("%q", tostring(version))
      .. "; known: auto, " .. table.concat(M.legacy_versions, ", "))
  end
  local result = c:request("initialize", {
    protocolVersion = version,
    capabilities = M.client_capabilities(opts),
    clientInfo = M.client_info,
  })
  if type(result) ~= "table" or type(result.protocolVersion) ~= "string" then
    errors.raise("protocol", "initialize result has no protocolVersion", { method = "initialize" })
  end
  if not known[result.protocolVersion] then
    errors.raise("protocol", "server chose protocol version " .. result.protocolVersion
      .. ", which mcptest does not speak (it offered " .. version .. ")", { method = "initialize" })
  end
  c.initialize_result = result
  c.protocol_version = result.protocolVersion
  c.server_info = result.serverInfo
  c.capabilities = result.capabilities or json.object()
  c.instructions = result.instructions
  c.era = "legacy"
  -- hook: a transport that must know (HTTP: MCP-Protocol-Version, GET stream)
  if c.transport.on_initialized then c.transport:on_initialized(result.protocolVersion) end
  c:notify("notifications/initialized")
  return result
end

return M
