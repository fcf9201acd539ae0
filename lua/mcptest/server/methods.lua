-- mcptest.server.methods: the MCP methods the engine answers, over a
-- catalog its caller gives:
--   catalog = {
--     tools = { {name, title, description, inputSchema, outputSchema,
--                annotations, icons, _meta, run = function(ctx, args) -> result}, ... },
--     resources = { {uri, name, title, description, mimeType, ...,
--                    text | blob (served as they are)}, ... },
--     templates = { {uriTemplate, name, ...}, ... },
--     read_resource = function(uri, ctx) -> contents list | nil (tried first),
--     prompts = { {name, title, description, arguments = {{name, description,
--                  required}}, get = function(args, ctx) -> messages}, ... },
--     complete = function(ref, argument) -> values | nil,
--     instructions = "...", capabilities = {...} (else derived),
--   }
-- Only the MCP fields of tools, resources and prompts are listed (run, get,
-- text, blob and any field of the caller's own stay private). Methods of
-- what the catalog lacks are not there (-32601). Lists page with
-- config.page_size items and an opaque nextCursor.
--   methods.for_catalog(catalog) -> {method = handler(ctx, params)}
--   methods.index(catalog) -> the lookup tables the handlers use (server.index)
-- tools/call goes through the engine's hooks: server.authorize_tool(ctx,
-- tool) first (it may end the call with ctx:http_fail or an rpc_error),
-- then server.call_tool(ctx, tool, args) (default: tool.run(ctx, args)).
local json = require("mcptest.json")
local crypto = require("mcptest.core.crypto")
local protocol = require("mcptest.protocol")
local context = require("mcptest.server.context")
local lifecycle = require("mcptest.server.lifecycle")

local M = {}

local rpc_error = context.rpc_error
local INVALID_PARAMS = protocol.INVALID_PARAMS

local function fail(code, message, data) error(rpc_error(code, message, data), 0) end

local TOOL_FIELDS = { "name", "title", "description", "icons", "inputSchema", "outputSchema", "annotations",
                      "execution", "_meta" }
local RESOURCE_FIELDS = { "uri", "name", "title", "description", "mimeType", "size", "icons", "annotations",
                          "_meta" }
local TEMPLATE_FIELDS = { "uriTemplate", "name", "title", "description", "mimeType", "icons", "annotations",
                          "_meta" }
local PROMPT_FIELDS = { "name", "title", "description", "icons", "_meta" }

local function pick(t, fields)
  local out = {}
  for _, k in ipairs(fields) do out[k] = t[k] end
  return out
end

