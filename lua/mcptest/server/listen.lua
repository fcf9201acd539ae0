-- mcptest.server.listen: subscriptions/listen, the 2026-07-28 era's way to
-- receive notifications outside a request (reference section 5.3). The
-- request stays open: its first message is notifications/subscriptions/
-- acknowledged with the honoured filter, then every notification it asked
-- for, tagged with _meta subscriptionId (= the listen request's id), until
-- the client cancels it (stdio: notifications/cancelled; HTTP: closing the
-- stream), when it ends with a result carrying the subscriptionId.
-- Honoured: resourceSubscriptions (resources/updated, when the catalog
-- serves resources) and the list-changed kinds (the engine never changes
-- its lists, so they are acknowledged and nothing is sent).
--   listen.methods["subscriptions/listen"]
--   listen.resource_updated(server, uri) -> listeners notified
local json = require("mcptest.json")
local protocol = require("mcptest.protocol")
local context = require("mcptest.server.context")

local M = {}

local KINDS = { toolsListChanged = "tools", promptsListChanged = "prompts", resourcesListChanged = "resources" }

M.methods = {
  ["subscriptions/listen"] = function(ctx, p)
    if ctx.session.era ~= "modern" then
      error(context.rpc_error(protocol.METHOD_NOT_FOUND, "Method not found: subscriptions/listen"), 0)
    end
    local want = type(p.notifications) == "table" and p.notifications or {}
    local caps = require("mcptest.server.lifecycle").capabilities(ctx.server, "modern")
    local honoured, uris = json.object(), {}
    for k, cap in pairs(KINDS) do
      if want[k] == true and caps[cap] then honoured[k] = true end
    end
    if type(want.resourceSubscriptions) == "table" and caps.resources then
      local list = json.array()
      for _, u in ipairs(want.resourceSubscriptions) do
        if type(u) == "string" then list[#list + 1] = u; uris[u] = true end
      end
      honoured.resourceSubscriptions = list
    end
    local tag = { [protocol.META_SUBSCRIPTION_ID] = ctx.id }
    ctx:notify("notifications/subscriptions/acknowledged", { notifications = honoured, _meta = tag })
    local srv = ctx.server
    srv.listeners = srv.listeners or {}
    local l = { ctx = ctx, uris = uris, tag = tag }
    srv.listeners[l] = true
    while not ctx.cancelled do ctx:sleep(ctx.config.max_sleep_seconds) end
    srv.listeners[l] = nil
    return { _meta = tag }
  end,
}

function M.resource_updated(server, uri)
  local n = 0
  for l in pairs(server.listeners or {}) do
    if l.uris[uri] and not l.ctx.cancelled then
      l.ctx:notify("notifications/resources/updated", { uri = uri, _meta = l.tag })
      n = n + 1
    end
  end
  return n
end

return M
