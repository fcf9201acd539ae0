-- mcptest.client: the MCP client core, JSON-RPC request plumbing over any
-- transport. It knows nothing of how a session starts (mcptest.lifecycle
-- does) nor how bytes move (mcptest.transport.*). Requests look blocking:
-- request() steps the shared loop until the answer arrives, answering
-- server requests and recording notifications meanwhile.
local json = require("mcptest.json")
local loop = require("mcptest.loop")
local errors = require("mcptest.errors")
local secrets = require("mcptest.secrets")
local protocol = require("mcptest.protocol")
local sys = require("mcptest.core.sys")

local Client = {}
-- c.stderr is read when asked for: what a stdio server has written on
-- stderr up to that moment (the transport drains its pipe first), so it is
-- never a request behind. Everything else is a method; M.new copies the
-- methods into each client, so a method call does not run this function
-- (a method patched into Client later does not reach existing clients).
Client.__index = function(c, k)
  local v = Client[k]
  if v ~= nil or k ~= "stderr" then return v end
  local t = rawget(c, "transport")
  if not (t and t.stderr_text) then return "" end
  if t.drain_stderr then t:drain_stderr() end
  return t:stderr_text()
end

local M = { Client = Client, default_timeout = 30, default_max_notifications = 10000 }

-- Every open client, weakly held, so the runner can close what scripts forget.
local open_clients = setmetatable({}, { __mode = "k" })
M.open_clients = open_clients
-- Set by the runner to a set while a file runs: every client opened
-- meanwhile is held (never collected) until the runner closes it at the
-- file's end.
M.held = nil

local now = sys.now
local interrupted = sys.interrupted

local function check_timeout(t, where)
  if t ~= nil and (type(t) ~= "number" or t ~= t or t <= 0 or t == math.huge) then
    errors.raise("usage", where .. ": timeout must be a positive number of seconds, got " .. tostring(t))
  end
end

