-- mcptest.server.stdio: the engine over stdio (MCP 2025-11-25 "stdio"
-- transport): newline-delimited JSON-RPC read from fd 0 and written to
-- stdout, in the state's one mcptest.loop. One client, one session. Only
-- JSON-RPC goes to stdout; logs go to stderr. Used by `mcptest mcp-server`
-- and `mcptest serve --stdio` (the fixture).
--
-- Both eras (reference mcp-2026-07-28.md section 7.5): the first request
-- pins the process's era, initialize the legacy one, a request whose
-- _meta claims a protocolVersion (server/discover included) the modern
-- one; config.eras = "modern" answers initialize with -32022, "legacy"
-- treats every request as legacy. For testing a client's fallback, a
-- legacy-era method the engine does not know gets no answer
-- (config.unknown_method = "silent") or ends the process ("exit",
-- status 1) instead of -32601.
--
--   local t = stdio.new(server [, {max_line = bytes, input_fd = 0, output = file}])
--   t:run() -> serves until stdin ends (EOF) and the requests then in
--              flight are answered, then returns
--
-- A line longer than max_line (default server.config.max_body_bytes) is
-- dropped up to its newline and answered with a -32600 error with id null
-- naming the cap; a line that is not JSON gets -32700. Requests run in
-- their own coroutines (mcptest.server.context), so a long tool call does
-- not stop the transport reading (notifications/cancelled reaches it).
local json = require("mcptest.json")
local sys = require("mcptest.core.sys")
local loop = require("mcptest.loop")
local protocol = require("mcptest.protocol")
local session = require("mcptest.server.session")
local dispatch = require("mcptest.server.dispatch")
local lifecycle = require("mcptest.server.lifecycle")
local context = require("mcptest.server.context")

local M = {}

local READ_CHUNK = 65536

local Stdio = {}
Stdio.__index = Stdio

function M.new(server, opts)
  opts = opts or {}
  local self = setmetatable({
    server = server,
    fd = opts.input_fd or 0,
    out = opts.output or io.stdout,
    max_line = opts.max_line or server.config.max_body_bytes,
    buf = "",
    skipping = false, -- inside an over-long line: drop bytes up to its newline
    eof = false,
  }, Stdio)
  self.session = session.new({ id = "stdio", route = "stdio", principal = {} })
  self.era = nil -- pinned by the first request: "legacy" or "modern"
  self.modern_sessions = {} -- one per modern request (the era has no sessions)
  server.transports[#server.transports + 1] = self
  return self
end

function Stdio:write(msg)
  local ok, line = pcall(json.encode, msg)
  if not ok then
    io.stderr:write(self.server.log_prefix, ": cannot encode a message: ", tostring(line), "\n")
    return false
  end
  self.out:write(line, "\n")
  self.out:flush()
  return true
end

local function error_msg(code, message)
  return { jsonrpc = "2.0", id = json.null, error = { code = code, message = message } }
end

-- The sink of every request: everything is a line on stdout.
local Sink = {}
Sink.__index = Sink
function Sink:send(msg) return self.t:write(msg) end
function Sink:finish(msg)
  -- a modern request's session ends with it (a long-lived process would
  -- otherwise keep one per request it ever served)
  if self.modern then self.t.modern_sessions[self.session] = nil end
  if msg == nil then return end
  if self.modern and msg.result ~= nil then lifecycle.decorate(self.t.server, self.method, msg.result) end
  self.t:write(msg)
end
function Sink:http() return false end
function Sink:streaming() return true end
function Sink:cut() end
function Sink:expire() end
function Sink:interrupt() end

function Stdio:message(line)
  local msg, err = json.try_decode(line)
  if msg == nil then
    return self:write(error_msg(protocol.PARSE_ERROR or -32700,
      "Parse error: " .. (err and tostring(err.message) or "not JSON")))
  end
  local kind, code, why = dispatch.classify(msg)
  local s = self.session
  s.last_seen = sys.now()
  if kind == "request" then
    self:request(msg)
  elseif kind == "notification" then
    dispatch.notification(s, msg)
    -- the modern era cancels over stdio with notifications/cancelled too;
    -- the request it names runs in its own session
    for ms in pairs(self.modern_sessions) do
      if next(ms.running) == nil then self.modern_sessions[ms] = nil else dispatch.notification(ms, msg) end
    end
  elseif kind == "response" then
    dispatch.response(s, msg)
  else
    local id = type(msg) == "table" and (type(msg.id) == "string" or math.type(msg.id) == "integer") and msg.id
    local e = error_msg(code or protocol.INVALID_REQUEST, why or "Invalid Request")
    if id then e.id = id end
    self:write(e)
  end
end

local function rpc_error(id, code, message, data)
  return { jsonrpc = "2.0", id = id, error = { code = code, message = message, data = data } }
