-- mcptest.transport.legacy_sse: the 2024-11-05 HTTP+SSE transport, used
-- when a server refuses the Streamable HTTP initialize POST with 400, 404
-- or 405 (never on 401/403). GET the URL with Accept: text/event-stream;
-- the first event, `endpoint`, names where to POST every message; replies
-- and server messages all arrive as `message` events on that one stream.
-- It lives inside the Streamable HTTP transport (t.legacy), which keeps
-- the interface the client sees; nothing here is called by the client.
local http = require("mcptest.transport.curl")
local json = require("mcptest.json")
local errors = require("mcptest.errors")
local sse = require("mcptest.transport.sse")

local M = {}
local Legacy = {}
Legacy.__index = Legacy

-- endpoint (absolute, root-relative or relative) resolved against the SSE URL.
function M.resolve(base, ref)
  if ref:match("^https?://") then return ref end
  local origin = base:match("^(https?://[^/?#]+)")
  if ref:sub(1, 2) == "//" then return base:match("^(https?:)") .. ref end
  if ref:sub(1, 1) == "/" then return origin .. ref end
  local path = base:sub(#origin + 1):gsub("[?#].*$", "")
  local dir = path:match("^(.*/)") or "/"
  return origin .. dir .. ref
end

local function origin_of(u) return (u:match("^(https?://[^/?#]+)") or ""):lower() end

-- The endpoint as messages and logs may show it: its query (which holds
-- the session id, e.g. ?sessionId=...) hidden.
function M.shown(endpoint)
  return http.shown_url(endpoint)
end

-- Switch transport t to the legacy transport; init_st is the initialize
-- request the server refused with HTTP status.
function M.start(t, init_st, status, detail)
  local first = { { method = init_st.method, id = init_st.msg_id }, init_st.body }
  local lg = setmetatable({ t = t, url = t.url, queue = { first }, posts = {},
                            refused = "HTTP " .. status .. (detail and (" (" .. detail .. ")") or "") },
                   Legacy)
  t.legacy = lg
  t.kind = "sse"
  t.description = "legacy HTTP+SSE server at " .. t.url
  if init_st.id ~= nil then t.inflight[init_st.id] = nil end
  lg.parser = sse.new(function(data, ev) return lg:on_event(data, ev) end, nil, t.max_event)
  local headers = t:header_list("plain_get")
  t:log_headers("GET", t.url, headers)
  local req, err = http.start(t:curl_opts("GET", headers),
    function(r, chunk, done, e) return lg:on_stream(r, chunk, done, e) end)
  if not req then -- fail now: initialize is waiting for the endpoint event
    lg:fail(errors.new(err and err.kind or "transport", lg:fallback_failed()
      .. "GET " .. t.url .. " could not be started: " .. tostring(err and err.message or err),
      { curl_code = err and err.curl_code }))
    return lg
  end
  lg.req = req
  return lg
end

-- The start of every message saying the fallback failed too.
function Legacy:fallback_failed()
  return self.url .. " refused the Streamable HTTP initialize POST (" .. self.refused
    .. "), and the legacy HTTP+SSE fallback failed too: "
end

-- The fallback itself failed: the initialize request gets the whole story.
function Legacy:fail(err)
  if self.failed then return end
  err.url = err.url or self.url
  self.failed = err
  if self.req then self.req:abort() end
  for st in pairs(self.posts) do if st.req then st.req:abort() end end
  self.t:note("legacy HTTP+SSE: " .. tostring(err.message))
  if self.t.on_wake then self.t.on_wake(nil) end
end

function Legacy:on_stream(req, chunk, done, err)
  if self.failed or self.closing then return end
  if not self.status then
    local status = req:status()
    if status == 0 then
      if done then
        return self:fail(errors.new(err and err.kind or "transport", self:fallback_failed()
          .. http.describe_failure(err or {}, "GET", self.url), { curl_code = err and err.curl_code }))
      end
      return
    end
    self.status = status
    local ct = (req:header("content-type") or ""):lower()
    self.t:note("legacy GET -> HTTP " .. status .. " " .. ct)
    if status == 401 or status == 403 then
      return self:fail(self.t:auth_error(status, req, "GET (legacy SSE stream)", self.url))
    end
    if status ~= 200 or not ct:find("^text/event%-stream") then
      return self:fail(errors.new("transport", self:fallback_failed() .. "GET " .. self.url
        .. " answered HTTP " .. status .. (ct ~= "" and (" " .. ct) or "")
        .. "; is this the MCP endpoint URL?", { http_status = self.refused:match("%d+") + 0 }))
    end
  end
  if chunk then
    local ok, perr = self.parser:feed(chunk)
    if not ok and not self.failed then
      return self:fail(errors.new("protocol", "the legacy SSE stream from " .. self.url
        .. " sent what mcptest cannot take: " .. perr.message))
    end
  end
  if done and not self.failed and not self.closing then
    self.parser:finish()
    return self:fail(errors.new("transport", "the legacy SSE stream from " .. self.url .. " closed"
      .. (err and (": " .. tostring(err.message)) or "")
      .. (self.endpoint and "" or " before sending its endpoint event"), { curl_code = err and err.curl_code }))
  end
end

function Legacy:on_event(data, ev)
  if self.failed then return end
  if ev == "endpoint" then
    local ref = data:gsub("^%s+", ""):gsub("%s+$", "")
    if ref == "" or ref:find("[%c ]") then
      -- a NUL would cut the URL curl sees: refuse rather than post elsewhere
      return self:fail(errors.new("protocol", "the legacy SSE server at " .. self.url
        .. " named an endpoint that is not a URL (it holds control characters or spaces): "
        .. errors.snippet(M.shown(ref))))
    end
    local ep = M.resolve(self.t.target, ref)
    if origin_of(ep) ~= origin_of(self.t.target) then
      return self:fail(errors.new("protocol", "the legacy SSE server at " .. self.url
        .. " named an endpoint on another origin (" .. http.shown_url(origin_of(ep))
        .. "); refusing to post there"))
    end
    self.endpoint = ep
    self.shown_endpoint = M.shown(ep)
    self.t:note("legacy endpoint: " .. self.shown_endpoint)
    local queue = self.queue
    self.queue = {}
    for _, q in ipairs(queue) do self:post(q[1], q[2]) end
    return
  end
  if ev ~= "message" then return end
  local msg = json.try_decode(data)
  if type(msg) ~= "table" then
    return self:fail(errors.new("protocol", "the legacy SSE server at " .. self.url
      .. " sent an event that is not JSON: " .. errors.snippet(data)))
  end
  local on = self.t.on_message
  if on then on(msg) end
end

function Legacy:send(msg)
  if self.failed then error(self.failed, 0) end
  local info, body = { method = msg.method, id = msg.id }, json.encode(msg)
  if not self.endpoint then
    self.queue[#self.queue + 1] = { info, body }
    return
  end
  return self:post(info, body)
end

-- msg: { method =, id = } of the message whose JSON is body.
function Legacy:post(msg, body)
  local t = self.t
  local st = { msg = msg }
  -- the endpoint's query holds the session id: messages show it hidden
  local shown = self.shown_endpoint
  local o = t:curl_opts("POST", t:header_list("init"), self.endpoint)
  o.body = body
  local req, err = http.start(o, function(req, _, done, e)
    if not done then return end
    self.posts[st] = nil
    local status = req:status()
    local fail
    if status == 0 then
      fail = errors.new(e and e.kind or "transport", http.describe_failure(e or {}, "POST", shown),
        { curl_code = e and e.curl_code })
    elseif status == 401 or status == 403 then
      fail = t:auth_error(status, req, msg.method or "a response", shown)
    elseif status < 200 or status >= 300 then
      fail = errors.new("transport", "the legacy endpoint " .. shown .. " of " .. self.url .. " answered HTTP "
        .. status .. " to " .. tostring(msg.method or "a response"), { http_status = status })
    end
    if fail then self:post_failed(msg, fail) end
  end)
  if not req then
    err.message = "POST " .. shown .. " could not be started: " .. tostring(err.message)
    return self:post_failed(msg, err)
  end
  st.req = req
  self.posts[st] = true
end

-- A POST the endpoint refused: the request waiting for it fails; a
-- notification or response goes into the session events.
function Legacy:post_failed(msg, fail)
  fail.url = self.shown_endpoint
  local t = self.t
  if msg.method and msg.id ~= nil then
    t.req_errors[msg.id] = fail
  else
    t:note(tostring(fail.message))
    t:record_event("messageRejected", { method = msg.method, id = msg.id, http_status = fail.http_status,
      message = "POST of " .. tostring(msg.method or ("the response to server request " .. tostring(msg.id)))
        .. " failed: " .. tostring(fail.message) })
  end
end

function Legacy:failure() return self.failed end

function Legacy:close()
  self.closing = true
  if self.req then self.req:abort() end
  for st in pairs(self.posts) do if st.req then st.req:abort() end end
  self.posts = {}
end

return M
