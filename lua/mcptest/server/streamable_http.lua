-- mcptest.server.streamable_http: the Streamable HTTP transport of MCP
-- 2025-11-25 on one or more paths of the engine (docs/fixture.md
-- "Streamable HTTP behaviour").
--   POST   one JSON-RPC message; a request is answered with JSON, or with
--          an SSE stream when the call sends messages first (progress,
--          sampling, elicitation) or the response mode is "sse";
--          notifications and responses get 202.
--   GET    the standalone SSE stream, or with Last-Event-ID the rest of
--          any stream of the session (resumability).
--   DELETE ends the session.
-- Mcp-Session-Id is issued by initialize and required afterwards (400
-- without, 404 unknown, expired, of another route or subject);
-- MCP-Protocol-Version must be one we speak (400).
-- The era is chosen per request (reference mcp-2026-07-28.md section 7):
-- a request whose params._meta claims a protocolVersion is modern (no
-- session; the modern ladder of mcptest.server.lifecycle; an SSE answer
-- carries only that request's notifications; closing it cancels the
-- request), anything else legacy. config.eras = "modern" | "legacy"
-- serves one era only: modern-only answers a claim-less initialize with
-- -32022, GET and DELETE with 405, other claim-less requests with -32602,
-- and drops notifications (202); legacy-only treats every request as legacy. A non-loopback Origin
-- not in config.allowed_origins gets 403. Authentication is the engine's
-- auth hook: server.auth:check(req, route) -> principal | nil, response.
--
-- Request fields a filter (mcptest.server.http) may set: response_mode
-- ("sse" | "json": overrides config.response_mode), interrupt = {after =
-- n, mode = "cut" | "close"} (the SSE answer or GET stream is interrupted
-- after n events), forget_session (the session named is ended first, so
-- the request gets 404).
--   local t = streamable_http.new(server)   t:mount(path [, route])
--   t:resource_updated(uri) -> sessions notified    t:sweep()
local json = require("mcptest.json")
local sys = require("mcptest.core.sys")
local url = require("mcptest.url")
local guard = require("mcptest.server.guard")
local session = require("mcptest.server.session")
local streams = require("mcptest.server.streams")
local dispatch = require("mcptest.server.dispatch")
local lifecycle = require("mcptest.server.lifecycle")
local protocol = require("mcptest.protocol")

local now = sys.now
local function http_error(...) return guard.jsonrpc_error(...) end

local M = {}

local T = {}
T.__index = T

local JSON_HEADERS = { ["Content-Type"] = "application/json" }

local function accepts(req, ...)
  local a = req.headers.accept
  if a == nil or a == "" then return false end
  a = a:lower()
  if a:find("*/*", 1, true) then return true end
  for _, t in ipairs({ ... }) do
    if not a:find(t, 1, true) then return false end
  end
  return true
end

local function loopback_origin(o)
  local p = url.parse(o)
  return p ~= nil and (p.scheme == "http" or p.scheme == "https") and url.is_loopback_host(p.host)
end

function M.new(server)
  local self = setmetatable({ server = server, config = server.config, streams = streams.new(server.config) }, T)
  self.sessions = session.store(server.config.max_sessions, function(s) self.streams:close_all(s) end)
  return self
end

-- Serve this transport at path; route names it for the auth hook and
-- binds its sessions (default: the path).
function T:mount(path, route)
  route = route or path
  self.server.http:route(path, function(req) return self:handle(req, route) end)
end

function T:sweep()
  local t = now()
  self.sessions:sweep(self.config.session_ttl, t, function(s) self.streams:sweep(s, t) end)
end

-- notifications/resources/updated to the subscribed sessions' GET streams.
function T:resource_updated(uri)
  local n = 0
  self.sessions:each(function(s)
    if s.subscriptions[uri] and s.get_rec then
      self.streams:emit(s.get_rec, { jsonrpc = "2.0", method = "notifications/resources/updated", params = { uri = uri } })
      n = n + 1
    end
  end)
  return n
