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

local find, sub, byte = string.find, string.sub, string.byte

function M.new(on_event)
  return setmetatable({ on_event = on_event, buf = "", events = 0 }, Parser)
end

-- One line, without its terminator.
function Parser:line(line)
  if line == "" then -- blank line: dispatch
    local data, event = self.data, self.event
    self.data, self.event = nil, nil
    self.last_id = self.id_buf
    if data == nil or data == "" then return end
    self.events = self.events + 1
    self.on_event(data, event or "message", self.last_id)
    return
  end
  if byte(line, 1) == 58 then return end -- ":" comment
  local colon = find(line, ":", 1, true)
  local field, value
  if colon then
    field = sub(line, 1, colon - 1)
    value = byte(line, colon + 1) == 32 and sub(line, colon + 2) or sub(line, colon + 1)
  else
    field, value = line, ""
  end
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

function Parser:feed(chunk)
  if self.skip_lf then -- the previous chunk ended in CR: a following LF is its pair
    self.skip_lf = false
    if byte(chunk, 1) == 10 then chunk = sub(chunk, 2) end
  end
  local buf = self.buf
  if buf ~= "" then chunk = buf .. chunk end
  local pos, n = 1, #chunk
  -- LF-only streams (the common case) split with a plain search
  local pattern, plain = "\n", true
  if find(chunk, "\r", 1, true) then pattern, plain = "[\r\n]", false end
  while true do
    local s = find(chunk, pattern, pos, plain)
    if not s then break end
    local line = sub(chunk, pos, s - 1)
    if byte(chunk, s) == 13 then
      if s == n then self.skip_lf = true
      elseif byte(chunk, s + 1) == 10 then s = s + 1 end
    end
    pos = s + 1
    self.buf = "" -- consumed, in case on_event raises
    self:line(line)
  end
  self.buf = pos <= n and sub(chunk, pos) or ""
end

-- The stream ended: an unterminated event is dropped (as browsers do).
-- Returns true when one was pending, i.e. the stream was cut mid-event.
function Parser:finish()
  local cut = self.buf ~= "" or self.data ~= nil or self.event ~= nil
  self.buf, self.data, self.event = "", nil, nil
  return cut
end

return M
