-- mcptest.transport.sse: an incremental Server-Sent Events parser
-- (WHATWG HTML "Server-sent events", as MCP's Streamable HTTP uses it).
--   local p = sse.new(function(data, event_type, id) ... end)
--   p:feed(chunk) ... p:feed(chunk)      -- any split, LF, CRLF or CR lines
--   p:finish() -> true when the stream ended inside an event (cut mid-event)
--   p.last_id, p.retry (milliseconds), p.events (dispatched count)
-- Comments (":...") are skipped; multi-line data is joined with "\n";
-- events with empty data (priming events, keep-alives) are not delivered,
-- but their id still moves last_id, as the resumption rules need.
local M = {}

local Parser = {}
Parser.__index = Parser

local find, sub, byte, gsub = string.find, string.sub, string.byte, string.gsub

-- on_event(data, event_type, id, ctx) for each event; ctx is passed back
-- as given, so one function can serve many streams without a closure each.
function M.new(on_event, ctx)
  return setmetatable({ on_event = on_event, ctx = ctx, buf = "", events = 0,
                        data = nil, event = nil, id_buf = nil, last_id = nil, retry = nil,
                        skip_lf = false }, Parser)
end

-- Dispatch the pending event (a blank line was seen).
function Parser:dispatch()
  local data, event = self.data, self.event
  self.data, self.event = nil, nil
  self.last_id = self.id_buf
  if data == nil or data == "" then return end -- priming event, keep-alive
  self.events = self.events + 1
  self.on_event(data, event or "message", self.last_id, self.ctx)
end

-- A field other than data (the hot one is handled in feed).
function Parser:set(field, value)
  if field == "data" then
    local d = self.data
    self.data = d and (d .. "\n" .. value) or value
  elseif field == "event" then
    self.event = value
  elseif field == "id" then
    if not find(value, "\0", 1, true) then self.id_buf = value end
  elseif field == "retry" then
    if find(value, "^%d+$") then self.retry = tonumber(value) end
  end
end

-- One line, without its terminator.
function Parser:line(line)
  if line == "" then return self:dispatch() end
  if byte(line, 1) == 58 then return end -- ":" comment
  local colon = find(line, ":", 1, true)
  if not colon then return self:set(line, "") end
  local v = colon + 1
  if byte(line, v) == 32 then v = v + 1 end
  return self:set(sub(line, 1, colon - 1), sub(line, v))
end

function Parser:feed(chunk)
  if self.skip_lf then -- the previous chunk ended in CR: a following LF is its pair
    self.skip_lf = false
    if byte(chunk, 1) == 10 then chunk = sub(chunk, 2) end
  end
  local buf = self.buf
  if buf ~= "" then chunk = buf .. chunk end
  if find(chunk, "\r", 1, true) then -- CRLF or CR line ends: make them LF
    if byte(chunk, -1) == 13 then self.skip_lf = true end
    chunk = gsub(chunk, "\r\n?", "\n")
  end
  self.buf = "" -- consumed as we go, in case on_event raises
  local pos = 1
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
        local d = self.data
        self.data = d and (d .. "\n" .. value) or value
      elseif b1 == 105 and b2 == 100 and b3 == 58 then -- "id:"
        local v = b4 == 32 and pos + 4 or pos + 3
        local value = v < e and sub(chunk, v, e - 1) or ""
        if not find(value, "\0", 1, true) then self.id_buf = value end
      elseif b1 ~= 58 then -- not a comment
        self:line(sub(chunk, pos, e - 1))
      end
    end
    pos = e + 1
  end
  if pos <= #chunk then self.buf = sub(chunk, pos) end
end

-- The stream ended: an unterminated event is dropped (as browsers do).
-- Returns true when one was pending, i.e. the stream was cut mid-event.
function Parser:finish()
  local cut = self.buf ~= "" or self.data ~= nil or self.event ~= nil
  self.buf, self.data, self.event = "", nil, nil
  return cut
end

return M
