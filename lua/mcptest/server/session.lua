-- mcptest.server.session: MCP sessions and a bounded store of them.
-- A session is a plain table that outlives any one HTTP request:
--   id, route, principal, subject   who opened it, where (set by the transport)
--   protocol_version, client_capabilities, client_info, initialized, log_level
--   subscriptions   uri -> true (resources/subscribe)
--   running         "<type>:<id>" of a client request -> its context
--   pending         id of a request we sent the client -> the waiting context
--   next_id         counter for those ids
--   data            the catalog's own per-session state (the engine never looks)
--   last_seen, ended
--
--   session.new(fields) -> session     session.new_id() -> 24 URL-safe characters
--   local st = session.store(max, on_end)   st:add(s) (ends the least
--     recently used session first when full), st:get(id), st:finish(id)
--     (ends it: on_end(s)), st:sweep(ttl, now [, fn]) (ends idle ones),
--     st:each(fn), st.count
local sys = require("mcptest.core.sys")
local crypto = require("mcptest.core.crypto")

local M = {}

-- Session ids: 18 random bytes, base64url (24 characters, no padding).
function M.new_id()
  return crypto.base64url_encode(crypto.random_bytes(18))
end

function M.new(fields)
  local s = fields or {}
  s.pending = {}
  s.running = {}
  s.subscriptions = {}
  s.data = s.data or {}
  s.next_id = 0
  s.last_seen = sys.now()
  s.client_capabilities = s.client_capabilities or {}
  return s
end

-- ===== the store =====

local Store = {}
Store.__index = Store

-- max: sessions kept; on_end(s): called when a session ends (a transport
-- closes its streams there). The least recently used session is found in
-- O(1) (amortized): every touch appends (session, stamp) to a queue, and
-- eviction pops entries until one is still current (a session touched
-- again since has a newer entry further on); the queue is compacted when
-- it holds more than twice the live sessions. (A scan of every session
-- per new one made the 10,001st session 3x slower.)
function M.store(max, on_end)
  return setmetatable({ by_id = {}, count = 0, max = max or math.huge, on_end = on_end,
                        qs = {}, qstamp = {}, head = 1, tail = 0, stamps = 0 }, Store)
end

function Store:get(id) return self.by_id[id] end

-- End a session: forget it, mark it ended, tell on_end. False when unknown.
function Store:finish(id)
  local s = self.by_id[id]
  if not s then return false end
  self.by_id[id] = nil
  self.count = self.count - 1
  s.ended = true
  if self.on_end then self.on_end(s) end
  return true
end

local function push(self, s)
  self.stamps = self.stamps + 1
  s.lru_stamp = self.stamps
  local tail = self.tail + 1
  self.tail = tail
  self.qs[tail], self.qstamp[tail] = s, s.lru_stamp
  if tail - self.head + 1 > 2 * self.count + 64 then -- compact: keep the current entries, in order
    local qs, qstamp, n = {}, {}, 0
    for i = self.head, tail do
      local x = self.qs[i]
      if x.lru_stamp == self.qstamp[i] and not x.ended then n = n + 1; qs[n], qstamp[n] = x, self.qstamp[i] end
    end
    self.qs, self.qstamp, self.head, self.tail = qs, qstamp, 1, n
  end
end

-- A request used session s now: it becomes the most recently used.
function Store:touch(s, t)
  s.last_seen = t or sys.now()
  push(self, s)
end

-- Add a session, ending the least recently used one first when full.
function Store:add(s)
  while self.count >= self.max and self.head <= self.tail do
    local i = self.head
    local x, stamp = self.qs[i], self.qstamp[i]
    self.qs[i], self.qstamp[i] = nil, nil
    self.head = i + 1
    if x.lru_stamp == stamp and not x.ended and self.by_id[x.id] == x then self:finish(x.id) end
  end
  self.by_id[s.id] = s
  self.count = self.count + 1
  push(self, s)
  return s
end

-- End the sessions unused for more than ttl seconds; fn(s) is called for
-- every session that stays.
function Store:sweep(ttl, t, fn)
  local dead = {}
  for id, s in pairs(self.by_id) do
    if t - s.last_seen > ttl then dead[#dead + 1] = id elseif fn then fn(s) end
  end
  for _, id in ipairs(dead) do self:finish(id) end
end

function Store:each(fn)
  for _, s in pairs(self.by_id) do fn(s) end
end

return M