end

-- ===== the sink of one POSTed request =====

local Exchange = {}
Exchange.__index = Exchange

function Exchange:headers()
  local h = {}
  if self.new_session then h["Mcp-Session-Id"] = self.session.id end
  return h
end

function Exchange:start_stream()
  if self.rec then return self.rec end
  if self.req.answered or self.session.ended then return nil end
  local ss = self.t.streams
  local rec = ss:open(self.session, "post")
  local st = self.req:stream(200, self:headers())
  if not st then self.session.streams[rec.num] = nil; return nil end
  self.rec = rec
  ss:attach(rec, st)
  ss:prime(rec) -- a Last-Event-ID to resume from
  local i = self.plan
  if i then ss:interrupt_after(rec, i.after, i.mode) end
  return rec
end

function Exchange:send(msg)
  local rec = self:start_stream()
  if not rec then return false end
  self.t.streams:emit(rec, msg)
  return true
end

function Exchange:finish(msg)
  if not self.rec and msg and (self.mode == "sse" or self.plan) then self:start_stream() end
  local rec = self.rec
  if rec then
    if msg then self.t.streams:emit(rec, msg) end
    self.t.streams:finish(self.session, rec, now())
    return
  end
  if self.req.answered then return end
  if msg == nil then -- cancelled: no response, close the POST
    return self.req:respond({ status = 202, headers = self:headers(), body = "" })
  end
  local h = self:headers()
  h["Content-Type"] = "application/json"
  self.req:respond({ status = 200, headers = h, body = json.encode(msg) })
end

function Exchange:http(res)
  if self.rec or self.req.answered then return false end
  self.req:respond(res)
  return true
end

function Exchange:streaming() return self.rec ~= nil end

function Exchange:cut(bytes)
  if self.rec then
    local st = self.rec.live
    if st then
      if bytes then st:write(bytes) end
      st:cut()
    end
  elseif bytes then
    self.req:raw(bytes)
  else
    self.req:drop()
  end
end

function Exchange:expire()
  self.t.sessions:finish(self.session.id)
  if not self.rec and not self.req.answered then
    self.req:respond(http_error(404, -32001, "Session not found (expired by a fault)"))
  end
end

function Exchange:interrupt(n, mode)
  self.plan = { after = n, mode = mode }
end

-- ===== the sink of one modern request: no session, its own stream =====

local Modern = {}
Modern.__index = Modern

-- The HTTP status of a modern error raised while handling (a handler's
-- -32021 for an undeclared capability, say), when the answer is not a stream.
local MODERN_STATUS = { [-32020] = 400, [-32021] = 400, [-32022] = 400 }

function Modern:start_stream()
  if self.st then return self.st end
  if self.req.answered then return nil end
  local st = self.req:stream(200, {})
  if not st then return nil end
  self.st = st
  -- the client closing the stream cancels the request (2026-07-28)
  st.on_close = function() if not self.done and self.ctx then
    require("mcptest.server.context").cancel(self.ctx) end end
  return st
end

function Modern:event(msg)
  local st = self.st
  st:event(msg)
  local plan = self.plan
  if plan and st.events >= plan.after and st.open then
    self.done = true
    if plan.mode == "cut" then st:cut() else st:finish() end
  end
end

function Modern:send(msg)
  if msg.id ~= nil then return false end -- no server requests in this era
  if not self:start_stream() then return false end
  self:event(msg)
  return true
end

function Modern:finish(msg)
  if msg and msg.result ~= nil then lifecycle.decorate(self.t.server, self.method, msg.result) end
  if not self.st and msg and (self.mode == "sse" or self.plan) then self:start_stream() end
  local st = self.st
  if st then
    if msg and st.open then self:event(msg) end
    self.done = true
    if st.open then st:finish() end
    return
  end
  self.done = true
  if self.req.answered then return end
  if msg == nil then return self.req:respond({ status = 202, headers = {}, body = "" }) end
  local e = msg.error
  self.req:respond({ status = type(e) == "table" and MODERN_STATUS[e.code] or 200, headers = JSON_HEADERS,
                     body = json.encode(msg) })
