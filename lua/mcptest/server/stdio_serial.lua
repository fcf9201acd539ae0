-- mcptest.server.stdio_serial: the engine over stdio for `mcptest serve
-- --stdio` (the fixture): one client, one
-- newline-delimited JSON-RPC message per line on stdin, answers on stdout.
-- Both eras (reference mcp-2026-07-28.md section 7.5): the first request
-- pins the process's era, initialize the legacy one, a request whose
-- _meta claims a protocolVersion (server/discover included) the modern
-- one; config.eras = "modern" answers initialize with -32022 and keeps
-- reading, "legacy" treats every request as legacy. A legacy-era method
-- the engine does not know gets -32601, or, for testing a client's
-- fallback, no answer (config.unknown_method = "silent") or an exit
-- ("exit", status 1).
--
-- Requests are served one at a time: the next line is read once the
-- current request is answered (a handler that sleeps keeps the loop
-- stepping; one waiting for the client's answer to a server request reads
-- stdin for it). That is enough for a test server and needs no
-- non-blocking stdin.
--   stdio.serve(server) -> returns at end of input
-- (mcptest.server.stdio is the concurrent transport `mcptest mcp-server`
-- uses; the two are to become one: this one's era pinning and test modes
-- on that one's non-blocking reads.)
local json = require("mcptest.json")
local loop = require("mcptest.loop")
local protocol = require("mcptest.protocol")
local session = require("mcptest.server.session")
local dispatch = require("mcptest.server.dispatch")
local lifecycle = require("mcptest.server.lifecycle")
local context = require("mcptest.server.context")

local M = {}

local function write(msg)
  io.stdout:write(json.encode(msg), "\n")
  io.stdout:flush()
end

local function rpc_error(id, code, message, data)
  write({ jsonrpc = "2.0", id = id, error = { code = code, message = message, data = data } })
end

-- The sink of one request: every message is a line; no HTTP.
local Sink = {}
Sink.__index = Sink
function Sink:send(msg) write(msg); return true end
function Sink:finish(msg)
  self.done = true
  if msg == nil then return end
  if self.modern and msg.result ~= nil then lifecycle.decorate(self.server, self.method, msg.result) end
  write(msg)
end
function Sink:http() return false end
function Sink:streaming() return true end
function Sink:cut() end
function Sink:expire() end
function Sink:interrupt() end

function M.serve(server)
  local cfg = server.config
  local eras = cfg.eras
  local principal = { provider = "none" }
  local legacy = session.new({ id = "stdio", route = "stdio", principal = principal })
  local era -- pinned by the first request
  local current

  local function request(msg)
    local claim = lifecycle.claim(msg)
    if claim ~= nil and eras ~= "legacy" and era ~= "legacy" then
      era = "modern"
      local code, message, data = select(2, lifecycle.check_modern(server, msg, nil))
      if code then return rpc_error(msg.id, code, message, data) end
      if msg.method == "subscriptions/listen" then -- it never ends: one request at a time cannot hold it
        return rpc_error(msg.id, protocol.METHOD_NOT_FOUND, "Method not found: subscriptions/listen is not"
          .. " served over the fixture's stdio (requests are served one at a time); use its HTTP routes")
      end
      local s = lifecycle.modern_session(session.new({ route = "stdio", principal = principal }), msg.params._meta)
      current = setmetatable({ server = server, method = msg.method, modern = true, done = false }, Sink)
      return dispatch.request(server, s, msg, current, { principal = principal },
                              lifecycle.modern_handler(server, msg.method))
    end
    if eras == "modern" or era == "modern" then
      if msg.method == "initialize" then
        return rpc_error(msg.id, protocol.UNSUPPORTED_PROTOCOL_VERSION, "Unsupported protocol version",
          { supported = lifecycle.supported_versions(),
            requested = type(msg.params) == "table" and msg.params.protocolVersion or json.null })
      end
      return rpc_error(msg.id, protocol.INVALID_PARAMS, "Invalid params: this process speaks the 2026-07-28 era;"
        .. " _meta " .. protocol.META_VERSION .. " is required")
    end
    if msg.method == "initialize" then era = "legacy" end
    if not server.methods[msg.method] then
      if cfg.unknown_method == "silent" then return end
      if cfg.unknown_method == "exit" then os.exit(1) end
    end
    current = setmetatable({ server = server, method = msg.method, done = false }, Sink)
    return dispatch.request(server, legacy, msg, current, { principal = principal })
  end

  local function handle(line)
    if line:match("^%s*$") then return end
    local msg, err = json.try_decode(line)
    if msg == nil then return rpc_error(json.null, protocol.PARSE_ERROR, "Parse error: " .. tostring(err.message)) end
    local kind, code, why = dispatch.classify(msg)
    if not kind then return rpc_error(json.null, code, why) end
    if kind == "request" then return request(msg) end
    if kind == "notification" then return dispatch.notification(legacy, msg) end
    if kind == "response" then return dispatch.response(legacy, msg) end
  end

  while true do
    if current and not current.done then
      if next(legacy.pending) then -- a handler waits for the client's answer
        local line = io.stdin:read("l")
        if not line then break end
        handle(line)
      else
        loop.step(0.05)
      end
    else
      current = nil
      local line = io.stdin:read("l")
      if not line then break end
      handle(line)
    end
  end
  for _, ctx in pairs(legacy.running) do context.cancel(ctx) end
end

return M
