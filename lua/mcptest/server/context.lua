-- mcptest.server.context: one client request being handled. Its handler
-- runs in a coroutine of its own with a context (ctx) that can sleep,
-- report progress, log, send notifications and ask the client things
-- (sampling, elicitation) while other requests are served; a
-- notifications/cancelled for it sets ctx.cancelled and ends a sleep early.
--
-- Handlers are handler(ctx, params) -> result; they end with a JSON-RPC
-- error by raising context.rpc_error(code, message [, data]); any other
-- error is logged and answered -32603. A transport hands in a "sink" per
-- request that says how messages reach the client:
--   sink:send(msg)       a request or notification tied to this request
--   sink:finish(msg)     the response (nil: none, the request was cancelled)
--   sink:http(res)       answer with this HTTP response instead when it still
--                        can (true), else false
--   sink:streaming()     true once the answer goes out as a stream (no HTTP
--                        status is possible any more)
--   sink:cut([bytes])    end the answer abnormally: before anything went out,
--                        drop the connection (with bytes: write them, not
--                        HTTP, and close); on a stream, write bytes and cut it
--   sink:expire()        forget the session (the request gets 404 if it can)
--   sink:interrupt(n, mode)  cut ("cut") or politely close ("close", after a
--                        retry: field) the SSE answer after n message events
--
-- ctx fields: server (the engine), config, session, sink, id, method,
-- params, principal, route, http_req, progress_token, cancelled.
local json = require("mcptest.json")
local protocol = require("mcptest.protocol")
local guard = require("mcptest.server.guard")

local M = {}

-- A JSON-RPC error raised inside handlers: error(M.rpc_error(code, msg, data), 0)
local RpcError = {}
function M.rpc_error(code, message, data)
  return setmetatable({ code = code, message = message, data = data }, RpcError)
end
function M.is_rpc_error(e) return getmetatable(e) == RpcError end

-- Raised to end a handler whose request was already answered otherwise.
local ABORT = setmetatable({}, { __tostring = function() return "request aborted" end })
M.ABORT = ABORT

local LEVELS = protocol.LOG_LEVEL_RANK

local Ctx = {}
Ctx.__index = Ctx

function Ctx:send(msg) return self.sink:send(msg) end

function Ctx:notify(method, params)
  return self:send({ jsonrpc = "2.0", method = method, params = params })
end

-- notifications/progress, only when the request asked for it.
function Ctx:progress(progress, total, message)
  if self.progress_token == nil then return false end
  return self:notify("notifications/progress", { progressToken = self.progress_token, progress = progress,
                                                 total = total, message = message })
end

-- notifications/message, subject to the session's log level.
function Ctx:log(level, data, logger)
  if self.session.no_logs then return false end -- a modern request without _meta logLevel
  local min = LEVELS[self.session.log_level or "debug"] or 1
  if (LEVELS[level] or 2) < min then return false end
  return self:notify("notifications/message", { level = level, logger = logger or self.server.label, data = data })
end

-- Yield until a timer or an answer resumes us; returns what resume passed.
local function wait(ctx)
  ctx.waiting = true
  local r = table.pack(coroutine.yield())
  ctx.waiting = false
  return table.unpack(r, 1, r.n)
end

-- Sleep without blocking the server; never longer than max_sleep_seconds
-- (a NaN or negative time is no sleep).
function Ctx:sleep(seconds)
  seconds = tonumber(seconds)
  if not seconds or seconds ~= seconds or seconds <= 0 then return end
  seconds = math.min(seconds, self.config.max_sleep_seconds)
  self.timer = self.server:after(seconds, function()
    self.timer = nil
    M.resume(self)
  end, self.http_req)
  wait(self)
end

-- Ask the client something (a server->client request, id "<label>-<n>");
-- returns the result, or nil and an error table (the client's JSON-RPC
-- error, or -32001 when it did not answer within client_request_timeout).
-- In the modern era no request can go out: mcptest.server.mrtr ends the
-- handler with an input_required result, and answers from the retry.
local mrtr -- required on first use (it requires this module)
function Ctx:client_request(method, params, timeout)
  local s = self.session
  if s.era == "modern" then
    mrtr = mrtr or require("mcptest.server.mrtr")
    return mrtr.ask(self, method, params)
  end
  s.next_id = s.next_id + 1
  local id = self.server.label .. "-" .. s.next_id
  s.pending[id] = self
  local t = self.server:after(timeout or self.config.client_request_timeout, function()
    if s.pending[id] == self then
      s.pending[id] = nil
      M.resume(self, nil, { code = -32001, message = "the client did not answer " .. method .. " in time" })
    end
  end, self.http_req)
  self:send({ jsonrpc = "2.0", id = id, method = method, params = params })
  local result, err = wait(self)
  t:cancel()
  return result, err