end

function Modern:http(res)
  if self.st or self.req.answered then return false end
  self.req:respond(res)
  return true
end

function Modern:streaming() return self.st ~= nil end

function Modern:cut(bytes)
  local st = self.st
  if st then
    if bytes then st:write(bytes) end
    st:cut()
  elseif bytes then self.req:raw(bytes) else self.req:drop() end
end

function Modern:expire() -- no session to forget: answer as the legacy era would
  if not self.st and not self.req.answered then
    self.req:respond(http_error(404, -32001, "Session not found (expired by a fault)"))
  end
end

function Modern:interrupt(n, mode) self.plan = { after = n, mode = mode } end

local function rpc_error(status, id, code, message, data)
  return { status = status, headers = JSON_HEADERS,
           body = json.encode({ jsonrpc = "2.0", id = id == nil and json.null or id,
                                error = { code = code, message = message, data = data } }) }
end

function T:modern_post(req, route, principal, msg)
  local server = self.server
  local status, code, message, data = lifecycle.check_modern(server, msg, req.headers)
  if not status then status, code, message = lifecycle.check_params(server, msg, req.headers) end
  if status then return rpc_error(status, msg.id, code, message, data) end
  local s = lifecycle.modern_session(session.new({ route = route, principal = principal,
    subject = principal and principal.subject }), msg.params._meta)
  local ex = setmetatable({ t = self, req = req, method = msg.method, done = false,
                            mode = req.response_mode or self.config.response_mode, plan = req.interrupt },
                          Modern)
  ex.ctx = dispatch.request(server, s, msg, ex, { principal = principal, req = req },
                            lifecycle.modern_handler(server, msg.method))
  if ex.ctx and not ex.done then
    req.on_gone = function() if not ex.done then require("mcptest.server.context").cancel(ex.ctx) end end
  end
end

-- ===== HTTP handlers =====

function T:handle(req, route)
  local origin = req.headers.origin
  if origin and not loopback_origin(origin) then
    local ok = false
    for _, o in ipairs(self.config.allowed_origins) do if o == origin then ok = true end end
    if not ok then return http_error(403, -32000, "Forbidden: Origin not allowed") end
  end
  local m = req.method
  if m ~= "POST" and m ~= "GET" and m ~= "DELETE" then
    return http_error(405, -32000, "Method not allowed", { Allow = "GET, POST, DELETE" })
  end
  local principal, res = self.server.auth:check(req, route)
  if not principal then return res end
  if m ~= "POST" and self.config.eras == "modern" then
    return http_error(405, -32000, "Method not allowed: this server speaks only the 2026-07-28 era"
      .. " (POST, no sessions)", { Allow = "POST" })
  end
  if m == "POST" then return self:post(req, route, principal) end
  if m == "GET" then return self:get(req, route, principal) end
  return self:delete(req, route, principal)
end

-- The session a request names, or nil and the HTTP answer.
function T:session_for(req, route, principal)
  local sid = req.headers["mcp-session-id"]
  if not sid or sid == "" then
    return nil, http_error(400, -32000, "Bad Request: Mcp-Session-Id header is required")
  end
  if req.forget_session then self.sessions:finish(sid) end
  local s = self.sessions:get(sid)
  if not s or s.route ~= route or s.subject ~= (principal and principal.subject) then
    return nil, http_error(404, -32001, "Session not found")
  end
  self.sessions:touch(s, now())
  s.principal = principal
  local ok, why = lifecycle.check_header(req.headers["mcp-protocol-version"])
  if not ok then return nil, http_error(400, -32000, "Bad Request: " .. why) end
  return s
end