end

function Stdio:request(msg)
  local server, s = self.server, self.session
  local eras = server.config.eras
  if lifecycle.claim(msg) ~= nil and eras ~= "legacy" and self.era ~= "legacy" then
    self.era = "modern"
    local code, message, data = select(2, lifecycle.check_modern(server, msg, nil))
    if code then return self:write(rpc_error(msg.id, code, message, data)) end
    local ms = lifecycle.modern_session(session.new({ route = "stdio", principal = s.principal }), msg.params._meta)
    self.modern_sessions[ms] = true
    return dispatch.request(server, ms, msg, setmetatable({ t = self, session = ms, modern = true, method = msg.method }, Sink),
                            { principal = s.principal }, lifecycle.modern_handler(server, msg.method))
  end
  if eras == "modern" or self.era == "modern" then
    if msg.method == "initialize" then
      return self:write(rpc_error(msg.id, protocol.UNSUPPORTED_PROTOCOL_VERSION, "Unsupported protocol version",
        { supported = lifecycle.supported_versions(),
          requested = type(msg.params) == "table" and msg.params.protocolVersion or json.null }))
    end
    return self:write(rpc_error(msg.id, protocol.INVALID_PARAMS, "Invalid params: this process speaks the 2026-07-28 era;"
      .. " _meta " .. protocol.META_VERSION .. " is required"))
  end
  if msg.method == "initialize" then self.era = "legacy" end
  if not server.methods[msg.method] then
    local mode = server.config.unknown_method
    if mode == "silent" then return end
    if mode == "exit" then os.exit(1) end
  end
  dispatch.request(server, s, msg, setmetatable({ t = self, session = s }, Sink), { principal = s.principal })
end

-- Requests still running, in either era's sessions.
function Stdio:busy()
  if next(self.session.running) ~= nil then return true end
  for ms in pairs(self.modern_sessions) do
    if next(ms.running) ~= nil then return true end
    self.modern_sessions[ms] = nil -- answered: forget it
  end
  return false
end

-- Split what arrived into lines; enforce the cap on each whole line,
-- however the reads split it.
function Stdio:feed(data)
  local buf = self.buf .. data
  local start = 1
  while true do
    local nl = buf:find("\n", start, true)
    if not nl then break end
    if self.skipping then
      self.skipping = false
    else
      local line = buf:sub(start, nl - 1)
      if line:sub(-1) == "\r" then line = line:sub(1, -2) end
      if #line > self.max_line then
        self:too_long()
      elseif line:find("%S") then
        self:message(line)
      end
    end
    start = nl + 1
  end
  buf = buf:sub(start)
  -- +1: a pending CR of a line exactly at the cap
  if #buf > self.max_line + 1 then
    if not self.skipping then self:too_long() end
    self.skipping = true
    buf = ""
  elseif self.skipping then
    buf = ""
  end
  self.buf = buf
end

function Stdio:too_long()
  io.stderr:write(self.server.log_prefix, ": dropped a message longer than ", self.max_line, " bytes\n")
  self:write(error_msg(protocol.INVALID_REQUEST, "Invalid Request: message longer than " .. self.max_line
    .. " bytes (the line cap); send smaller messages"))
end

-- the loop source
function Stdio:fds() return self.eof and {} or { self.fd } end

function Stdio:on_ready()
  local data, err = sys.read(self.fd, READ_CHUNK)
  if data == nil then
    if err then io.stderr:write(self.server.log_prefix, ": reading stdin: ", err, "\n") end
    self.eof = true
    if self.buf:find("%S") and not self.skipping then
      local line = self.buf
      self.buf = ""
      self:message(line) -- a last line without its newline
    end
    loop.changed()
  elseif data ~= "" then
    self:feed(data)
  end
end

function Stdio:resource_updated(uri)
  if self.session.subscriptions[uri] then
    self:write({ jsonrpc = "2.0", method = "notifications/resources/updated", params = { uri = uri } })
    return 1
  end
  return 0
end

function Stdio:sweep() end

-- Serve until stdin ends and the requests in flight then have been
-- answered (`printf ... | mcptest mcp-server` gets every answer; a client
-- that wants us gone sooner sends SIGTERM, the stdio shutdown of MCP).
-- SIGINT/SIGTERM end it at once: requests still running are cancelled.
function Stdio:run()
  loop.register(self)
  while not sys.interrupted() and (not self.eof or self:busy()) do loop.step(1) end
  loop.unregister(self)
  for _, ctx in pairs(self.session.running) do context.cancel(ctx) end
  for ms in pairs(self.modern_sessions) do
    for _, ctx in pairs(ms.running) do context.cancel(ctx) end
  end
  self.session.ended = true
end

return M
