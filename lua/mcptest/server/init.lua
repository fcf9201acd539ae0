-- mcptest.server: the MCP server engine. It serves the tools, resources
-- and prompts its caller gives, over Streamable HTTP (and the legacy
-- HTTP+SSE transport) on 127.0.0.1, in the state's one mcptest.loop. The
-- fixture (mcptest.fixture.*) is one caller; this module and the ones
-- under mcptest.server never require the fixture.
--
--   local server = require("mcptest.server")
--   local srv = server.new{
--     config = {...},          settings; server.DEFAULTS fills the gaps
--     catalog = {...},         tools, resources, prompts (mcptest.server.methods)
--     server_info = {...},     default protocol.server_info("mcptest-server", ...)
--     label = "server",        names ids of our requests ("server-1"), the
--                              default logger, the 500 message
--     log_prefix = "mcptest server",   stderr lines start with it
--     auth = {check = fn(self, req, route) -> principal | nil, response},
--                              default: everyone, principal {}; a principal's
--                              subject binds its sessions
--     authorize_tool = fn(ctx, tool),         before every tools/call
--     call_tool = fn(ctx, tool, args) -> result   (default tool.run(ctx, args))
--     filter = fn(req) -> true,  before routing (mcptest.server.http)
--     on_start = fn(srv),      once listening (srv.url known), before any
--                              request is served: mount what needs the URL
--   }
--   srv:streamable_http(path [, route])      srv:legacy_sse(sse_path, messages_path)
--   srv:route(path, handler)                 srv:fallback(handler)
--   srv:start() -> url | nil, err            srv:run([until_fn])   srv:stop()
--   srv:serve_stdio()                        serve stdin/stdout until end of input
--                                            (mcptest.server.stdio; no HTTP)
--   srv:after(seconds, fn [, req]) -> timer  (guarded; req gets a 500 if fn raises)
--   srv:resource_updated(uri) -> sessions notified
--   srv.methods   method -> handler(ctx, params): add or replace methods
--   srv.config, srv.url, srv.port, srv.stats, srv.http
local loop = require("mcptest.loop")
local protocol = require("mcptest.protocol")
local guard = require("mcptest.server.guard")
local http = require("mcptest.server.http")
local methods = require("mcptest.server.methods")
local streamable_http = require("mcptest.server.streamable_http")
local legacy_sse = require("mcptest.server.legacy_sse")

local M = {}

M.DEFAULTS = {
  port = 0,                       -- 0: any free port
  max_body_bytes = 1024 * 1024,   -- larger request bodies get 413
  http_timeout = 30,              -- seconds an idle connection is kept
  max_connections = 4096,
  verbose = false,                -- one line per request on stderr (never secrets)
  page_size = 50,                 -- items per page of every list method
  session_ttl = 3600,             -- seconds of inactivity before a session expires
  max_sessions = 10000,
  response_mode = "auto",         -- "auto": JSON unless the call streams; "sse": always SSE
  keepalive_interval = 15,        -- seconds between ": keepalive" comments on open streams
  sse_retry_ms = 500,             -- the retry: field sent before the server closes a stream
  event_log_size = 256,           -- events kept per stream for Last-Event-ID replay
  max_sleep_seconds = 300,        -- caps ctx:sleep, hence every wait a request can ask for
  client_request_timeout = 60,    -- seconds ctx:client_request waits for the answer
  allowed_origins = {},           -- besides http(s)://127.0.0.1|localhost|[::1] on any port
  eras = "both",                  -- protocol eras served: "both", "modern" (2026-07-28) or "legacy"
  unknown_method = "error",       -- stdio, legacy era: "error" (-32601), "silent" or "exit"
}

local EVERYONE = { check = function() return {} end }

local Server = {}
Server.__index = Server

function M.new(opts)
  opts = opts or {}
  local cfg = {}
  for k, v in pairs(M.DEFAULTS) do cfg[k] = v end
  for k, v in pairs(opts.config or {}) do cfg[k] = v end
  local catalog = opts.catalog or {}
  local self = setmetatable({
    config = cfg,
    catalog = catalog,
    index = methods.index(catalog),
    methods = methods.for_catalog(catalog),
    server_info = opts.server_info or protocol.server_info("mcptest-server", "mcptest server"),
    label = opts.label or "server",
    log_prefix = opts.log_prefix or "mcptest server",
    auth = opts.auth or EVERYONE,
    authorize_tool = opts.authorize_tool,
    call_tool = opts.call_tool,
    on_start = opts.on_start,
    transports = {},
    timers = setmetatable({}, { __mode = "k" }), -- live timers, cancelled by stop()
  }, Server)
  self.http = http.new(self, cfg)
  self.http.filter = opts.filter
  self.stats = self.http.stats
  return self
end

function Server:route(path, handler) self.http:route(path, handler) end
function Server:fallback(handler) self.http:fallback(handler) end

function Server:streamable_http(path, route)
  local t = self.streamable
  if not t then
    t = streamable_http.new(self)
    self.streamable = t
    self.transports[#self.transports + 1] = t
  end
  t:mount(path, route)
  return t
end

function Server:legacy_sse(sse_path, messages_path)
  local t = legacy_sse.new(self)
  t:mount(sse_path, messages_path)
  self.transports[#self.transports + 1] = t
  return t
end

-- Run fn after seconds, guarded: an error is logged and, when req is
-- given and still unanswered, answered 500; the server keeps serving.
function Server:after(seconds, fn, req)
  local t
  t = loop.after(seconds, function()
    self.timers[t] = nil
    guard.call(self, req, "in a timer", fn)
  end)
  self.timers[t] = true
  return t
end

function Server:resource_updated(uri)
  local n = 0
  for _, t in ipairs(self.transports) do n = n + t:resource_updated(uri) end
  return n + require("mcptest.server.listen").resource_updated(self, uri) -- modern listeners
end

-- Start listening; returns the base URL (no trailing slash), or nil, err.
function Server:start()
  local u, err = self.http:start()
  if not u then return nil, err end
  self.url, self.port = u, self.http.port
  if self.on_start then self.on_start(self) end
  -- housekeeping: keep-alives find dead streams; idle sessions expire
  local function tick()
    if self.http.stopping then return end
    self:after(self.config.keepalive_interval, tick) -- first: an error below must not end the ticks
    for _, t in ipairs(self.transports) do t:sweep() end
    self.http:each_stream(function(s)
      if s.keepalive ~= false then s:write(": keepalive\n\n") end
    end)
  end
  self:after(self.config.keepalive_interval, tick)
  return u
end

-- Serve until stop() (or until until_fn() is true).
function Server:run(until_fn)
  while not self.http.stopping do
    if until_fn and until_fn() then break end
    loop.step(1)
  end
end

function Server:serve_stdio()
  return require("mcptest.server.stdio").new(self):run()
end

function Server:stop()
  for t in pairs(self.timers) do t:cancel() end
  self.http:stop()
end

M.is_interrupt = guard.is_interrupt

return M
