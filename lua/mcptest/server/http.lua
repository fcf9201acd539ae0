-- mcptest.server.http: the HTTP side of the server engine, over
-- mcptest.core.httpd (libmicrohttpd, docs/fixture.md "How it is built").
-- It owns the daemon and its place in mcptest.loop, routes requests by
-- exact path, and hands handlers request tables and SSE streams. It knows
-- nothing of MCP.
--
--   local h = http.new(who, opts)   who: {log_prefix, label} (mcptest.server.guard)
--     opts: port, max_body_bytes, http_timeout, max_connections, verbose
--   h:route(path, handler)     handler(req) -> response | nil (it took the
--                              request over and answers later)
--   h:fallback(handler)        for paths without a route, tried in order;
--                              nil means "not mine"; then 404
--   h.filter = fn(req) -> true  runs before routing; true when it answered
--                              or deferred the request (h:handle(req) later)
--   h:start() -> url | nil, err     h:stop()     h:handle(req)
--   h.stats = {requests, sse_cuts, resumptions}
--
-- req = {id, method, path, query_string, query (name -> first value),
--        headers (lower-case names), body, remote, too_large, t0}
--   req:respond{status, headers, body}  req:stream(status, headers) -> Stream
--   req:drop()  req:raw(bytes)  req.answered  req.on_gone (the client left)
-- Stream: write(bytes), event(data [, id [, event]]), finish(), cut(),
--   on_close(stream) (called once, whoever ended it), open
--
-- The loop calls the daemon after every poll (a timed source: libmicrohttpd's
-- own timeout caps the wait). An answer written outside that call (from a
-- timer, a task, a client in the same process) "kicks" the source: its
-- timeout becomes 0, so the next step sends it at once. A script's client
-- and an engine can thus share one loop.
local httpd = require("mcptest.core.httpd")
local sys = require("mcptest.core.sys")
local loop = require("mcptest.loop")
local json = require("mcptest.json")
local url = require("mcptest.url")
local guard = require("mcptest.server.guard")
local protocol = require("mcptest.protocol")

local now = sys.now

local M = {}

-- A query string into name -> first value; a piece with a malformed
-- escape is kept as it came.
function M.parse_query(s)
  local q = {}
  if s == nil or s == "" then return q end
  for piece in s:gmatch("[^&]+") do
    local k, v = piece:match("^([^=]*)=?(.*)$")
    k, v = url.form_decode(k) or k, url.form_decode(v) or v
    if q[k] == nil then q[k] = v end
  end
  return q
end

-- ===== requests and streams =====

local Request = {}
Request.__index = Request

local Stream = {}
Stream.__index = Stream

function Request:respond(res)
  if self.answered then return false end
  self.answered = true
  local h = self.http
  h:log_request(self, res.status or 200)
  if not h.d then return false end
  h.kicked = true
  return h.d:respond(self.id, res.status or 200, res.headers, res.body or "")
end

function Request:drop()
  if self.answered then return false end
  self.answered = true
  self.http:log_request(self, "dropped")
  self.http.kicked = true
  return self.http.d ~= nil and self.http.d:drop(self.id)
end

-- Write bytes that are not HTTP at all, then close.
function Request:raw(bytes)
  if self.answered then return false end
  self.answered = true
  self.http:log_request(self, "garbage")
  self.http.kicked = true
  return self.http.d ~= nil and self.http.d:raw(self.id, bytes)
end

-- Start a streaming answer (SSE); returns a Stream, or nil.
function Request:stream(status, headers)
  if self.answered then return nil end
  self.answered = true
  local h = self.http
  local hd = { ["Content-Type"] = "text/event-stream", ["Cache-Control"] = "no-cache, no-transform",
               ["X-Accel-Buffering"] = "no" }
  for k, v in pairs(headers or {}) do hd[k] = v end
  h.kicked = true
  if not h.d or not h.d:stream(self.id, status or 200, hd) then return nil end
  h:log_request(self, (status or 200) .. " stream")
  local s = setmetatable({ http = h, id = self.id, open = true, req = self, events = 0 }, Stream)
  h.streams[self.id] = s
  return s
end

function Stream:write(data)
  if not self.open then return false end
  self.http.kicked = true
  local ok = self.http.d ~= nil and self.http.d:write(self.id, data)
  if not ok then self:closed() end
  return ok
end

