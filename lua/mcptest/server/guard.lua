-- mcptest.server.guard: error containment for the server engine. A
-- callback (a request's dispatch, a timer, a stream's close hook) runs
-- guarded: an error is logged on stderr (the request's method and path
-- only, never its query, headers or body, which may hold secrets) and,
-- when an HTTP request is still waiting, answered with a 500 carrying a
-- JSON-RPC -32603 body; the server keeps serving. An interrupt (Ctrl-C,
-- SIGTERM: the host raises "interrupted!") is never contained.
--   guard.call(who, req, where, fn, ...) -> fn's first result | nil
--     who = {log_prefix = "mcptest serve", label = "fixture"}: the log
--     prefix and what a 500's message names; where: the log's words when
--     there is no request ("in a timer")
--   guard.is_interrupt(e), guard.trace(e) (an xpcall handler)
--   guard.log_internal(who, req, where, err)
--   guard.jsonrpc_error(status, code, message [, headers]) -> response
--     (an HTTP answer whose body is a JSON-RPC error with id null)
local json = require("mcptest.json")
local protocol = require("mcptest.protocol")

local M = {}

function M.is_interrupt(e)
  return type(e) == "string" and e:find("interrupted!", 1, true) ~= nil
end

-- xpcall message handler: an interrupt goes up as it is, anything else
-- gets a traceback for the log.
function M.trace(e)
  if M.is_interrupt(e) then return e end
  return debug.traceback(tostring(e), 2)
end

function M.jsonrpc_error(status, code, message, headers)
  local h = { ["Content-Type"] = "application/json" }
  for k, v in pairs(headers or {}) do h[k] = v end
  return { status = status, headers = h,
           body = json.encode({ jsonrpc = "2.0", id = json.null, error = { code = code, message = message } }) }
end

function M.log_internal(who, req, where, err)
  io.stderr:write(who.log_prefix, ": internal error ",
    req and ("on " .. tostring(req.method or "?") .. " " .. tostring(req.path or "?")) or where or "",
    ": ", tostring(err), "\n")
end

-- Answer a request that is still waiting with a 500 (-32603).
local function internal_error(req, label)
  if req and not req.answered and req.respond then
    pcall(req.respond, req, M.jsonrpc_error(500, protocol.INTERNAL_ERROR, "internal error in the " .. label))
  end
end

-- Run fn(...) guarded (see the header).
function M.call(who, req, where, fn, ...)
  local ok, res = xpcall(fn, M.trace, ...)
  if ok then return res end
  if M.is_interrupt(res) then error(res, 0) end
  M.log_internal(who, req, where, res)
  internal_error(req, who.label)
  return nil
end

return M