function M.new(transport, opts)
  check_timeout(opts.timeout, "mcp.connect")
  local mn = opts.max_notifications
  if mn ~= nil and (math.type(mn) ~= "integer" or mn < 0) then
    errors.raise("usage", "mcp.connect: max_notifications must be a non-negative integer, got " .. tostring(mn))
  end
  local c = setmetatable({
    transport = transport,
    next_id = 0,
    waiting = {},        -- id -> true (or the task waiting) while a request is in flight
    sent_at = {}, wire = {}, -- id -> send time / wire seconds, while observed (load mode)
    wire_sums = {},      -- coroutine -> wire seconds summed for its observed call
    received = 0,        -- responses dispatched so far (a task's wait tells progress by it)
    responses = {},      -- id -> response message, until taken
    handlers = {},       -- method -> function(params, client)
    notifications = {},  -- the notifications, in order of arrival, up to max_notifications
    max_notifications = opts.max_notifications or M.default_max_notifications,
    notifications_dropped = 0, -- how many arrived past that cap
    stray = {},          -- responses whose id matched nothing
    timeout = opts.timeout or M.default_timeout,
    -- fields the request path reads start as false, not nil: a nil field
    -- is looked up again in the Client class (a metatable miss per read)
    verbose = opts.verbose or M.default_verbose or false,
    closed = false,
    handler_error = false, -- the first error a handler raised, until a request re-raises it
    envelope = { jsonrpc = "2.0" },
  }, Client)
  for name, fn in pairs(Client) do
    if type(fn) == "function" and name:sub(1, 2) ~= "__" then rawset(c, name, fn) end
  end
  for method, fn in pairs(opts.on or {}) do c.handlers[method] = fn end
  M.attach(c, transport)
  open_clients[c] = true
  return c
end

-- Put a transport under client c (at creation; and when a stdio server
-- that exited on the era probe is started again).
function M.attach(c, transport)
  c.transport = transport
  transport.on_message = function(msg) c:dispatch(msg) end
  -- a transport that failed (one request, or all of them), or has a
  -- request waiting for service(), wakes the tasks waiting, so they act at once
  transport.on_wake = function(id)
    if id ~= nil then return c:wake(id) end
    for wid in pairs(c.waiting) do c:wake(wid) end
  end
  open_clients[c] = true
  if M.held then M.held[c] = true end
  return c
end

-- callers check self.verbose first (the quiet path makes no call)
function Client:log(dir, msg)
  -- the connection first: with several clients, which one spoke
  local t = self.transport
  secrets.log(dir, " ", t and t.description or "?", ": ", json.encode(msg), "\n")
end

function Client:send(msg)
  if self.verbose then self:log(">>", msg) end
  self.transport:send(msg)
end

-- Answer a server->client request with the registered handler.
function Client:answer(msg)
  local handler = self.handlers[msg.method]
  local reply
  if msg.method == "ping" and not handler then
    reply = { jsonrpc = "2.0", id = msg.id, result = json.object() }
  elseif not handler then
    reply = { jsonrpc = "2.0", id = msg.id,
              error = { code = -32601, message = "mcptest: no handler for " .. tostring(msg.method)
                        .. " (give one in connect{on = {...}} or c:on())" } }
  else
    local ok, result = pcall(handler, msg.params or json.object(), self)
    if ok then
      reply = { jsonrpc = "2.0", id = msg.id, result = result == nil and json.object() or result }
    elseif type(result) == "table" and result.code and not errors.is(result) then
      -- a deliberate JSON-RPC error: error{ code = -32000, message = "declined" }
      reply = { jsonrpc = "2.0", id = msg.id, error = { code = result.code,
                message = tostring(result.message), data = result.data } }
    else
      reply = { jsonrpc = "2.0", id = msg.id,
                error = { code = -32603, message = "handler for " .. msg.method .. " failed: " .. tostring(result) } }
      self:handler_failed(result)
    end
  end
  if not self.transport:failure() and not self.closed then
    -- a server that exited cannot take the reply; that must not stop the
    -- delivery of what it wrote before (the answer may follow)
    local ok, err = pcall(self.send, self, reply)
    if not ok and not (errors.is(err) and err.kind == "transport") then error(err, 0) end
  end
end

function Client:dispatch(msg)
  if msg.jsonrpc == nil and msg[1] ~= nil then
    -- a batch (JSON-RPC 2.0; 2025-03-26 allows them): each message in
    -- turn, on every transport
    for i = 1, #msg do
      if type(msg[i]) == "table" then self:dispatch(msg[i]) end
    end
    return
  end
  if self.verbose then self:log("<<", msg) end
  if msg.method ~= nil then
    if msg.id ~= nil then return self:answer(msg) end
    local notes = self.notifications
    if #notes < self.max_notifications then
      notes[#notes + 1] = msg
    else -- bounded: a server flooding notifications cannot take the memory
      self.notifications_dropped = self.notifications_dropped + 1
    end
    local h = self.handlers[msg.method]
    if h then
      local ok, err = pcall(h, msg.params or json.object(), self)
      if not ok then self:handler_failed(err) end
    end
    return
  end
  local id = msg.id
  self.received = self.received + 1
  local w = id ~= nil and self.waiting[id]
  if w then
    self.waiting[id] = nil
    self.responses[id] = msg
    local t0 = self.sent_at[id]
    -- the transport's own measure (curl's, over HTTP) when it has one
    if t0 then self.sent_at[id] = nil; self.wire[id] = self.transport.wire or (now() - t0) end
    if w ~= true then loop.wake(w) end
  elseif id == json.null and type(msg.error) == "table" then
    -- an error the server could not tie to a request (parse error, invalid
    -- request): it answers the oldest request in flight, at once
    local oldest
    for wid in pairs(self.waiting) do
      if type(wid) == "number" and (oldest == nil or wid < oldest) then oldest = wid end
    end
    if oldest then
      local ow = self.waiting[oldest]
      self.waiting[oldest] = nil
      self.responses[oldest] = msg
      local t0 = self.sent_at[oldest]
      if t0 then self.sent_at[oldest] = nil; self.wire[oldest] = now() - t0 end
      if ow ~= true then loop.wake(ow) end
    end
    self.stray[#self.stray + 1] = msg
  else
    self.stray[#self.stray + 1] = msg
  end
end

-- A handler raised (an assertion inside it failed): the server got -32603;
-- the script's current or next request raises the same error, so the test
-- that owns the handler fails rather than passing silently.
function Client:handler_failed(err)
  if not self.handler_error then self.handler_error = err end
  for wid in pairs(self.waiting) do self:wake(wid) end
end

-- The responses whose id matched no request, for messages.
local function describe_stray(stray)
  local parts = {}
  for i = math.max(1, #stray - 4), #stray do
    local id = stray[i].id
    if id == json.null then parts[#parts + 1] = "null"
    elseif type(id) == "string" then parts[#parts + 1] = string.format("%q (a string)", id)
    else parts[#parts + 1] = tostring(id) end
  end
  return table.concat(parts, ", ")
end

-- Send a request; returns its id.
function Client:start(method, params)
  if type(method) ~= "string" or method == "" then
    errors.raise("usage", "c:request: the method must be a non-empty string, got " .. tostring(method))
  end
  if self.closed then errors.raise("usage", "the client is closed", { method = method }) end
  local id = self.next_id + 1
  self.next_id = id
  -- one envelope per client, refilled: the transport encodes it at once
  local env = self.envelope
  env.id, env.method, env.params = id, method, params
  if self.verbose then self:log(">>", env) end
  -- load mode's wire time starts as the transport takes the request (as
  -- wrk's: the transfer's setup and the write are the request's)
  local t0 = M.observer and now()
  self.transport:send(env)
  env.params = nil
  if t0 then self.sent_at[id] = t0 end
  -- waited for only once sent: a message that cannot be encoded leaves
  -- no id behind (nothing is read while a message is sent)
  self.waiting[id] = true
  return id
end

-- A response, or a failure of the transport, for request id: the task
-- waiting for it (if a task waits) runs again.
function Client:wake(id)
  local w = self.waiting[id]
  if w ~= true and w ~= nil then loop.wake(w) end
end

-- Wait for the response to id; returns the response message or raises
-- transport/timeout errors. The main script steps the loop while it
-- waits; a task (loop.spawn) suspends until its answer, a failure or a
-- half-second tick wakes it, so other tasks run meanwhile.
function Client:await(id, method, timeout, deadline)
  local responses, transport = self.responses, self.transport
  timeout = timeout or self.timeout
  deadline = deadline or now() + timeout
  local task = loop.task()
  local left = deadline - now()
  while true do
    local herr = self.handler_error
    if herr then
      self.handler_error = false
      self.waiting[id], self.sent_at[id] = nil, nil
      error(herr, 0)
    end
    local msg = responses[id]
    if msg then
      responses[id] = nil
      -- a request of several exchanges (input_required rounds, a resend)
      -- sums their wire times: the client's work between them is not on it
      local w = self.wire[id]
      if w then
        self.wire[id] = nil
        -- summed per coroutine: calls of other tasks on this client overlap
        local sums, co = self.wire_sums, coroutine.running()
        local s = sums[co]
        if s then sums[co] = s + w end
      end
      return msg
    end
    -- signals reach code running in coroutines too (the hook is per thread)
    if interrupted() then error("interrupted!", 0) end
    -- a transport with work to do outside its callbacks (HTTP: a new
    -- session after a 404) gets it done here, where requests may nest
    if transport.needs_service then transport:service() end
    local failed = transport:failure(id) -- id: HTTP fails one request alone
    if failed then
      self.waiting[id], self.sent_at[id] = nil, nil
      -- a copy naming this request (a transport's failure is shared by all)
      local e = errors.new(failed.kind, failed.message, { method = method })
      for k, v in pairs(failed) do if e[k] == nil then e[k] = v end end -- url, http_status, curl_code...
      error(e, 0)
    end
    if left <= 0 then
      self.waiting[id], self.sent_at[id] = nil, nil
      pcall(self.send, self, { jsonrpc = "2.0", method = "notifications/cancelled",
                               params = { requestId = id, reason = "mcptest: request timed out" } })
      local strays = #self.stray > 0 and ("; the server sent responses whose id matched no request: "
        .. describe_stray(self.stray)) or ""
      if self.notifications_dropped > 0 then
        strays = strays .. string.format("; meanwhile it sent %d notifications (%d past the cap of %d,"
          .. " counted in c.notifications_dropped)", #self.notifications + self.notifications_dropped,
          self.notifications_dropped, self.max_notifications)
      end
      errors.raise("timeout", string.format("no response to %s within %g s from %s%s",
        method, timeout, transport.description, strays), { method = method })
    end
    -- an idle half second: let the transport check its peer is still there
    local wait = left < 0.5 and left or 0.5
    local served
    if task then
      if self.waiting[id] then self.waiting[id] = task end
      local before = self.received
      loop.suspend(wait)
      served = self.received ~= before
    else
      served = loop.step(wait)
    end
    if not served and transport.check then transport:check() end
    left = deadline - now()
  end
end

-- Turn a response into result, or an error object.
local function outcome(msg, method)
  if msg.error ~= nil then
    local e = msg.error
    if type(e) ~= "table" then
      return false, errors.new("protocol", "malformed JSON-RPC error in response to " .. method)
    end
    return false, errors.new("jsonrpc", tostring(e.message), { code = e.code, data = e.data, method = method,
      -- either era's code for it (protocol.is_resource_not_found)
      resource_not_found = method == "resources/read" and protocol.is_resource_not_found(e.code, e.data) or nil })
  end
  if msg.result == nil then
    return false, errors.new("protocol", "response to " .. method .. " has neither result nor error")
  end
  return true, msg.result
end

M.outcome = outcome
M.check_timeout = check_timeout

-- M.observer = fn(client, method, params, seconds, result | nil, err | nil, wire):
-- seconds is the whole call in Lua (encoding, waking, decoding); wire its
-- time on the wire (k6's http_req_duration): over HTTP curl's, from the
-- request written to the response's last byte read, else from the send to
-- the response's dispatch; summed over the call's exchanges (input_required rounds), so
-- the client's work between them is not in it; the whole call when no
-- response came.
-- called after every request when set (load mode's metrics); unset, it
-- costs the request path one field read and a tail call.
M.observer = nil

-- fn(self, method, params, opts), timed and reported to M.observer (the
-- modern era's request goes through it too).
function M.observed(fn, self, method, params, opts)
  local t0 = now()
  -- wire_sums[co] sums this call's exchanges; a number already when this call
  -- runs inside another's (a tools/list before a retry), which adds it
  -- (per coroutine: tasks may have calls in flight on one client at once)
  local sums, co = self.wire_sums, coroutine.running()
  local outer = sums[co]
  sums[co] = 0
  local ok, res = pcall(fn, self, method, params, opts)
  local wire = sums[co] or 0
  if outer then sums[co] = outer + wire else sums[co] = nil end
  local observe = M.observer
  if observe then
    local full = now() - t0
    observe(self, method, params, full, ok and res or nil, not ok and res or nil, wire > 0 and wire or full)
  end
  if not ok then error(res, 0) end
  return res
end

-- The one request path of the legacy era: send, wait, read. (A
-- modern-era client has mcptest.client.lifecycle's modern_request in
-- its place: the envelope, resultType and input_required rounds.)
local function request(self, method, params, opts)
  local timeout = opts and opts.timeout
  if timeout then check_timeout(timeout, method) end
  local msg = self:await(self:start(method, params), method, timeout)
  local result = msg.result
  if result ~= nil and msg.error == nil then return result end
  local _, err = outcome(msg, method)
  error(err, 0)
end

-- c:request(method, params[, opts]) -> result; raises mcptest.Error.
function Client:request(method, params, opts)
  if M.observer == nil then return request(self, method, params, opts) end
  return M.observed(request, self, method, params, opts)
end

-- c:try(method, params) -> true, result | false, error (never raises for
-- server or transport failures).
function Client:try(method, params, opts)
  local ok, res = pcall(self.request, self, method, params, opts)
  if ok then return true, res end
  if errors.is(res) then return false, res end
  error(res, 0)
end

function Client:notify(method, params)
  self:send({ jsonrpc = "2.0", method = method, params = params })
end

function Client:on(method, handler)
  self.handlers[method] = handler
end

-- Follow nextCursor until the server stops giving one.
function Client:list_all(method, field, params, opts)
  local items, seen = json.array(), {}
  local p = params or {}
  for _ = 1, 100000 do
    local res = self:request(method, next(p) and p or nil, opts)
    local page = res[field]
    if type(page) ~= "table" then
      errors.raise("protocol", method .. " result has no '" .. field .. "' array", { method = method })
    end
    for i = 1, #page do items[#items + 1] = page[i] end
    local cursor = res.nextCursor
    if cursor == nil or cursor == json.null or cursor == "" then return items end
    if seen[cursor] then
      errors.raise("protocol", method .. " returned the cursor " .. string.format("%q", cursor)
        .. " twice: the server's pagination loops", { method = method })
    end
    seen[cursor] = true
    p = { cursor = cursor }
  end
  errors.raise("protocol", method .. ": more than 100000 pages", { method = method })
end

-- opts: { timeout = seconds } for each page's request
function Client:list_tools(opts) return self:list_all("tools/list", "tools", nil, opts) end
function Client:list_resources(opts) return self:list_all("resources/list", "resources", nil, opts) end
function Client:list_resource_templates(opts)
  return self:list_all("resources/templates/list", "resourceTemplates", nil, opts)
end
function Client:list_prompts(opts) return self:list_all("prompts/list", "prompts", nil, opts) end

function Client:call_tool(name, args, opts)
  -- a params table per call: tasks may have calls in flight on one
  -- client, and a call's params are read again after it was sent (load
  -- mode's tags, input_required rounds)
  return self:request("tools/call", { name = name, arguments = args or json.object() }, opts)
end

function Client:read_resource(uri) return self:request("resources/read", { uri = uri }) end
function Client:get_prompt(name, args)
  return self:request("prompts/get", { name = name, arguments = args })
end
function Client:complete(ref, argument)
  return self:request("completion/complete", { ref = ref, argument = argument })
end
function Client:ping() return self:request("ping") end
function Client:set_log_level(level) return self:request("logging/setLevel", { level = level }) end
function Client:subscribe(uri) return self:request("resources/subscribe", { uri = uri }) end
function Client:unsubscribe(uri) return self:request("resources/unsubscribe", { uri = uri }) end
-- list-changed notifications: the legacy era's come unasked (HTTP: the
-- GET stream); the modern era opens subscriptions/listen (lifecycle)
function Client:listen() return json.object() end

-- the skills extension (mcptest.client.skills; docs/lua-api.md)
function Client:list_skills(opts) return require("mcptest.client.skills").list(self, opts) end
function Client:load_skill(entry, opts) return require("mcptest.client.skills").load(self, entry, opts) end

function Client:close()
  if self.closed then return end
  self.closed = true
  open_clients[self] = nil
  if M.held then M.held[self] = nil end -- a retry loop keeps no closed client
  self.transport:close()
end
Client.__close = Client.close
-- A finalizer never runs the event loop (a nested loop inside whatever
-- allocation triggered the collection could lose a request in flight):
-- it releases the transport's handles without I/O. The runner holds every
-- client a file opens (M.held) and closes them properly at its end.
Client.__gc = function(c)
  if c.closed then return end
  c.closed = true
  open_clients[c] = nil
  local t = c.transport
  if t.release then pcall(t.release, t) end
end

-- Close the clients held since hold() and stop holding them.
function M.hold() M.held = {} end
function M.close_held()
  local held = M.held
  M.held = {}
  for c in pairs(held or {}) do pcall(Client.close, c) end
end

function M.close_all()
  for c in pairs(open_clients) do pcall(Client.close, c) end
end

return M
