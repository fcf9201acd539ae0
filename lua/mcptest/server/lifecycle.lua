-- mcptest.server.lifecycle: how a session starts and which protocol
-- versions the engine speaks (the server's side of mcptest.lifecycle),
-- for both eras (reference mcp-2026-07-28.md section 7):
-- legacy: the initialize handshake of 2025-11-25 and older
-- (protocol.LEGACY_VERSIONS);
-- modern (2026-07-28): no handshake, a version claimed in every request's
-- _meta, server/discover, resultType and serverInfo on every result.
-- A transport decides per request which era serves it (lifecycle.claim)
-- and, for a modern one, runs lifecycle.check_modern before the method.
--   lifecycle.SUPPORTED[version] -> true       lifecycle.SUPPORTED_VERSIONS
--   lifecycle.negotiate(requested) -> the version to answer with
--   lifecycle.check_header(value) -> true | nil, message  (MCP-Protocol-Version)
--   lifecycle.capabilities(server [, era]) -> ServerCapabilities of its catalog
--   lifecycle.methods: initialize
--   lifecycle.ERAS: "both" | "modern" | "legacy" (config.eras: what is served)
--   lifecycle.claim(msg) -> the _meta protocolVersion a request claims | nil
--   lifecycle.supported_versions() -> for -32022's data.supported
--   lifecycle.check_modern(server, msg, headers) -> nil | status, code, message, data
--   lifecycle.modern_handler(server, method) -> handler | nil
--   lifecycle.modern_session(fields, meta) -> a one-request session
--   lifecycle.decorate(server, method, result) -> result with resultType,
--     serverInfo and (list, read, discover) cache hints
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
-- era "modern": resources.subscribe promises resourceSubscriptions in
-- subscriptions/listen (mcptest.server.listen).
function M.capabilities(server, era)
  local cat = server.catalog
  if cat.capabilities then return cat.capabilities end
  local caps = { logging = json.object() }
  if cat.tools then caps.tools = { listChanged = false } end
  if cat.resources or cat.templates or cat.read_resource then
    caps.resources = { subscribe = true, listChanged = false }
  end
  if cat.prompts then caps.prompts = { listChanged = false } end
  if cat.complete then caps.completions = json.object() end
  if cat.skills then -- the skills extension serves its files as resources
    caps.resources = caps.resources or { subscribe = false, listChanged = false }
    caps.extensions = caps.extensions or {}
    caps.extensions["io.modelcontextprotocol/skills"] = json.object()
  end
  if cat.tasks and era == "modern" then -- the tasks extension: 2026-07-28 only
    caps.extensions = caps.extensions or {}
    caps.extensions[protocol.TASKS_EXTENSION] = json.object()
  end
  return caps
end

M.methods = {}

-- ===== the modern era =====

M.ERAS = { both = true, modern = true, legacy = true }
M.MODERN_SUPPORTED = {}
for _, v in ipairs(protocol.MODERN_VERSIONS) do M.MODERN_SUPPORTED[v] = true end

-- Methods a modern request cannot call: the handshake and what 2026-07-28
-- removed (subscriptions/listen replaces resources/(un)subscribe).
M.REMOVED = { initialize = true, ping = true, ["logging/setLevel"] = true,
              ["resources/subscribe"] = true, ["resources/unsubscribe"] = true }
-- Requests whose Mcp-Name header names params.name or params.uri (or
-- params.taskId: SEP-2663's routing header for tasks/*).
local NAMED = { ["tools/call"] = "name", ["prompts/get"] = "name", ["resources/read"] = "uri",
                ["tasks/get"] = "taskId", ["tasks/update"] = "taskId", ["tasks/cancel"] = "taskId" }
M.NAMED = NAMED
-- Results that carry cache hints (ttlMs, cacheScope).
local CACHEABLE = { ["server/discover"] = true, ["tools/list"] = true, ["resources/list"] = true,
                    ["resources/templates/list"] = true, ["prompts/list"] = true, ["resources/read"] = true }

function M.claim(msg)
  local p = msg.params
  local meta = type(p) == "table" and p._meta
  if type(meta) ~= "table" then return nil end
  return meta[protocol.META_VERSION]
end

-- -32022's data.supported: what server/discover lists (the modern
-- versions), so a client's retry stays in the list discover gave; a
-- legacy client learns the legacy versions from initialize as ever.
function M.supported_versions()
  local out = {}
  for _, v in ipairs(protocol.MODERN_VERSIONS) do out[#out + 1] = v end
  return json.array(out)
end

M.discover = function(ctx)
  local srv = ctx.server
  return {
    supportedVersions = json.array({ table.unpack(protocol.MODERN_VERSIONS) }),
    capabilities = M.capabilities(srv, "modern"),
    serverInfo = srv.server_info,
    instructions = srv.catalog.instructions,
  }
end

function M.modern_handler(server, method)
  if method == "server/discover" then return M.discover end
  if M.REMOVED[method] then return nil end
  return server.methods[method]
end

-- The modern ladder (reference section 7.3) up to the method: envelope,
-- version, standard headers (HTTP only: headers given), method. nil when
-- the request may run; else the HTTP status and the JSON-RPC error.
function M.check_modern(server, msg, headers)
  local p = msg.params
  local meta = p._meta
  local v, caps = meta[protocol.META_VERSION], meta[protocol.META_CAPABILITIES]
  if type(v) ~= "string" then
    return 400, protocol.INVALID_PARAMS, "Invalid params: _meta " .. protocol.META_VERSION .. " must be a string"
  end
  if type(caps) ~= "table" or json.is_array(caps) and next(caps) ~= nil then
    return 400, protocol.INVALID_PARAMS, "Invalid params: _meta " .. protocol.META_CAPABILITIES
      .. " is required (an object; {} for none)"
  end
  -- the header before the version: a body claiming an unknown version
  -- under a header naming a known one is a mismatch (-32020), as the
  -- conformance suite's sep-2575-http-server-header-mismatch-400 checks
  local hv = headers and headers["mcp-protocol-version"]
  if headers and hv ~= v then
    return 400, protocol.HEADER_MISMATCH, "Header mismatch: MCP-Protocol-Version is "
      .. (hv and string.format("%q", hv) or "missing") .. " but _meta says " .. string.format("%q", v)
  end
  if not M.MODERN_SUPPORTED[v] then
    return 400, protocol.UNSUPPORTED_PROTOCOL_VERSION, "Unsupported protocol version",
      { supported = M.supported_versions(), requested = v }
  end
  if headers then
    local hm = headers["mcp-method"]
    if hm ~= msg.method then
      return 400, protocol.HEADER_MISMATCH, "Header mismatch: Mcp-Method is "
        .. (hm and string.format("%q", hm) or "missing") .. " but the method is " .. string.format("%q", msg.method)
    end
    local field = NAMED[msg.method]
    if field and p[field] ~= nil then
      local hn = protocol.decode_header(headers["mcp-name"])
      if hn ~= tostring(p[field]) then
        return 400, protocol.HEADER_MISMATCH, "Header mismatch: Mcp-Name is "
          .. (hn and string.format("%q", hn) or "missing") .. " but params." .. field .. " is "
          .. string.format("%q", tostring(p[field]))
      end
    end
  end
  if not M.modern_handler(server, msg.method) then
    return 404, protocol.METHOD_NOT_FOUND, "Method not found: " .. tostring(msg.method)
  end
  return nil
end

-- The ladder's last step (HTTP): a tools/call's arguments marked
-- x-mcp-header must come as Mcp-Param-{Name} headers equal to them after
-- decoding (integers compared as numbers); a tool whose annotations are
-- invalid is not checked. nil, or 400, -32020 and the message.
function M.check_params(server, msg, headers)
  if msg.method ~= "tools/call" then return nil end
  local p = msg.params
  local tool = type(p.name) == "string" and server.index.tools[p.name]
  local list = tool and protocol.header_params(tool.inputSchema)
  if not list then return nil end
  local args = type(p.arguments) == "table" and p.arguments or {}
  for _, e in ipairs(list) do
    local v = args
    for i = 1, #e.path do v = type(v) == "table" and v[e.path[i]] or nil end
    if v ~= nil and v ~= json.null then
      local raw = headers["mcp-param-" .. e.name:lower()]
      local got = protocol.decode_header(raw)
      local same
      if math.type(v) == "integer" then same = got ~= nil and tonumber(got) == v
      elseif type(v) == "boolean" then same = got == tostring(v)
      else same = got == v end
      if not same then
        return 400, protocol.HEADER_MISMATCH, "Header mismatch: Mcp-Param-" .. e.name .. " is "
          .. (raw and string.format("%q", raw) or "missing") .. " but the argument " .. table.concat(e.path, ".")
          .. " is " .. string.format("%q", tostring(v))
      end
    end
  end
  return nil
end

-- A session that lives for one modern request: what its _meta says.
-- Without a logLevel the request gets no notifications/message.
function M.modern_session(s, meta)
  s.era = "modern"
  s.protocol_version = meta[protocol.META_VERSION]
  s.client_capabilities = meta[protocol.META_CAPABILITIES]
  s.client_info = meta[protocol.META_CLIENT_INFO]
  local level = meta[protocol.META_LOG_LEVEL]
  if protocol.LOG_LEVEL_RANK[level] then s.log_level = level else s.no_logs = true end
  return s
end

function M.decorate(server, method, result)
  if type(result) ~= "table" then return result end
  if result.resultType == nil then result.resultType = "complete" end
  local meta = {}
  if type(result._meta) == "table" then for k, val in pairs(result._meta) do meta[k] = val end end
  meta[protocol.META_SERVER_INFO] = server.server_info
  result._meta = meta
  if CACHEABLE[method] and result.resultType == "complete" then
    if result.ttlMs == nil then result.ttlMs = 0 end
    if result.cacheScope == nil then result.cacheScope = "private" end
  end
  return result
end

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
