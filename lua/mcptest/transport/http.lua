-- mcptest.transport.http: MCP's Streamable HTTP transport (2025-11-25),
-- with the legacy HTTP+SSE transport (2024-11-05) as a fallback
-- (mcptest.transport.legacy_sse). Same interface as the stdio transport
-- (send, on_message, failure, close, description), plus:
--   t:failure(id)            the error that ended request id alone (HTTP
--                            fails requests one by one: a 500, a cut stream)
--   t:on_initialized(v)      hook from mcptest.lifecycle: the session is up
--   t:set_modern(v, params)  hook from mcptest.lifecycle: speak the 2026-07-28
--                            era (v) or stop (nil): every request POST carries
--                            MCP-Protocol-Version, Mcp-Method and, for
--                            tools/call, prompts/get and resources/read,
--                            Mcp-Name; tools/call mirrors the arguments
--                            params[tool] names as Mcp-Param-*; no session, GET stream or DELETE; no
--                            client notification is POSTed (a cancellation
--                            closes the request's stream); a 4xx whose body is
--                            a JSON-RPC error answers its request in-band
--   t.needs_service, t:service()   work the client runs outside callbacks
--                            (a new session after a 404)
--   t.restart_session        function set by mcp.connect: run initialize again
--   t.events                 session events (expiry), c.notifications-style
--
-- Every client message is its own POST; replies come as JSON or as an SSE
-- stream (which may carry server requests and notifications first). After
-- initialize, a standalone GET stream carries server-initiated messages.
-- Messages never hold secrets: header values are redacted in verbose logs,
-- and t.url, which every message names, is the URL as http.shown_url shows
-- it (t.target, the URL requested, may hold credentials or a key).
local http = require("mcptest.transport.curl")
local json = require("mcptest.json")
local errors = require("mcptest.errors")
local secrets = require("mcptest.secrets")
local sse = require("mcptest.transport.sse")

local M = {}
local Http = {}
-- The header lists (they hold the credentials) and the request options
-- that carry them stay out of the transport table, as H(t).name: a script
-- that prints a client's transport never meets them.
local H = secrets.hidden(Http, { base_headers = true, init_headers = true, post_headers = true,
  get_headers = true, plain_get_headers = true, post_opts = true, post_set = true, extra_sets = true })
-- The header list of a kind ("init", "post", "get", "plain_get") for the
-- legacy transport, which sends with these.
function Http:header_list(kind) return H(self)[kind .. "_headers"] end
M.Http = Http

local RESERVED = { ["content-type"] = true, accept = true, ["mcp-session-id"] = true,
                   ["mcp-protocol-version"] = true, ["last-event-id"] = true,
                   ["mcp-method"] = true, ["mcp-name"] = true }
local MAX_ERROR_BODY = 4096
-- A JSON response body larger than this fails its request (max_message_size):
-- a server sending an endless body must not take the machine's memory.
M.MAX_MESSAGE = 64 * 1024 * 1024
-- Authorization attempts per request (renewals, step-ups), then the message.
local MAX_AUTH_TRIES = 3
local RESUME_ATTEMPTS = 3     -- reconnects in a row that bring no event
-- A POST stream that carried its response should end at once; one that
-- stays open is closed by mcptest after LINGER seconds (the spec lets the
-- client close it; a server wanting to send more uses the GET stream), or
-- at once when more than MAX_LINGER such streams are open.
local LINGER = 0.25
local MAX_LINGER = 4

-- Seconds before reconnecting a stream: the server's retry (ms), else
-- 1 s, 1.5 s, 2.25 s ... for attempt 1, 2, 3 ...
local function reconnect_delay(retry, attempt)
  if retry then return retry / 1000 end
  return math.min(1.5 ^ (attempt - 1), 30)
end
M.reconnect_delay = reconnect_delay

local snippet = errors.snippet

-- st: a POST's state, with the method and id of the message it carried.
local function describe_msg(st)
  if st.method then
    if st.msg_id ~= nil then return st.method .. " (id " .. tostring(st.msg_id) .. ")" end
    return st.method
  end
  return "the response to server request " .. tostring(st.msg_id)
end

-- ===== opening =====

-- opts: url, headers, tls = { ca_file, insecure }, timeout, verbose,
-- reinitialize (default true). auth: the credential chain's object for
-- this server (mcptest.auth.for_server): the transport asks it for its
-- headers and hands it every 401/403 (the seam; see auth/init.lua).
function M.open(opts, auth)
  local url = opts.url
  if type(url) ~= "string" or not url:match("^https?://[^/]") then
    errors.raise("usage", "url must be an http:// or https:// URL, got " .. snippet(url))
  end
  local shown = http.shown_url(url)
  local mm = opts.max_message_size
  if mm ~= nil and (math.type(mm) ~= "integer" or mm < 1) then
    errors.raise("usage", "max_message_size must be a positive integer (bytes), got " .. tostring(mm))
  end
  local t = setmetatable({
    url = shown,        -- for messages; target is what is requested
    target = url,
    description = "MCP server at " .. shown,
    kind = "streamable-http",
    timeout = opts.timeout or 30, -- mcp.connect fills in the run's defaults
    verbose = opts.verbose,
    reinitialize = opts.reinitialize ~= false,
    auth = auth,
    renewals = {},      -- kind ("session", "auth") -> what to renew, while queued
    auth_gen = 0,       -- times the auth object renewed the credentials
    inflight = {},      -- request id -> POST state
    req_errors = {},    -- request id -> Error, until the client takes it
    events = {},        -- session events, in order
    retry_queue = {},
    posts = {},         -- every running POST state, requests too (to abort on close)
    lingering = {},     -- answered POST streams the server keeps open
    max_event = opts.max_event_size, -- SSE event size limit (nil: sse.MAX_EVENT)
    max_message = opts.max_message_size or M.MAX_MESSAGE, -- a JSON response body's limit
    -- fields the request path reads start as false, not nil: a nil field
    -- is looked up again in the Http class (a metatable miss per read)
    failed = false, legacy = false, modern = false, closing = false, needs_service = false,
    wire = false, param_headers = false, on_wake = false,
  }, Http)
  if not t.verbose then t.verbose = false end
  local lines, dropped = http.header_lines(opts.headers)
  local base = {}
  for _, line in ipairs(lines) do
    local name = line:match("^([^:]+)"):lower()
    if RESERVED[name] then
      t:note("ignoring the " .. line:match("^([^:]+)") .. " header from options: mcptest sets it itself")
    elseif name ~= "authorization" then -- the auth object sends credentials
      base[#base + 1] = line
      -- any header a user gives may carry a credential (X-Api-Key): a
      -- server echoing it back is scrubbed from messages and logs
      secrets.register(line:match("^[^:]+:%s*(.*)$"), "value of the " .. line:match("^([^:]+)") .. " header")
    end
  end
  for _, name in ipairs(dropped) do
    t:note("dropped the " .. name .. " header: the variable in its value is unset or empty")
  end
  H(t).base_headers = base
  -- a credential in the URL's query (?api_key=, ?token=) is one too
  for name, value in (url:match("%?([^#]*)") or ""):gmatch("([^&=]+)=([^&]*)") do
    if name:lower():find("key") or name:lower():find("token") or name:lower():find("secret")
       or name:lower():find("auth") or name:lower():find("pass") or name:lower():find("sig") then
      secrets.register(value, "value of the URL's " .. name .. " parameter")
      local decoded = value:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end)
      if decoded ~= value then secrets.register(decoded, "value of the URL's " .. name .. " parameter") end
    end
  end
  t.curl = http.apply_tls({ url = url, method = "POST", connect_timeout = t.timeout }, opts.tls, url)
  t:rebuild_headers()
  return t
end

-- Options for one more request, sharing URL, TLS and timeouts.
-- Headers plus what the auth object adds to each request (a DPoP proof
-- names the method and URL), when it adds anything.
function Http:with_request_auth(headers, method, url)
  local a = self.auth
  if not (a and a.request_headers) then return headers end
  local extra = a:request_headers(method, url or self.target)
  if not extra or #extra == 0 then return headers end
  local out = table.move(headers, 1, #headers, 1, {})
  for i = 1, #extra do out[#out + 1] = extra[i] end
  return out
end

function Http:curl_opts(method, headers, url)
  if headers then headers = self:with_request_auth(headers, method, url) end
  local base = self.curl
  return { method = method, url = url or self.target, headers = headers,
           connect_timeout = base.connect_timeout, ca_file = base.ca_file, insecure = base.insecure,
           cert_file = base.cert_file, key_file = base.key_file }
end

-- Header lists: init_headers (a POST outside any session: initialize, and
-- every legacy POST), plain_get_headers (a GET outside any session: the
-- legacy stream), post_headers and get_headers (in the session).
function Http:rebuild_headers()
  local h = H(self)
  local base = table.move(h.base_headers, 1, #h.base_headers, 1, {})
  local creds = self.auth and self.auth:headers() or {}
  for i = 1, #creds do base[#base + 1] = creds[i] end
  local post = { "Content-Type: application/json", "Accept: application/json, text/event-stream" }
  local get = { "Accept: text/event-stream" }
  for i = 1, #base do post[#post + 1] = base[i]; get[#get + 1] = base[i] end
  local init, plain_get = {}, {}
  for i = 1, #post do init[i] = post[i] end
  for i = 1, #get do plain_get[i] = get[i] end
  h.plain_get_headers = plain_get
  if self.session_id then
    post[#post + 1] = "Mcp-Session-Id: " .. self.session_id
    get[#get + 1] = "Mcp-Session-Id: " .. self.session_id
  end
  if self.protocol_version then
    post[#post + 1] = "MCP-Protocol-Version: " .. self.protocol_version
    get[#get + 1] = "MCP-Protocol-Version: " .. self.protocol_version
  end
  h.init_headers, h.post_headers, h.get_headers = init, post, get
  h.post_set = false -- post_headers made into curl's list, when first sent
  h.extra_sets = { n = 0 } -- post_headers plus a request's own lines, the same (see post)
end

-- The GET headers of the session plus Last-Event-ID (resuming a stream).
function Http:get_headers_from(last_id)
  local headers = {}
  for i, h in ipairs(H(self).get_headers) do headers[i] = h end
  headers[#headers + 1] = "Last-Event-ID: " .. last_id
  return headers
end

-- ===== logging (verbose only, secrets redacted) =====

function Http:note(text)
  if self.verbose then secrets.log("mcptest: http: ", text, "\n") end
end

function Http:log_headers(method, url, lines)
  if not self.verbose then return end
  local shown = {}
  for i, line in ipairs(lines) do
    local name, value = line:match("^([^:]+):%s*(.*)$")
    shown[i] = name .. ": " .. http.redact_header(name, value)
  end
  secrets.log("mcptest: http: ", method, " ", url, "\n    ", table.concat(shown, "\n    "), "\n")
end

-- ===== sending =====

-- The headers of a modern request, derived from its body.
local NAMED = { ["tools/call"] = "name", ["prompts/get"] = "name", ["resources/read"] = "uri",
                ["tasks/get"] = "taskId", ["tasks/update"] = "taskId", ["tasks/cancel"] = "taskId" }
-- params_by_tool: tool name -> its x-mcp-header arguments (what the
-- client's tools/list found), mirrored as Mcp-Param-{Name}.
local protocol -- (required on first use)
-- The lines of the requests that mirror no argument depend on the method
-- and the name alone: kept (never changed: a request keeps them as
-- st.extra), for the last few hundred pairs.
local plain_lines, n_plain = {}, 0
local function modern_headers(msg, params_by_tool)
  protocol = protocol or require("mcptest.protocol")
  local method = msg.method
  local field = NAMED[method]
  local p = msg.params
  local v = field and type(p) == "table" and p[field]
  local spec = params_by_tool and method == "tools/call" and params_by_tool[v]
  local mirrors = spec and type(p.arguments) == "table"
  local by = not mirrors and (v == nil or v == false or type(v) == "string") and plain_lines[method]
  local kept = by and by[v or false]
  if kept then return kept end
  local extra = { "Mcp-Method: " .. method }
  if v ~= nil and v ~= false then extra[2] = "Mcp-Name: " .. protocol.encode_header(v) end
  if mirrors then
    for _, e in ipairs(spec) do
      local a = p.arguments
      for i = 1, #e.path do a = type(a) == "table" and a[e.path[i]] or nil end
      local hv = protocol.param_header_value(a)
      if hv then extra[#extra + 1] = "Mcp-Param-" .. e.name .. ": " .. hv end
    end
  elseif v == nil or v == false or type(v) == "string" then
    if n_plain >= 512 then plain_lines, n_plain = {}, 0 end
    by = plain_lines[method]
    if not by then by = {}; plain_lines[method] = by end
    by[v or false], n_plain = extra, n_plain + 1
  end
  return extra
end

function Http:send(msg)
  if self.failed then error(self.failed, 0) end
  if self.legacy then return self.legacy:send(msg) end
  if msg.method == "notifications/cancelled" and type(msg.params) == "table" then
    self:abandon(msg.params.requestId)
  end
  if self.modern then
    -- 2026-07-28 defines no client message but requests over HTTP
    if msg.id == nil or msg.method == nil then return end
    self:post(msg.method, msg.id, json.encode(msg), nil, nil, modern_headers(msg, self.param_headers))
    return
  end
  -- the client reuses its message tables: keep only what later messages need
  local st = self:post(msg.method, msg.id, json.encode(msg))
  if msg.method == "notifications/initialized" then return self:await_initialized(st) end
end

-- The session is only up once the server accepted notifications/initialized:
-- wait for that POST (bounded by the timeout) and raise what refused it.
function Http:await_initialized(st)
  local sys, loop = require("mcptest.core.sys"), require("mcptest.loop")
  local deadline = sys.now() + self.timeout
  while not st.finished and not self.failed and sys.now() < deadline do
    if self.needs_service then break end -- a 404: the client restarts the session
    loop.step(deadline - sys.now())
  end
  if st.error then error(st.error, 0) end
end

-- The client gave up on a request (timeout): stop its stream.
function Http:abandon(id)
  local st = id ~= nil and self.inflight[id]
  if st then
    st.finished = true
    self.inflight[id] = nil
    if st.req then st.req:abort() end
    if st.timer then st.timer:cancel() end
    self.posts[st] = nil
    self.lingering[st] = nil
  end
end

-- POST one message (its method and id, and its JSON).
function Http:post(method, msg_id, body, retried, auth_tries, extra)
  local is_init = method == "initialize"
  local st = { -- every field named here, so the table is sized once
    method = method, msg_id = msg_id, body = body, is_init = is_init, retried = retried or false,
    id = (method ~= nil and msg_id ~= nil) and msg_id or nil,
    session = (not is_init) and self.session_id or nil,
    req = false, mode = false, parser = false, answered = false, finished = false, t = self,
    chunks = false, first = false, size = 0, -- the body read so far (json, error)
    auth_gen = self.auth_gen, -- which credentials it carries (see renew_auth)
    auth_tries = auth_tries or 0, -- times it was sent again after a 401/403
    extra = extra or false, -- header lines of this request alone (modern era)
  }
  if st.id ~= nil then self.inflight[st.id] = st end
  local h = H(self)
  local headers = is_init and h.init_headers or h.post_headers
  local set = false
  if extra and not is_init and #extra <= 2 and method ~= "server/discover"
     and not (self.auth and self.auth.request_headers) then
    -- the modern era's Mcp-Method and Mcp-Name: the session's lines plus
    -- these two become curl's list once per pair, for the first 8 pairs of a
    -- session (a VU reading a new URI each time keeps 8 lists, 4 KB)
    local key = extra[2] and (extra[1] .. "\n" .. extra[2]) or extra[1]
    local sets = h.extra_sets
    set = sets[key]
    if not set then
      local full = table.move(headers, 1, #headers, 1, {})
      for i = 1, #extra do full[#full + 1] = extra[i] end
      set = http.core.header_set(full)
      if sets.n < 8 then sets[key], sets.n = set, sets.n + 1 end
    end
  elseif extra then
    headers = table.move(headers, 1, #headers, 1, {})
    for i = 1, #extra do headers[#headers + 1] = extra[i] end
  end
  if is_init or (extra and method == "server/discover") then self:log_headers("POST", self.url, headers)
  elseif self.verbose then self:note("POST " .. self.url .. " " .. describe_msg(st)) end
  local o = h.post_opts
  if not o then
    o = self:curl_opts("POST")
    h.post_opts = o
  end
  local lines = set or self:with_request_auth(headers, "POST")
  if lines == h.post_headers then -- the session's own lines: made into curl's list once
    local ps = h.post_set
    if not ps then ps = http.core.header_set(lines); h.post_set = ps end
    lines = ps
  end
  o.headers, o.body, o.ctx = lines, body, st
  local req, err = http.start(o, Http.post_cb)
  o.body, o.ctx = nil, nil
  if not req then
    self:fail_request(st, err)
    return st
  end
  st.req = req
  self.posts[st] = true
  return st
end

-- The curl callback of every POST (and resumption GET): ctx is its state.
function Http.post_cb(req, chunk, done, err, st)
  return st.t:on_post(st, req, chunk, done, err)
end

-- The SSE callback of every POST stream.
function Http.stream_event_cb(data, ev, _, st)
  return st.t:on_stream_event(st, data, ev)
end

-- ===== per-request failure =====

function Http:fail_request(st, err)
  if st.finished then return end
  st.finished = true
  self.posts[st] = nil
  self.lingering[st] = nil
  if st.req and st.req:running() then st.req:abort() end
  if st.timer then st.timer:cancel(); st.timer = nil end
  err.url = err.url or self.url
  if st.id ~= nil then
    if self.inflight[st.id] == st then self.inflight[st.id] = nil end
    self.req_errors[st.id] = err
    if self.on_wake then self.on_wake(st.id) end
    self:note("request " .. describe_msg(st) .. " failed: " .. tostring(err.message))
  else
    -- a notification or a response the server refused: nobody waits for
    -- it, so it goes into c.events (and fails the connect for initialized)
    st.error = err
    self:note("POST of " .. describe_msg(st) .. " failed: " .. tostring(err.message))
    self:record_event("messageRejected", { method = st.method, id = st.msg_id,
      http_status = err.http_status, message = "POST of " .. describe_msg(st) .. " failed: "
      .. tostring(err.message) })
    if st.method == "notifications/initialized" then
      err.message = "the server refused notifications/initialized, so the session did not start: "
        .. tostring(err.message)
      self:after_initialized()
    end
  end
end

-- A curl failure before any response: connect, TLS, DNS, timeout.
function Http:transfer_failed(st, err, method, url)
  err.message = http.describe_failure(err, method, url or self.url)
    .. " (sending " .. describe_msg(st) .. ")"
  return self:fail_request(st, err)
end

-- ===== responses to POSTs =====

function Http:on_post(st, req, chunk, done, err)
  if st.finished then return end
  local mode = st.mode
  if not mode then
    local status, ct, kind = req:info()
    if status == 0 then -- no response at all
      if done then return self:transfer_failed(st, err or errors.new("transport", "no response"),
                                               st.resumed and "GET" or "POST") end
      return
    end
    mode = self:classify(st, req, status, ct or "", kind)
    if st.finished then return end
  end
  if chunk then
    if mode == "sse" then
      local ok, perr = st.parser:feed(chunk)
      if st.finished then return end
      if not ok then
        return self:fail_request(st, errors.new("protocol", self.url .. " sent an SSE stream that mcptest"
          .. " cannot take while answering " .. describe_msg(st) .. ": " .. perr.message
          .. "; raise max_event_size in the connect options if such events are expected",
          { http_status = st.status }))
      end
      if st.answered and not done then self:linger(st) end
    elseif mode == "json" then
      st.size = st.size + #chunk
      if st.size > self.max_message then
        return self:fail_request(st, errors.new("protocol", self.url .. " sent a JSON response to "
          .. describe_msg(st) .. " larger than " .. self.max_message .. " bytes (max_message_size);"
          .. " raise max_message_size in the connect options if such answers are expected",
          { http_status = st.status }))
      end
      -- one chunk (the usual answer) is kept as it is: no table, no concat
      local first = st.first
      if first then st.chunks = { first, chunk }; st.first = false
      elseif st.chunks then st.chunks[#st.chunks + 1] = chunk
      else st.first = chunk end
    elseif mode == "error" then
      if st.size < MAX_ERROR_BODY then
        st.chunks[#st.chunks + 1] = chunk
        st.size = st.size + #chunk
      end
    end
  end
  if done then
    st.req_done = true
    return self:post_done(st, req, err)
  end
end

-- First sight of a response: status and content type decide the mode.
-- (kind: "json", "sse" or nil, as runtime/http.c's req:info() reads ct)
function Http:classify(st, req, status, ct, kind)
  st.status = status
  if self.verbose then
    self:note((st.resumed and "GET (resume) " or "POST ") .. "-> HTTP " .. status
      .. (ct ~= "" and (" " .. ct) or "") .. " for " .. describe_msg(st))
  end
  local mode
  if status >= 200 and status < 300 then
    if st.is_init then
      local sid = req:header("mcp-session-id")
      if sid and sid ~= "" then
        self.session_id = sid
        self:rebuild_headers()
      end
    end
    if status == 202 or st.id == nil then
      mode = "accepted"
    elseif kind == "sse" then
      mode = "sse"
      local old = st.parser
      st.parser = sse.new(Http.stream_event_cb, st, self.max_event)
      if old then st.parser.last_id, st.parser.id_buf, st.parser.retry = old.last_id, old.last_id, old.retry end
    elseif kind == "json" then
      mode = "json"
      st.chunks, st.first, st.size = false, false, 0
    else
      mode = "badtype"
      self:fail_request(st, errors.new("protocol", self.url .. " answered " .. describe_msg(st)
        .. " with HTTP " .. status .. " and Content-Type " .. (ct ~= "" and snippet(ct) or "(none)")
        .. "; a Streamable HTTP server must reply application/json or text/event-stream",
        { http_status = status }))
    end
  else
    mode = "error"
    st.chunks, st.size = {}, 0
  end
  st.mode = mode
  return mode
end

-- One message (or batch) from a response body or stream.
function Http:deliver(st, msg)
  if msg[1] ~= nil and msg.jsonrpc == nil then -- a batch
    for i = 1, #msg do
      if type(msg[i]) == "table" then self:deliver(st, msg[i]) end
      if st and st.finished and not st.answered then return end
    end
    return
  end
  if msg.method == nil and msg.id ~= nil then -- a response
    local id = msg.id
    if st and id == st.id then
      st.answered = true
      if self.inflight[id] == st then self.inflight[id] = nil end
    elseif self.inflight[id] then
      -- answered on another stream (the GET stream after a 202, a resumption)
      local other = self.inflight[id]
      other.answered = true
      self.inflight[id] = nil
      if other.mode == "sse" then self:linger(other)
      elseif other.mode ~= "accepted" then self:finish(other) end
    elseif st and st.id ~= nil and not st.answered then
      return self:fail_request(st, errors.new("protocol", self.url .. " sent a JSON-RPC response with id "
        .. json.encode(id) .. " while answering " .. describe_msg(st)
        .. "; that id matches no request in flight", {}))
    end
  elseif msg.method == nil and msg.error ~= nil and st and st.id ~= nil and not st.answered then
    -- an error without id on a request's own stream: it is that request's answer
    msg.id = st.id
    st.answered = true
    if self.inflight[st.id] == st then self.inflight[st.id] = nil end
  end
  local on = self.on_message
  if on then on(msg) end
end

function Http:on_stream_event(st, data, ev)
  if st.finished then return end
  st.progress = true
  if ev ~= "message" then
    self:note("ignoring an SSE event of type " .. snippet(ev, 40))
    return
  end
  local msg = json.try_decode(data)
  if type(msg) ~= "table" then
    return self:fail_request(st, errors.new("protocol", self.url .. " sent an SSE event that is not JSON"
      .. " while answering " .. describe_msg(st) .. ": " .. snippet(data)))
  end
  return self:deliver(st, msg)
end

function Http:post_done(st, req, err)
  if st.finished then return end
  local mode = st.mode
  if mode == "json" then
    local body = st.first or (st.chunks and table.concat(st.chunks)) or ""
    st.chunks, st.first = nil, nil
    if err then
      return self:fail_request(st, errors.new("transport", "the connection to " .. self.url
        .. " broke while reading the JSON reply to " .. describe_msg(st) .. ": " .. tostring(err.message)
        .. (err.curl_code == 27 and ("; " .. http.CURL_HINTS[27]) or ""),
        { curl_code = err.curl_code }))
    end
    local msg = json.try_decode(body)
    if type(msg) ~= "table" then
      return self:fail_request(st, errors.new("protocol", self.url .. " answered " .. describe_msg(st)
        .. " with invalid JSON: " .. (body == "" and "an empty body" or snippet(body)), { http_status = st.status }))
    end
    -- the transfer's time on the wire, for the client's load metrics
    -- (an SSE answer has none: the client times it itself)
    self.wire = req:wire_time()
    local ok, derr = pcall(self.deliver, self, st, msg)
    self.wire = false -- (a raise must not leave it for a later answer)
    if not ok then error(derr, 0) end
    if st.finished then return end
    if not st.answered then
      return self:fail_request(st, errors.new("protocol", self.url .. " answered " .. describe_msg(st)
        .. " with JSON that holds no response to it: " .. snippet(body), { http_status = st.status }))
    end
    self:finish(st)
  elseif mode == "sse" then
    local cut = st.parser:finish()
    if st.answered then return self:finish(st) end
    if self.closing then return end
    if st.parser.last_id ~= nil and not self.modern then return self:schedule_resume(st, cut, err) end
    return self:fail_request(st, errors.new("transport", "the event stream from " .. self.url
      .. " ended before the response to " .. describe_msg(st)
      .. (cut and " (cut in the middle of an event)" or "")
      .. (err and (": " .. tostring(err.message)) or "")
      .. (self.modern and "" or "; it sent no event id to resume from"),
      -- stream_cut: the 2026-07-28 client sends such a request again (new id)
      { curl_code = err and err.curl_code, stream_cut = true }))
  elseif mode == "accepted" then
    self.posts[st] = nil
    if st.id == nil then
      st.finished = true
      if st.method == "notifications/initialized" then self:after_initialized() end
    end
    -- a request answered 202: its response comes on another stream
  elseif mode == "error" then
    return self:http_error(st, req)
  end
end

function Http:finish(st)
  st.finished = true
  self.posts[st] = nil
  if not st.req_done and st.req then st.req:abort() end
end

-- An answered stream the server keeps open: close it after LINGER
-- seconds unless it ends by itself (keeping its connection for reuse).
function Http:linger(st)
  local lingering = self.lingering
  if lingering[st] then return end
  lingering[st] = require("mcptest.core.sys").now() + LINGER
  local n, oldest, oldest_at = 0, nil, math.huge
  for s, at in pairs(lingering) do
    if s.finished then lingering[s] = nil -- ended by itself (finish() leaves it here)
    else
      n = n + 1
      if at < oldest_at then oldest, oldest_at = s, at end
    end
  end
  if n > MAX_LINGER then self:end_lingering(oldest) end
  if not self.linger_timer then
    self.linger_timer = http.after(LINGER, function() return self:sweep_lingering() end)
  end
end

function Http:end_lingering(st)
  self.lingering[st] = nil
  if st.finished then return end
  self:note("closing the stream of " .. describe_msg(st) .. ": it stayed open after its response")
  self:finish(st)
end

function Http:sweep_lingering()
  self.linger_timer = nil
  local now, next_at = require("mcptest.core.sys").now(), nil
  for st, at in pairs(self.lingering) do
    if st.finished then self.lingering[st] = nil
    elseif at <= now then self:end_lingering(st)
    elseif not next_at or at < next_at then next_at = at end
  end
  if next_at and not self.closing then
    self.linger_timer = http.after(next_at - now, function() return self:sweep_lingering() end)
  end
end

-- ===== HTTP errors =====

local function error_body_message(body)
  if body == nil or body == "" then return nil end
  local msg = json.try_decode(body)
  if type(msg) == "table" and type(msg.error) == "table" and msg.error.message then
    return tostring(msg.error.message)
  end
  return snippet(body)
end

-- The auth failure for a 401/403 that will not be retried (legacy
-- transport, a notification): the chain's own message.
function Http:auth_error(status, req, method_desc, url)
  local ctx = { status = status, www_authenticate = req:header("www-authenticate"), url = url,
                dpop_nonce = req:header("dpop-nonce"), method_desc = method_desc, retried = true, final = true }
  local _, err = self.auth:on_challenge(ctx)
  return err
end

function Http:http_error(st, req)
  local status = st.status
  local body = st.chunks and table.concat(st.chunks) or ""
  local what = describe_msg(st)
  local verb = st.resumed and "GET (resuming the stream of " .. what .. ")" or what
  if status == 401 or status == 403 then
    if st.id == nil or st.auth_tries >= MAX_AUTH_TRIES then
      -- nobody waits to retry it, or it had its authorization attempts
      return self:fail_request(st, self:auth_error(status, req, what, self.url))
    end
    if st.auth_gen ~= self.auth_gen then
      -- sent before the credentials were last renewed: send it again with
      -- the new ones rather than renew once per refused request
      st.finished = true
      self.posts[st] = nil
      return self:post(st.method, st.msg_id, st.body, st.retried, st.auth_tries + 1, st.extra)
    end
    local ctx = { status = status, www_authenticate = req:header("www-authenticate"),
                  dpop_nonce = req:header("dpop-nonce"), url = self.url, method_desc = what,
                  attempt = st.auth_tries + 1, retried = st.auth_tries > 0 }
    return self:retry_after(st, "auth", ctx)
  end
  if self.modern and status >= 400 and status < 500 and st.id ~= nil then
    -- 2026-07-28 answers envelope and method errors with 4xx and a JSON-RPC body
    local msg = json.try_decode(body)
    if type(msg) == "table" and type(msg.error) == "table" and msg.result == nil then
      if msg.id == json.null or msg.id == nil then msg.id = st.id end
      if msg.id == st.id then
        self:deliver(st, msg)
        return self:finish(st)
      end
    end
  end
  if st.is_init and not self.initialized_once and not st.retried
     and (status == 400 or status == 404 or status == 405) then
    return self:fallback(st, status, error_body_message(body))
  end
  if status == 404 and st.session then
    return self:session_expired(st)
  end
  if status >= 300 and status < 400 then
    -- the query is not shown: a server may put a key there (?api_key=)
    local loc = req:header("location")
    loc = loc and http.shown_url(loc)
    return self:fail_request(st, errors.new("transport", self.url .. " answered " .. verb .. " with HTTP "
      .. status .. " redirect" .. (loc and (" to " .. loc) or "") .. "; mcptest does not follow redirects"
      .. " for MCP requests: connect to the final URL", { http_status = status, location = loc }))
  end
  local detail = error_body_message(body)
  return self:fail_request(st, errors.new("transport", self.url .. " answered " .. verb .. " with HTTP "
    .. status .. (detail and (": " .. detail) or ""), { http_status = status }))
end

-- ===== sessions =====

function Http:on_initialized(version)
  self.protocol_version = version
  self.initialized_once = true
  self.no_get = nil -- a new session may offer a GET stream the old one refused
  self:rebuild_headers()
  if not self.legacy then self.open_get_pending = true end
end

function Http:set_modern(version, param_headers)
  self.modern = version ~= nil
  self.param_headers = param_headers
  self.protocol_version = version
  self:rebuild_headers()
end

-- The notifications/initialized POST is done: open the GET stream.
function Http:after_initialized()
  if self.open_get_pending then
    self.open_get_pending = nil
    self:open_get_stream()
  end
end

function Http:record_event(name, params)
  params.url = self.url
  local ev = { jsonrpc = "2.0", method = "mcptest/" .. name, params = params, event = name }
  self.events[#self.events + 1] = ev
  if self.verbose then
    secrets.log("mcptest: ", self.url, ": ", params.message or name, "\n")
  end
end

-- A 404 to a request that carried the session id: the session is gone.
function Http:session_expired(st)
  self.posts[st] = nil
  if self.renewals.session or (st.session ~= self.session_id and self.session_id ~= nil) then
    -- a new session is (being) made already: just send again in it
    if self.renewals.session then return self:retry_after(st, "session", true) end
    st.finished = true
    return self:post(st.method, st.msg_id, st.body, true, nil, st.extra)
  end
  if not self.reinitialize or st.retried or not self.restart_session then
    self:record_event("sessionExpired", { reinitialized = false,
      message = "session expired (HTTP 404); not starting a new one" })
    return self:fail_request(st, errors.new("transport", "session expired: " .. self.url
      .. " answered HTTP 404 to " .. describe_msg(st) .. ", sent with the session id"
      .. (st.retried and " of a session started just before (it expired again)"
          or (self.reinitialize and "" or "; reinitialize = false, so mcptest does not start a new session")),
      { http_status = 404 }))
  end
  return self:retry_after(st, "session", true)
end

-- ===== retry once after a renewal =====

-- A request the server refused for a reason a renewal may cure (an expired
-- session; credentials the auth object may refresh): keep it, and let the
-- client run the renewal outside callbacks (service), where requests may
-- nest; then send it once more, or fail it with why the renewal failed.
function Http:retry_after(st, kind, what)
  st.finished = true
  self.posts[st] = nil
  if st.id ~= nil and self.inflight[st.id] == st then self.inflight[st.id] = nil end
  st.renewal = kind
  self.retry_queue[#self.retry_queue + 1] = st
  if not self.renewals[kind] then self.renewals[kind] = what end
  self.needs_service = true
  if st.id ~= nil and self.on_wake then self.on_wake(st.id) end -- a task waiting runs service()
end

-- Each renewal: true, or false and the error that ends the requests waiting on it.
function Http:renew_session()
  self:record_event("sessionExpired", { reinitialized = true,
    message = "session expired (HTTP 404); starting a new session and retrying" })
  self:close_get_stream()
  self.session_id, self.protocol_version = nil, nil
  self:rebuild_headers()
  local ok, err = pcall(self.restart_session)
  if not ok then
    return false, errors.new("transport", "session expired at " .. self.url
      .. " (HTTP 404) and a new session could not be started: " .. tostring(errors.is(err) and err.message or err),
      { http_status = 404 })
  end
  return true
end

function Http:renew_auth(ctx)
  local ok, err = self.auth:on_challenge(ctx)
  if not ok then return false, err end
  self:note("credentials renewed after HTTP " .. ctx.status .. "; retrying")
  self.auth_gen = self.auth_gen + 1
  self:rebuild_headers()
  return true
end

-- Run by the client outside callbacks: each queued renewal once, then send
-- again (once) what waited on it.
function Http:service()
  self.needs_service = false
  -- per kind: a new session's initialize refused with a 401 runs the auth
  -- renewal from inside the session renewal (a nested service())
  local renewing = self.renewing_kinds
  if not renewing then renewing = {}; self.renewing_kinds = renewing end
  local outcome = {}
  for _, kind in ipairs({ "session", "auth" }) do
    local what = self.renewals[kind]
    if what and not renewing[kind] then
      renewing[kind] = true
      local ok, err
      if kind == "session" then ok, err = self:renew_session() else ok, err = self:renew_auth(what) end
      renewing[kind] = false
      outcome[kind] = ok or err
      -- requests refused while it ran wait for the next renewal
      if self.renewals[kind] == what then self.renewals[kind] = nil end
    end
  end
  local queue, later = self.retry_queue, {}
  self.retry_queue = {}
  local restarted = 0
  for _, st in ipairs(queue) do
    local result = outcome[st.renewal]
    if result == nil then
      later[#later + 1] = st
    elseif result == true then
      restarted = restarted + 1
      if st.renewal == "auth" then
        self:post(st.method, st.msg_id, st.body, st.retried, st.auth_tries + 1, st.extra)
      else
        self:post(st.method, st.msg_id, st.body, true, st.auth_tries, st.extra)
      end
    else
      st.finished = false
      local e = errors.new(result.kind, result.message)
      for k, v in pairs(result) do if e[k] == nil then e[k] = v end end
      self:fail_request(st, e)
    end
  end
  if outcome.session == true then
    self:record_event("sessionRestarted", { message = "new session started; retrying "
      .. restarted .. " message(s)" })
  end
  for _, st in ipairs(later) do self.retry_queue[#self.retry_queue + 1] = st end
  if #later > 0 then self.needs_service = true end
end

-- ===== resuming a POST stream (GET + Last-Event-ID) =====

function Http:schedule_resume(st, cut, err)
  if st.progress then st.attempts = 0 end
  st.progress = false
  st.attempts = (st.attempts or 0) + 1
  if st.attempts > RESUME_ATTEMPTS then
    return self:fail_request(st, errors.new("transport", "the event stream from " .. self.url
      .. " for " .. describe_msg(st) .. " kept closing without the response ("
      .. RESUME_ATTEMPTS .. " reconnects with Last-Event-ID brought nothing new)"))
  end
  local delay = reconnect_delay(st.parser.retry, st.attempts)
  self:note("the stream for " .. describe_msg(st) .. " ended before its response"
    .. (cut and " (cut mid-event)" or "") .. (err and (" [" .. tostring(err.message) .. "]") or "")
    .. "; resuming with GET and Last-Event-ID in " .. math.floor(delay * 1000) .. " ms")
  st.req = nil
  st.timer = http.after(delay, function()
    st.timer = nil
    if st.finished or self.closing then return end
    self:resume(st)
  end)
end

function Http:resume(st)
  local headers = self:get_headers_from(st.parser.last_id)
  st.mode, st.resumed, st.session = nil, true, self.session_id
  local o = self:curl_opts("GET", headers)
  o.ctx = st
  local req, err = http.start(o, Http.post_cb)
  if not req then return self:fail_request(st, err) end
  st.req = req
end

-- ===== the standalone GET stream =====

function Http:open_get_stream()
  if self.get or self.closing or self.no_get or self.legacy then return end
  local g = { attempts = 0 }
  g.parser = sse.new(function(data, ev) return self:on_get_event(g, data, ev) end, nil, self.max_event)
  self.get = g
  self:start_get(g)
end

function Http:start_get(g)
  local headers = g.parser.last_id and self:get_headers_from(g.parser.last_id) or H(self).get_headers
  g.status = nil
  if self.verbose then self:note("GET " .. self.url .. " (standalone stream)") end
  local req, err = http.start(self:curl_opts("GET", headers),
    function(req, chunk, done, e) return self:on_get(g, req, chunk, done, e) end)
  g.req = req
  if not req then -- as if it had closed at once: retried, then given up, with a note
    g.start_error = err
    return self:get_ended(g, err)
  end
end

function Http:close_get_stream()
  local g = self.get
  if not g then return end
  self.get = nil
  g.closed = true
  if g.req then g.req:abort() end
  if g.timer then g.timer:cancel() end
end

function Http:on_get(g, req, chunk, done, err)
  if g.closed then return end
  if not g.status then
    local status = req:status()
    if status == 0 then
      if done then return self:get_ended(g, err) end
      return
    end
    g.status = status
    local ct = (req:header("content-type") or ""):lower()
    if status == 405 or (status == 404 and not self.session_id) then
      self:note("no standalone GET stream (HTTP " .. status .. ")")
      self.no_get = true
      return self:close_get_stream()
    end
    if status ~= 200 or not ct:find("^text/event%-stream") then
      -- until a new session starts (on_initialized clears it)
      self:note("the standalone GET stream was refused: HTTP " .. status .. " " .. ct
        .. (status == 404 and "; the session may have expired" or ""))
      self.no_get = true
      return self:close_get_stream()
    end
    if self.verbose then self:note("standalone GET stream open") end
  end
  if chunk then
    local ok, perr = g.parser:feed(chunk)
    if not ok and not g.closed then
      self:note("closing the standalone GET stream: " .. perr.message)
      self:record_event("getStreamClosed", { message = "the standalone GET stream sent what mcptest"
        .. " cannot take: " .. perr.message })
      return self:close_get_stream()
    end
  end
  if done and not g.closed then return self:get_ended(g, err) end
end

function Http:on_get_event(g, data, ev)
  if g.closed then return end
  g.attempts = 0
  if ev ~= "message" then return end
  local msg = json.try_decode(data)
  if type(msg) ~= "table" then
    self:note("ignoring an event that is not JSON on the GET stream: " .. snippet(data))
    return
  end
  return self:deliver(nil, msg)
end

function Http:get_ended(g, err)
  g.parser:finish()
  g.req = nil
  if self.closing or g.closed then return end
  g.attempts = g.attempts + 1
  if g.attempts > 2 then
    self:note("the standalone GET stream closed" .. (err and (": " .. tostring(err.message)) or "")
      .. "; not reconnecting")
    self.get = nil
    return
  end
  local delay = reconnect_delay(g.parser.retry, g.attempts)
  self:note("the standalone GET stream closed; reconnecting in " .. math.floor(delay * 1000) .. " ms")
  g.timer = http.after(delay, function()
    g.timer = nil
    if not g.closed and not self.closing then self:start_get(g) end
  end)
end

-- ===== legacy fallback =====

function Http:fallback(st, status, detail)
  self:note("initialize got HTTP " .. status .. (detail and (" (" .. detail .. ")") or "")
    .. "; trying the legacy HTTP+SSE transport (GET " .. self.url .. ")")
  st.finished = true
  self.posts[st] = nil
  require("mcptest.transport.legacy_sse").start(self, st, status, detail)
end

-- ===== interface =====

function Http:failure(id)
  if id ~= nil then
    local e = self.req_errors[id]
    if e then
      self.req_errors[id] = nil
      return e
    end
  end
  if self.failed then return self.failed end
  if self.legacy then return self.legacy:failure() end
  return nil
end

-- Stop every transfer and timer: no I/O, no loop step (release() runs in
-- a finalizer).
function Http:stop_all()
  self.closing = true
  for _, list in ipairs({ self.posts, self.inflight }) do
    for k, v in pairs(list) do
      local st = v == true and k or v
      st.finished = true
      if st.req then st.req:abort() end
      if st.timer then st.timer:cancel() end
    end
  end
  for st in pairs(self.lingering) do
    st.finished = true
    if st.req then st.req:abort() end
  end
  if self.linger_timer then self.linger_timer:cancel(); self.linger_timer = nil end
  self.posts, self.inflight, self.lingering = {}, {}, {}
  self:close_get_stream()
  if self.legacy then self.legacy:close() end
end

-- A collected client's transport: release the handles, send nothing (a
-- DELETE would need the event loop, which a finalizer must never run).
function Http:release()
  if self.closed then return end
  self:stop_all()
  self.closed = true
end

-- Close: stop every stream; end the session with DELETE (bounded in time).
function Http:close()
  if self.closed then return end
  self:stop_all()
  if not self.legacy and self.session_id and not self.failed then
    local done, status = false, nil
    local req = http.start(self:curl_opts("DELETE", H(self).get_headers), function(r, _, fin)
      if fin then done, status = true, r:status() end
    end)
    if req then
      local sys, loop = require("mcptest.core.sys"), require("mcptest.loop")
      local deadline = sys.now() + math.min(self.timeout, 2)
      while not done and sys.now() < deadline do loop.step(deadline - sys.now()) end
      if not done then req:abort() end
      self:note("DELETE " .. self.url .. " (end of session) -> "
        .. (done and ("HTTP " .. tostring(status)) or "no answer"))
    end
  end
  self.closed = true
end

return M
