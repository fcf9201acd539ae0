-- mcptest.server.streams: the SSE streams of a Streamable HTTP session,
-- resumable with Last-Event-ID. A stream record outlives the HTTP
-- connection that carries it:
--   rec = {num, kind ("post" | "get"), seq, events = {{seq, text}, ...},
--          live (the connected mcptest.server.http Stream, or nil),
--          finished, finished_at, cut_after, cut_mode}
-- Every event id is "<num>_<seq>", unique in the session (num counts per
-- transport); a stream starts with a priming event (its id, empty data).
-- The last config.event_log_size events are kept for replay.
--   local ss = streams.new(config)       (one per transport)
--   ss:open(session, kind) -> rec        ss:attach(rec, stream)  (ends an older connection)
--   ss:prime(rec)                        the priming event
--   ss:emit(rec, msg)                    append a message, deliver it if live
--   ss:interrupt_after(rec, n, mode)     cut ("cut") or close politely
--                                        ("close": retry: first) after n events
--   ss:finish(session, rec, now)         the answer was sent: end the connection
--   ss:replay(session, rec, after_seq, stream)   resume on a new connection
--   ss:sweep(session, now)               drop finished records after 2 minutes
--   ss:close_all(session)                the session ended
local json = require("mcptest.json")

local M = {}

local Streams = {}
Streams.__index = Streams

function M.new(config)
  return setmetatable({ config = config, next_num = 0 }, Streams)
end

function Streams:open(s, kind)
  self.next_num = self.next_num + 1
  local rec = { num = self.next_num, kind = kind, seq = 0, events = {}, delivered = 0 }
  s.streams[rec.num] = rec
  return rec
end

-- Attach an HTTP stream to a record (ending an older connection).
function Streams:attach(rec, st)
  if rec.live and rec.live ~= st then rec.live:finish() end
  rec.live = st
  rec.delivered = 0
  st.on_close = function(x) if rec.live == x then rec.live = nil end end
end

function Streams:prime(rec)
  if rec.live then rec.live:write("id: " .. rec.num .. "_0\ndata: \n\n") end
end

-- Cut (or politely close) the live connection of a record.
function Streams:interrupt(rec, mode)
  local st = rec.live
  if not st then return end
  rec.live = nil
  if mode == "close" then
    st:write("retry: " .. self.config.sse_retry_ms .. "\n\n")
    st:finish()
  else
    st:cut()
  end
end

function Streams:interrupt_after(rec, n, mode)
  if n == 0 then return self:interrupt(rec, mode) end
  rec.cut_after, rec.cut_mode = n, mode
end

-- Append one message to a record and deliver it when connected.
function Streams:emit(rec, msg)
  rec.seq = rec.seq + 1
  local text = "id: " .. rec.num .. "_" .. rec.seq .. "\nevent: message\ndata: " .. json.encode(msg) .. "\n\n"
  local ev = rec.events
  ev[#ev + 1] = { rec.seq, text }
  if #ev > self.config.event_log_size then table.remove(ev, 1) end
  if rec.live then
    rec.live:write(text)
    rec.delivered = rec.delivered + 1
    if rec.cut_after and rec.delivered >= rec.cut_after then
      self:interrupt(rec, rec.cut_mode)
      rec.cut_after = nil
    end
  end
end

-- The record's answer was sent: end the live connection; a delivered
-- record has nothing left to resume and is forgotten.
function Streams:finish(s, rec, t)
  rec.finished, rec.finished_at = true, t
  if rec.live then
    rec.live:finish()
    rec.live = nil
    s.streams[rec.num] = nil
  end
end

-- Resume a record on a new connection: the events after after_seq, then
-- live, or the end when its answer was already sent.
function Streams:replay(s, rec, after_seq, st)
  self:attach(rec, st)
  for _, e in ipairs(rec.events) do
    if e[1] > after_seq then st:write(e[2]) end
  end
  if rec.finished then
    st:finish()
    rec.live = nil
    s.streams[rec.num] = nil
  end
end

function Streams:sweep(s, t)
  for num, rec in pairs(s.streams) do
    if rec.finished and not rec.live and t - rec.finished_at > 120 then s.streams[num] = nil end
  end
end

-- End every connected record of an ended session.
function Streams:close_all(s)
  for _, rec in pairs(s.streams) do
    if rec.live then rec.live:finish() end
  end
  s.streams = {}
end

return M
