-- mcptest.server.legacy_sse: the HTTP+SSE transport of MCP 2024-11-05, for
-- testing a client's fallback. GET <sse path> opens the stream; its first
-- event is "endpoint" with the URL to POST messages to (<messages
-- path>?sessionId=...). Each POST gets 202 and its answer comes on the
-- stream as an event "message", as do server requests (sampling,
-- elicitation) and notifications. The session ends with the stream. A
-- POST to the SSE path is 405, which is what makes a client fall back.
-- Authentication: server.auth:check(req, <sse path>) on both paths.
--   local t = legacy_sse.new(server)   t:mount(sse_path, messages_path)
--   t:resource_updated(uri) -> sessions notified    t:sweep()
local json = require("mcptest.json")
local sys = require("mcptest.core.sys")
local session = require("mcptest.server.session")
local dispatch = require("mcptest.server.dispatch")

local M = {}

local Legacy = {}
Legacy.__index = Legacy

local function plain(status, text, headers)
  local h = { ["Content-Type"] = "text/plain; charset=utf-8" }
  for k, v in pairs(headers or {}) do h[k] = v end
  return { status = status, headers = h, body = text }
end

function M.new(server)
  return setmetatable({ server = server, sessions = {} }, Legacy)
end

function Legacy:mount(sse_path, messages_path)
  self.route, self.messages_path = sse_path, messages_path
  local http = self.server.http
  http:route(sse_path, function(req) return self:sse(req) end)
  http:route(messages_path, function(req) return self:message(req) end)
end

-- The sink of a request: everything goes out on the session's stream.
local Sink = {}
Sink.__index = Sink

function Sink:send(msg)
  local st = self.session.stream
  if not st or not st.open then return false end
  return st:event(msg, nil, "message")
end

function Sink:finish(msg)
  if msg then self:send(msg) end
end

function Sink:http() return false end
function Sink:streaming() return true end

function Sink:cut(bytes)
  local st = self.session.stream
  if st then
    if bytes then st:write(bytes) end
    st:cut()
  end
end

Sink.expire = Sink.cut -- the session ends with its stream
function Sink:interrupt() end

function Legacy:sse(req)
  if req.method == "POST" then
    return plain(405, "this is the legacy HTTP+SSE endpoint: GET it for an event stream", { Allow = "GET" })
  end
  if req.method ~= "GET" then return plain(405, "method not allowed", { Allow = "GET" }) end
  local principal, res = self.server.auth:check(req, self.route)
  if not principal then return res end
  local id = session.new_id()
  local st = req:stream(200, {})
  if not st then return end
  local s = session.new({ id = id, route = self.route, principal = principal,
                          subject = principal.subject, stream = st, legacy = true })
  self.sessions[id] = s
  st.on_close = function()
    s.ended = true
    self.sessions[id] = nil
  end
  st:event(self.messages_path .. "?sessionId=" .. id, nil, "endpoint")
end

function Legacy:message(req)
  if req.method ~= "POST" then return plain(405, "POST JSON-RPC messages here", { Allow = "POST" }) end
  local s = self.sessions[req.query.sessionId or ""]
  if not s then return plain(404, "unknown sessionId") end
  local principal, res = self.server.auth:check(req, self.route)
  if not principal then return res end
  if principal.subject ~= s.subject then return plain(404, "unknown sessionId") end
  s.last_seen = sys.now()
  local msg, err = json.try_decode(req.body)
  if type(msg) ~= "table" or json.is_array(msg) or msg.jsonrpc ~= "2.0" then
    return plain(400, "invalid JSON-RPC message: " .. tostring(err or "not a single message"))
  end
  req:respond(plain(202, "Accepted"))
  if msg.method == nil then
    dispatch.response(s, msg)
  elseif msg.id == nil then
    dispatch.notification(s, msg)
  else
    dispatch.request(self.server, s, msg, setmetatable({ session = s }, Sink), { principal = principal, req = req })
  end
end

function Legacy:resource_updated(uri)
  local n = 0
  for _, s in pairs(self.sessions) do
    if s.subscriptions[uri] and s.stream and s.stream.open then
      s.stream:event({ jsonrpc = "2.0", method = "notifications/resources/updated", params = { uri = uri } }, nil, "message")
      n = n + 1
    end
  end
  return n
end

function Legacy:sweep() end

return M