end

-- Several questions at once, by name: list = {{key=, method=, params=}, ...}.
-- The modern era asks them in one input_required round (mrtr.ask_many:
-- what the client's capabilities do not cover is left out); the legacy era
-- one request after another. Returns {key = answer} or nil, err.
function Ctx:client_requests(list)
  if self.session.era == "modern" then
    mrtr = mrtr or require("mcptest.server.mrtr")
    return mrtr.ask_many(self, list)
  end
  local out = {}
  for _, q in ipairs(list) do
    local r, err = self:client_request(q.method, q.params)
    if not r then return nil, err end
    out[q.key] = r
  end
  return out
end

-- Answer with an HTTP response (e.g. 403) when the transport still can,
-- else with a JSON-RPC error; either way the handler ends here.
function Ctx:http_fail(res, code, message, data)
  if self.sink:http(res) then error(ABORT, 0) end
  error(M.rpc_error(code, message, data), 0)
end

-- ===== running handlers =====

local function error_response(id, e)
  return { jsonrpc = "2.0", id = id, error = { code = e.code, message = e.message, data = e.data } }
end
M.error_response = error_response

local function finish(ctx, ok, res)
  ctx.session.running[ctx.key] = nil
  if ctx.timer then ctx.timer:cancel(); ctx.timer = nil end
  if ok then
    if ctx.cancelled then return ctx.sink:finish(nil) end
    return ctx.sink:finish({ jsonrpc = "2.0", id = ctx.id, result = res == nil and json.object() or res })
  end
  if res == ABORT then return end
  if guard.is_interrupt(res) then error(res, 0) end
  if mrtr and mrtr.is_signal(res) then
    if ctx.cancelled then return ctx.sink:finish(nil) end
    return ctx.sink:finish({ jsonrpc = "2.0", id = ctx.id, result = mrtr.result(ctx, res) })
  end
  if not M.is_rpc_error(res) then
    local srv = ctx.server
    io.stderr:write(srv.log_prefix, ": handler for ", tostring(ctx.method), " failed: ", tostring(res), "\n")
    res = M.rpc_error(protocol.INTERNAL_ERROR, "internal error in the " .. srv.label .. " while handling "
      .. tostring(ctx.method))
  end
  if ctx.cancelled then return ctx.sink:finish(nil) end
  return ctx.sink:finish(error_response(ctx.id, res))
end

-- Resume a waiting handler (from a timer or an answer) with these values.
function M.resume(ctx, ...)
  local co = ctx.co
  if coroutine.status(co) ~= "suspended" then return end
  local ok, res = coroutine.resume(co, ...)
  if not ok or coroutine.status(co) == "dead" then finish(ctx, ok, res) end
end

-- Run handler(ctx, params) for one request of a session. extra: {principal,
-- req (the HTTP request carrying it)}.
function M.start(server, session, msg, sink, extra, handler)
  local ctx = setmetatable({
    server = server, config = server.config, session = session, sink = sink, msg = msg, id = msg.id,
    method = msg.method, params = type(msg.params) == "table" and msg.params or json.object(),
    principal = extra and extra.principal or session.principal, route = session.route,
    http_req = extra and extra.req,
  }, Ctx)
  local meta = ctx.params._meta
  if type(meta) == "table" then ctx.progress_token = meta.progressToken end
  ctx.key = type(msg.id) .. ":" .. tostring(msg.id)
  session.running[ctx.key] = ctx
  ctx.co = coroutine.create(handler)
  local ok, res = coroutine.resume(ctx.co, ctx, ctx.params)
  if not ok or coroutine.status(ctx.co) == "dead" then finish(ctx, ok, res) end
  return ctx
end
M.Ctx = Ctx

-- notifications/cancelled: no response will be sent; a sleep ends early.
function M.cancel(ctx)
  ctx.cancelled = true
  if ctx.waiting and ctx.timer then
    ctx.timer:cancel()
    ctx.timer = nil
    M.resume(ctx)
  end
end

return M
