-- mcptest.server.dispatch: JSON-RPC messages into the engine, whatever the
-- transport. One message at a time (batches are refused by the transports):
--   dispatch.classify(msg) -> kind | nil, code, message
--     kind: "request", "notification", "response", or "empty" (none of
--     them: the transport answers -32600 after its session checks)
--   dispatch.request(server, session, msg, sink, extra)   runs the method
--     of server.methods (-32601 when there is none) in a context
--   dispatch.response(session, msg) -> true when it answered one of our
--     requests (the waiting handler resumes)
--   dispatch.notification(session, msg)   notifications/initialized,
--     notifications/cancelled; others are ignored
local json = require("mcptest.json")
local protocol = require("mcptest.protocol")
local context = require("mcptest.server.context")

local M = {}

function M.classify(msg)
  if type(msg) ~= "table" then return nil, protocol.INVALID_REQUEST, "Invalid Request: not a JSON-RPC message" end
  if json.is_array(msg) then return nil, protocol.INVALID_REQUEST, "Invalid Request: batches are not supported" end
  if msg.jsonrpc ~= "2.0" then return nil, protocol.INVALID_REQUEST, "Invalid Request: jsonrpc must be \"2.0\"" end
  if msg.id == json.null or (msg.method ~= nil and type(msg.method) ~= "string")
     or (msg.id ~= nil and type(msg.id) ~= "string" and math.type(msg.id) ~= "integer") then
    return nil, protocol.INVALID_REQUEST, "Invalid Request: bad id or method"
  end
  if msg.params ~= nil and type(msg.params) ~= "table" then
    return nil, protocol.INVALID_REQUEST, "Invalid Request: params must be an object (or an array), got a "
      .. type(msg.params)
  end
  if msg.method ~= nil then return msg.id ~= nil and "request" or "notification" end
  if msg.result == nil and msg.error == nil then return "empty" end
  return "response"
end

-- handler: the one to run (a modern request's, chosen by the transport);
-- default server.methods[msg.method]. Returns the context, if one runs.
function M.request(server, session, msg, sink, extra, handler)
  handler = handler or server.methods[msg.method]
  if not handler then
    return sink:finish(context.error_response(msg.id, { code = protocol.METHOD_NOT_FOUND,
      message = "Method not found: " .. tostring(msg.method) }))
  end
  return context.start(server, session, msg, sink, extra, handler)
end

function M.response(session, msg)
  local ctx = session.pending[msg.id]
  if not ctx then return false end
  session.pending[msg.id] = nil
  if msg.error ~= nil then
    context.resume(ctx, nil, type(msg.error) == "table" and msg.error
      or { code = protocol.INTERNAL_ERROR, message = tostring(msg.error) })
  else
    context.resume(ctx, msg.result)
  end
  return true
end

function M.notification(session, msg)
  if msg.method == "notifications/initialized" then
    session.initialized = true
  elseif msg.method == "notifications/cancelled" and type(msg.params) == "table" then
    local id = msg.params.requestId
    local ctx = session.running[type(id) .. ":" .. tostring(id)]
    if ctx and ctx.method ~= "initialize" then context.cancel(ctx) end
  end
end

return M