-- The lookup tables and listings of a catalog.
function M.index(cat)
  local ix = { tools = {}, tool_list = {}, prompts = {}, prompt_list = {}, resources = {}, resource_list = {},
               template_list = {} }
  for _, t in ipairs(cat.tools or {}) do
    ix.tools[t.name] = t
    ix.tool_list[#ix.tool_list + 1] = pick(t, TOOL_FIELDS)
  end
  for _, r in ipairs(cat.resources or {}) do
    ix.resources[r.uri] = r
    ix.resource_list[#ix.resource_list + 1] = pick(r, RESOURCE_FIELDS)
  end
  for _, t in ipairs(cat.templates or {}) do ix.template_list[#ix.template_list + 1] = pick(t, TEMPLATE_FIELDS) end
  for _, p in ipairs(cat.prompts or {}) do
    ix.prompts[p.name] = p
    local d = pick(p, PROMPT_FIELDS)
    local args = {}
    for i, a in ipairs(p.arguments or {}) do args[i] = a end
    d.arguments = json.array(args)
    ix.prompt_list[#ix.prompt_list + 1] = d
  end
  return ix
end

-- One page of a list; the cursor is base64url("page:<offset>").
local function page(ctx, list, field)
  local size = ctx.config.page_size
  local offset = 0
  local cursor = ctx.params.cursor
  if cursor ~= nil then
    local ok, raw = pcall(crypto.base64url_decode, tostring(cursor))
    offset = ok and raw and tonumber(raw:match("^page:(%d+)$")) or nil
    if not offset or offset >= #list then fail(INVALID_PARAMS, "Invalid cursor") end
  end
  local items = {}
  for i = offset + 1, math.min(offset + size, #list) do items[#items + 1] = list[i] end
  local res = { [field] = json.array(items) }
  if offset + size < #list then res.nextCursor = crypto.base64url_encode("page:" .. (offset + size)) end
  return res
end

local function need_uri(p)
  if type(p.uri) ~= "string" then fail(INVALID_PARAMS, "uri is required") end
  return p.uri
end

-- ===== the methods, by capability =====

local BASE = {
  ["ping"] = function() return json.object() end,
  ["logging/setLevel"] = function(ctx, p)
    if not protocol.LOG_LEVEL_RANK[p.level] then
      -- never "table: 0x55ef...": a string is quoted (and cut), another type named
      local got = type(p.level) == "string" and json.encode(#p.level > 64 and (p.level:sub(1, 64) .. "...") or p.level)
        or (p.level == nil and "none" or ("a " .. (json.is_array(p.level) and "JSON array"
          or type(p.level) == "table" and "JSON object" or type(p.level))))
      fail(INVALID_PARAMS, "Invalid log level: " .. got .. "; expected one of debug, info, notice, warning,"
        .. " error, critical, alert, emergency")
    end
    ctx.session.log_level = p.level
    return json.object()
  end,
}

local TOOLS = {
  ["tools/list"] = function(ctx) return page(ctx, ctx.server.index.tool_list, "tools") end,
  ["tools/call"] = function(ctx, p)
    local name = p.name
    local tool = type(name) == "string" and ctx.server.index.tools[name]
    if not tool then fail(INVALID_PARAMS, "Unknown tool: " .. tostring(name)) end
    local args = p.arguments
    if args ~= nil and type(args) ~= "table" then fail(INVALID_PARAMS, "arguments must be an object") end
    args = args or {}
    local srv = ctx.server
    if srv.authorize_tool then srv.authorize_tool(ctx, tool) end
    if srv.call_tool then return srv.call_tool(ctx, tool, args) end
    return tool.run(ctx, args)
  end,
}

local RESOURCES = {
  ["resources/list"] = function(ctx) return page(ctx, ctx.server.index.resource_list, "resources") end,
  ["resources/templates/list"] = function(ctx)
    return page(ctx, ctx.server.index.template_list, "resourceTemplates")
  end,
  ["resources/read"] = function(ctx, p)
    local uri = need_uri(p)
    local srv = ctx.server
    local contents = srv.catalog.read_resource and srv.catalog.read_resource(uri, ctx)
    if not contents then
      local r = srv.index.resources[uri]
      if r and (r.text or r.blob) then contents = { { uri = uri, mimeType = r.mimeType, text = r.text, blob = r.blob } } end
    end
    if not contents then -- 2026-07-28 renumbered it: -32602
      fail(ctx.session.era == "modern" and INVALID_PARAMS or protocol.RESOURCE_NOT_FOUND, "Resource not found", { uri = uri })
    end
    return { contents = json.array(contents) }
  end,
  ["resources/subscribe"] = function(ctx, p)
    ctx.session.subscriptions[need_uri(p)] = true
    return json.object()
  end,
  ["resources/unsubscribe"] = function(ctx, p)
    ctx.session.subscriptions[need_uri(p)] = nil
    return json.object()
  end,
}

local PROMPTS = {
  ["prompts/list"] = function(ctx) return page(ctx, ctx.server.index.prompt_list, "prompts") end,
  ["prompts/get"] = function(ctx, p)
    local prompt = type(p.name) == "string" and ctx.server.index.prompts[p.name]
    if not prompt then fail(INVALID_PARAMS, "Unknown prompt: " .. tostring(p.name)) end
    local args = type(p.arguments) == "table" and p.arguments or {}
    for _, a in ipairs(prompt.arguments or {}) do
      local v = args[a.name]
      if a.required and (type(v) ~= "string" or v == "") then
        fail(INVALID_PARAMS, "Missing required argument: " .. a.name)
      end
      if v ~= nil and type(v) ~= "string" then fail(INVALID_PARAMS, "argument " .. a.name .. " must be a string") end
    end
    return { description = prompt.description, messages = json.array(prompt.get(args, ctx)) }
  end,
}

local COMPLETIONS = {
  ["completion/complete"] = function(ctx, p)
    local values = ctx.server.catalog.complete(p.ref, p.argument)
    if not values then fail(INVALID_PARAMS, "nothing to complete for that reference") end
    return { completion = { values = json.array(values), total = #values, hasMore = false } }
  end,
}

function M.for_catalog(cat)
  local out = {}
  local function add(t) for k, v in pairs(t) do out[k] = v end end
  add(lifecycle.methods)
  add(BASE)
  if cat.tools then add(TOOLS) end
  if cat.resources or cat.templates or cat.read_resource then add(RESOURCES) end
  add(require("mcptest.server.listen").methods) -- the modern era's only
  if cat.prompts then add(PROMPTS) end
  if cat.complete then add(COMPLETIONS) end
  if cat.skills then require("mcptest.server.skills").install(cat, out) end
  if cat.tasks then add(require("mcptest.server.tasks").methods) end
  return out
end

return M
