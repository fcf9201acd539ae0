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
-- MCP-Protocol-Version must be one we speak (400). A non-loopback Origin
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
