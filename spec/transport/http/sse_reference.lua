-- spec/transport/http/sse_reference.lua: the SSE parser as it was in Lua before it
-- moved to C (runtime/sse.c); kept as the oracle of a differential test
-- in sse_spec.lua. Not loaded by mcptest itself.
-- mcptest.transport.sse: an incremental Server-Sent Events parser
-- (WHATWG HTML "Server-sent events", as MCP's Streamable HTTP uses it).
--   local p = sse.new(function(data, event_type, id) ... end[, ctx[, max_event]])
--   p:feed(chunk) -> true | nil, message   -- any split, LF, CRLF or CR lines
--   p:finish() -> true when the stream ended inside an event (cut mid-event)
--   p.last_id, p.retry (milliseconds), p.events (dispatched count)
-- Comments (":...") are skipped; multi-line data is joined with "\n";
-- events with empty data (priming events, keep-alives) are not delivered,
-- but their id still moves last_id, as the resumption rules need.
--
-- Linear in the stream's size however it is chunked: a line split across
-- chunks is kept as a list of pieces and joined once, when its end
-- arrives; only each new chunk is searched for a line end; data lines are
-- joined once per event. An event (its data lines, or one unterminated
-- line) larger than max_event bytes (default M.MAX_EVENT, 64 MiB) stops the
-- parser: feed() returns nil and a message, now and on every later call.
local M = { MAX_EVENT = 64 * 1024 * 1024 }

local Parser = {}
Parser.__index = Parser

local find, sub, byte, gsub, concat = string.find, string.sub, string.byte, string.gsub, table.concat

-- on_event(data, event_type, id, ctx) for each event; ctx is passed back
-- as given, so one function can serve many streams without a closure each.
-- pend (pieces of an unterminated line, pend_size bytes), dlist and dsize
-- (an event's data lines, once there are two) exist only while needed.
function M.new(on_event, ctx, max_event)
  return setmetatable({ on_event = on_event, ctx = ctx, events = 0, skip_lf = false,
                        max_event = max_event or M.MAX_EVENT,
                        data = nil, event = nil, id_buf = nil, last_id = nil, retry = nil }, Parser)
end

-- Dispatch the pending event (a blank line was seen).
function Parser:dispatch()
  local data, event = self.data, self.event
  local list = self.dlist
  if list then
    data = concat(list, "\n")
    self.dlist = nil
  end
  self.data, self.event = nil, nil
  self.last_id = self.id_buf
  if data == nil or data == "" then return end -- priming event, keep-alive
  self.events = self.events + 1
  self.on_event(data, event or "message", self.last_id, self.ctx)
end

local function failed_feed(self) return nil, self.failed end

function Parser:too_big()
  self.failed = "an SSE event is larger than " .. self.max_event .. " bytes (the max_event_size limit)"
  self.pend, self.data, self.dlist, self.event = nil, nil, nil, nil
  self.feed = failed_feed -- this and every later feed() says so
  return nil, self.failed
end

-- Bytes of data the pending event holds.
function Parser:data_size()
  if self.dlist then return self.dsize end
  local d = self.data
  return d and #d or 0
end

-- One more data line for the pending event.
function Parser:add_data(value)
  local d = self.data
  if d == nil then
    if #value + (self.pend and self.pend_size or 0) > self.max_event then return self:too_big() end
    self.data = value
    return true
  end
  local list = self.dlist
  if list then
    list[#list + 1] = value
    self.dsize = self.dsize + #value + 1
  else
    self.dlist = { d, value }
    self.dsize = #d + #value + 1
  end
  if self.dsize > self.max_event then return self:too_big() end
  return true
end

-- A field other than data (the hot one is handled in feed).
function Parser:set(field, value)
  if field == "data" then
    return self:add_data(value)
  elseif field == "event" then
    self.event = value
  elseif field == "id" then
    if not find(value, "\0", 1, true) then self.id_buf = value end
  elseif field == "retry" then
    if find(value, "^%d+$") then self.retry = tonumber(value) end
  end
  return true
end

-- One line, without its terminator.
function Parser:line(line)
  if line == "" then self:dispatch(); return true end
  if byte(line, 1) == 58 then return true end -- ":" comment
  local colon = find(line, ":", 1, true)
  if not colon then return self:set(line, "") end
  local v = colon + 1
  if byte(line, v) == 32 then v = v + 1 end
  return self:set(sub(line, 1, colon - 1), sub(line, v))
end

-- Keep the unterminated end of a chunk.
function Parser:keep(piece)
  local pend, size = self.pend, #piece
  if pend then
    pend[#pend + 1] = piece
    size = size + self.pend_size
  else
    self.pend = { piece }
  end
  self.pend_size = size
  if size + self:data_size() > self.max_event then return self:too_big() end
  return true
end

function Parser:feed(chunk)
  if self.skip_lf and chunk ~= "" then -- the previous chunk ended in CR: a following LF is its pair
    self.skip_lf = false
    if byte(chunk, 1) == 10 then chunk = sub(chunk, 2) end
  end
  if find(chunk, "\r", 1, true) then -- CRLF or CR line ends: make them LF
    if byte(chunk, -1) == 13 then self.skip_lf = true end
    chunk = gsub(chunk, "\r\n?", "\n")
  end
  local pos = 1
  local pend = self.pend
  if pend then -- the end of a line begun in earlier chunks: join it once
    local e = find(chunk, "\n", 1, true)
    if not e then return self:keep(chunk) end
    pend[#pend + 1] = sub(chunk, 1, e - 1)
    self.pend = nil
    if not self:line(concat(pend)) then return nil, self.failed end
    pos = e + 1
  end
  while true do
    local e = find(chunk, "\n", pos, true)
    if not e then break end
    if e == pos then
      self:dispatch()
    else
      local b1, b2, b3, b4, b5 = byte(chunk, pos, pos + 4)
      if b1 == 100 and b2 == 97 and b3 == 116 and b4 == 97 and b5 == 58 then -- "data:"
        local v = byte(chunk, pos + 5) == 32 and pos + 6 or pos + 5
        local value = v < e and sub(chunk, v, e - 1) or ""
        if self.data == nil and e - v < self.max_event then -- the usual one-line event
          self.data = value
        elseif not self:add_data(value) then
          return nil, self.failed
        end
      elseif b1 == 105 and b2 == 100 and b3 == 58 then -- "id:"
        local v = b4 == 32 and pos + 4 or pos + 3
        local value = v < e and sub(chunk, v, e - 1) or ""
        if not find(value, "\0", 1, true) then self.id_buf = value end
      elseif b1 ~= 58 then -- not a comment
        if not self:line(sub(chunk, pos, e - 1)) then return nil, self.failed end
      end
    end
    pos = e + 1
  end
  if pos <= #chunk then return self:keep(sub(chunk, pos)) end
  return true
end

-- The stream ended: an unterminated event is dropped (as browsers do).
-- Returns true when one was pending, i.e. the stream was cut mid-event.
function Parser:finish()
  local cut = self.pend ~= nil or self.data ~= nil or self.event ~= nil
  if cut then self.pend, self.data, self.dlist, self.event = nil, nil, nil, nil end
  return cut
end

return M