function T:post(req, route, principal)
  if url.media_type(req.headers["content-type"]) ~= "application/json" then
    return http_error(415, -32000, "Unsupported Media Type: Content-Type must be application/json")
  end
  if not accepts(req, "application/json", "text/event-stream") then
    return http_error(406, -32000, "Not Acceptable: Accept must list application/json and text/event-stream")
  end
  local msg, err = json.try_decode(req.body)
  if msg == nil then return http_error(400, -32700, "Parse error: " .. tostring(err.message)) end
  local kind, code, why = dispatch.classify(msg)
  if not kind then return http_error(400, code, why) end
  local eras = self.config.eras
  if eras ~= "legacy" then
    if kind == "request" and lifecycle.claim(msg) ~= nil then return self:modern_post(req, route, principal, msg) end
    local hv = req.headers["mcp-protocol-version"]
    if kind == "request" and hv and lifecycle.MODERN_SUPPORTED[hv] then
      return rpc_error(400, msg.id, protocol.INVALID_PARAMS, "Invalid params: MCP-Protocol-Version " .. hv
        .. " needs _meta " .. protocol.META_VERSION .. " in the request")
    end
    if eras == "modern" then
      if kind == "notification" then return { status = 202, headers = {}, body = "" } end
      if kind == "request" and msg.method == "initialize" then
        return rpc_error(400, msg.id, protocol.UNSUPPORTED_PROTOCOL_VERSION, "Unsupported protocol version",
          { supported = lifecycle.supported_versions(),
            requested = type(msg.params) == "table" and msg.params.protocolVersion or json.null })
      end
      return rpc_error(400, msg.id, protocol.INVALID_PARAMS, "Invalid params: this server speaks only"
        .. " the 2026-07-28 era; _meta " .. protocol.META_VERSION .. " is required")
    end
  end
  local server = self.server
  local s, new_session
  if kind == "request" and msg.method == "initialize" then
    s = session.new({ id = session.new_id(), route = route, principal = principal,
                      subject = principal and principal.subject, streams = {} })
    self.sessions:add(s)
    new_session = true
  else
    local res
    s, res = self:session_for(req, route, principal)
    if not s then return res end
  end
  if kind == "empty" then
    return http_error(400, -32600, "Invalid Request: neither a request, a notification nor a response")
  end
  if kind == "response" then
    dispatch.response(s, msg)
    return { status = 202, headers = {}, body = "" }
  end
  if kind == "notification" then
    dispatch.notification(s, msg)
    return { status = 202, headers = {}, body = "" }
  end
  local ex = setmetatable({ t = self, req = req, session = s, new_session = new_session,
                            mode = req.response_mode or self.config.response_mode, plan = req.interrupt },
                          Exchange)
  dispatch.request(server, s, msg, ex, { principal = principal, req = req })
end

function T:get(req, route, principal)
  if not accepts(req, "text/event-stream") then
    return http_error(406, -32000, "Not Acceptable: Accept must list text/event-stream")
  end
  local s, res = self:session_for(req, route, principal)
  if not s then return res end
  local ss = self.streams
  local last = req.headers["last-event-id"]
  if last then
    local num, seq = last:match("^(%d+)_(%d+)$")
    local rec = num and s.streams[tonumber(num)]
    if not rec then
      return http_error(400, -32000, "Bad Request: unknown Last-Event-ID (the stream is gone)")
    end
    local st = req:stream(200, {})
    if not st then return end
    self.server.http.stats.resumptions = self.server.http.stats.resumptions + 1
    ss:replay(s, rec, tonumber(seq), st)
    return
  end
  local st = req:stream(200, {})
  if not st then return end
  local rec = s.get_rec
  if rec then s.streams[rec.num] = nil; if rec.live then rec.live:finish() end end
  rec = ss:open(s, "get")
  s.get_rec = rec
  ss:attach(rec, st)
  ss:prime(rec)
  local i = req.interrupt
  if i then ss:interrupt_after(rec, i.after, i.mode) end
end

function T:delete(req, route, principal)
  local s, res = self:session_for(req, route, principal)
  if not s then return res end
  self.sessions:finish(s.id)
  return { status = 200, headers = JSON_HEADERS, body = "" }
end

return M