-- One SSE event: data may be a table (JSON-encoded) or a string.
function Stream:event(data, id, event)
  local parts = {}
  if id then parts[#parts + 1] = "id: " .. id .. "\n" end
  if event then parts[#parts + 1] = "event: " .. event .. "\n" end
  if type(data) == "table" then data = json.encode(data) end
  parts[#parts + 1] = "data: " .. data:gsub("\n", "\ndata: ") .. "\n\n"
  self.events = self.events + 1
  return self:write(table.concat(parts))
end

-- End the stream: politely (the final chunk), or how = "cut" (no final
-- chunk: the client sees a broken transfer).
function Stream:finish(how)
  if not self.open then return end
  self.http.kicked = true
  if self.http.d then self.http.d:finish(self.id, how) end
  self:closed()
end

function Stream:cut()
  if self.open then self.http.stats.sse_cuts = self.http.stats.sse_cuts + 1 end
  self:finish("cut")
end

-- Called once when the stream ends, whoever ended it.
function Stream:closed()
  if not self.open then return end
  self.open = false
  self.http.streams[self.id] = nil
  if self.on_close then self.on_close(self) end
end

-- ===== the HTTP server =====

local Http = {}
Http.__index = Http

function M.new(who, opts)
  return setmetatable({
    who = who, opts = opts,
    routes = {},       -- exact path -> handler(req)
    fallbacks = {},    -- handlers for unrouted paths, in order
    streams = {},      -- request id -> open Stream
    pending = {},      -- request id -> Request still unanswered
    stopping = false,
    -- counters (the fixture shows them at GET /; tests check that a cut or
    -- a resumption happened)
    stats = { requests = 0, sse_cuts = 0, resumptions = 0 },
  }, Http)
end

function Http:route(path, handler) self.routes[path] = handler end
function Http:fallback(handler) self.fallbacks[#self.fallbacks + 1] = handler end

function Http:log_request(req, status)
  if self.opts.verbose then
    io.stderr:write(string.format("%s: %s %s -> %s (%.1f ms)\n", self.who.log_prefix, req.method, req.path,
      tostring(status), (now() - req.t0) * 1000))
  end
  self.pending[req.id] = nil
end

function Http:guard(req, fn, ...) return guard.call(self.who, req, "in the " .. self.who.label, fn, ...) end

-- Start listening; returns the base URL (no trailing slash), or nil, err.
function Http:start()
  local o = self.opts
  local d, err = httpd.start{ port = o.port, max_body = o.max_body_bytes, timeout = o.http_timeout,
                              max_connections = o.max_connections, verbose = o.verbose }
  if not d then return nil, err end
  self.d = d
  self.port = d:port()
  self.url = "http://127.0.0.1:" .. self.port
  local fd = d:fd()
  self.source = {
    fds = function() return { fd } end,
    on_ready = function() end,                  -- on_timeout pumps after every poll
    timeout = function()                        -- libmicrohttpd's own deadline
      if self.kicked then return 0 end
      return d:timeout()
    end,
    on_timeout = function() self:pump() end,
  }
  loop.register(self.source)
  return self.url
end

-- Let the daemon do its I/O and dispatch what arrived, until quiet.
function Http:pump()
  local d = self.d
  if not d then return end
  for _ = 1, 16 do
    self.kicked = false -- this run sends what was written so far
    local reqs, closed = d:run()
    for i = 1, #closed do
      local id = closed[i]
      local s = self.streams[id]
      if s then self:guard(nil, s.closed, s) end
      local r = self.pending[id]
      if r then
        self.pending[id] = nil
        r.answered = true
        if r.on_gone then self:guard(nil, r.on_gone, r) end
      end
    end
    if #reqs == 0 then break end
    for i = 1, #reqs do self:dispatch(reqs[i]) end
    if not self.d then break end
  end
end

function Http:dispatch(raw)
  local req = setmetatable(raw, Request)
  req.http = self
  req.t0 = now()
  self.pending[req.id] = req
  self.stats.requests = self.stats.requests + 1
  self:guard(req, self.accept, self, req)
end

-- The start of every request: query, size limit, the filter, then routing.
function Http:accept(req)
  req.query = M.parse_query(req.query_string)
  if req.too_large then
    return req:respond(guard.jsonrpc_error(413, protocol.INVALID_REQUEST,
      "request body larger than " .. self.opts.max_body_bytes .. " bytes"))
  end
  if self.filter and self.filter(req) then return end
  return self:handle(req)
end

function Http:handle(req)
  local h = self.routes[req.path]
  local res
  if h then
    res = h(req)
  else
    for _, fb in ipairs(self.fallbacks) do
      res = fb(req)
      if res ~= nil or req.answered then break end
    end
    if res == nil and not req.answered then
      res = { status = 404, headers = { ["Content-Type"] = "application/json" },
              body = json.encode({ error = "not found", path = req.path }) }
    end
  end
  if res and not req.answered then req:respond(res) end
end

-- Every open stream (keep-alives).
function Http:each_stream(fn)
  for _, s in pairs(self.streams) do fn(s) end
end

-- Stop: refuse new work, close every connection, leave the loop.
function Http:stop()
  self.stopping = true
  if self.source then loop.unregister(self.source); self.source = nil end
  if self.d then self.d:close(); self.d = nil end
end

return M
