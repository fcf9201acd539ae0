-- mcptest.loop: the single event loop of a Lua state.
-- Sources (transports, HTTP transfers, the fixture's daemon) register the
-- descriptors they want watched; step() sleeps in one poll over all of
-- them, calls each ready source back, runs the timers that are due and
-- resumes the tasks that were woken. A blocking-looking call (a request)
-- either steps the loop until its answer arrives (the main script) or, in
-- a task, suspends until woken, so many requests can be in flight at once
-- on one client or across clients.
--   loop.register(src) / unregister(src) / changed()
--   loop.after(seconds, fn) -> timer      timer:cancel()
--   loop.step(timeout) -> served
--   loop.spawn(fn, ...) -> task           a coroutine the loop schedules
--   loop.task() -> the running task, or nil (main script, foreign coroutine)
--   loop.suspend(seconds)                 (in a task) wait until woken or timed out
--   loop.wake(task)
--   loop.join(tasks, deadline) -> true | false (deadline passed)
local poll = require("mcptest.core.poll")
local sys = require("mcptest.core.sys")

local now = sys.now

local M = {}

local sources = {}     -- array of registered sources
local by_fd = {}       -- fd -> source
local rfds, wfds = {}, {}
local dirty = true
local timed = {}       -- sources that also offer :timeout()

-- A source is a table with :fds() -> read_fds (array), write_fds (array|nil)
-- and :on_ready(fd, what). Call M.changed() when its descriptors change.
-- A source may also offer :timeout() -> seconds until it needs service (nil:
-- no deadline), fds_changed; step() then caps its wait by that and calls
-- src:on_timeout() after every poll (curl's own timers).
function M.register(src)
  sources[#sources + 1] = src
  if src.timeout then timed[#timed + 1] = src end
  dirty = true
end

function M.unregister(src)
  for i = #sources, 1, -1 do
    if sources[i] == src then table.remove(sources, i) end
  end
  for i = #timed, 1, -1 do
    if timed[i] == src then table.remove(timed, i) end
  end
  dirty = true
end

function M.changed() dirty = true end

-- The registered sources (a copy), for tests and diagnostics.
function M.sources() return table.move(sources, 1, #sources, 1, {}) end

local function rebuild()
  rfds, wfds, by_fd = {}, {}, {}
  for _, src in ipairs(sources) do
    local r, w = src:fds()
    for _, fd in ipairs(r) do rfds[#rfds + 1] = fd; by_fd[fd] = src end
    if w then
      for _, fd in ipairs(w) do wfds[#wfds + 1] = fd; by_fd[fd] = src end
    end
  end
  dirty = false
end

-- ===== timers: one binary heap of {at, seq, fn} for the whole state =====

local heap = {}
local seq = 0
-- cancelled timers still in the heap; when they are more than half of it
-- the heap is rebuilt without them (a load run cancels a request timeout
-- per call, behind a live timer that may be due only minutes later)
local dead = 0

-- a before b: earlier, or as early and made first (comparisons inlined
-- below: the heap is on every request's path)
local function sift_up(i)
  local t = heap[i]
  local at, sq = t.at, t.seq
  while i > 1 do
    local p = i // 2
    local q = heap[p]
    if at < q.at or (at == q.at and sq < q.seq) then heap[i] = q; i = p else break end
  end
  heap[i] = t
end

local function sift_down(i, n)
  local t = heap[i]
  local at, sq = t.at, t.seq
  while true do
    local l = 2 * i
    if l > n then break end
    local c, ct = l, heap[l]
    local r = l + 1
    if r <= n then
      local rt = heap[r]
      if rt.at < ct.at or (rt.at == ct.at and rt.seq < ct.seq) then c, ct = r, rt end
    end
    if ct.at < at or (ct.at == at and ct.seq < sq) then heap[i] = ct; i = c else break end
  end
  heap[i] = t
end

local function pop()
  local n = #heap
  local top = heap[1]
  local last = heap[n]
  heap[n] = nil
  n = n - 1
  if n > 0 then
    heap[1] = last
    sift_down(1, n)
  end
  if top.fn == nil then dead = dead - 1 end
  return top
end

-- Drop the cancelled timers and heapify what is left.
local function compact()
  local live, n = {}, 0
  for i = 1, #heap do
    local t = heap[i]
    if t.fn ~= nil then n = n + 1; live[n] = t end
  end
  heap = live
  dead = 0
  for i = n // 2, 1, -1 do sift_down(i, n) end
end

local Timer = {}
Timer.__index = Timer
-- A cancelled timer stays in the heap with no function until it is due or
-- the heap is compacted (cheaper than removing it from the middle).
function Timer:cancel()
  if self.fn == nil then return end
  self.fn = nil -- (a timer with a function is always in the heap)
  dead = dead + 1
  if dead > 64 and dead * 2 > #heap then compact() end
end

-- Timers in the heap, cancelled ones not yet dropped included (tests).
function M.queued_timers() return #heap end

function M.after(seconds, fn)
  seq = seq + 1
  local t = setmetatable({ at = now() + math.max(0, seconds), seq = seq, fn = fn }, Timer)
  heap[#heap + 1] = t
  sift_up(#heap)
  return t
end

-- Seconds until the first live timer (nil: none).
local function next_timer()
  while heap[1] and heap[1].fn == nil do pop() end
  local t = heap[1]
  if not t then return nil end
  local left = t.at - now()
  return left > 0 and left or 0
end

local function run_timers()
  local t = now()
  while heap[1] and heap[1].at <= t do
    local timer = pop()
    local fn = timer.fn
    if fn then
      timer.fn = nil
      fn()
    end
  end
end

-- ===== tasks: coroutines the loop resumes when woken =====

local tasks = setmetatable({}, { __mode = "k" }) -- coroutine -> task
local runnable = {}                               -- tasks to resume, in order
local Task = {}
Task.__index = Task

function M.task() return tasks[coroutine.running()] end
function M.is_task(v) return getmetatable(v) == Task end

function M.wake(task)
  if task.done or task.runnable then return end
  task.runnable = true
  runnable[#runnable + 1] = task
end

-- The task's coroutine ended: keep what it returned (or raised) and wake
-- whoever joins it.
-- Tasks that ended with an error nobody has joined yet (the runner fails
-- the test they ran in: an error in a task never passes silently).
M.unjoined = {}

local function finish(task, ok, ...)
  task.done = true
  tasks[task.co] = nil
  if task.timer then task.timer:cancel(); task.timer = nil end
  if ok then task.results = table.pack(...) else
    task.error = (...)
    M.unjoined[task] = true
  end
  for _, w in ipairs(task.joiners) do M.wake(w) end
  task.joiners = {}
end

-- (what the coroutine gave back passes through as arguments: no table per
-- resume, and a VU is resumed twice per request)
local function resumed(task, co, ...)
  if coroutine.status(co) == "dead" then finish(task, ...) end
end

local function resume(task, ...)
  local co = task.co
  task.turns = task.turns + 1 -- times resumed (load mode tells by it that a VU waited)
  return resumed(task, co, coroutine.resume(co, ...))
end

-- Resume every woken task whose coroutine is suspended (one that is
-- running, or resumed us, is left for a later round).
local function run_tasks()
  if #runnable == 0 then return end
  local list = runnable
  runnable = {}
  for i = 1, #list do
    local task = list[i]
    task.runnable = false
    if not task.done then
      if coroutine.status(task.co) == "suspended" then resume(task)
      else M.wake(task) end
    end
  end
end

-- Start fn(...) as a task; it runs at once until it first waits.
function M.spawn(fn, ...)
  local task = setmetatable({ co = coroutine.create(fn), done = false, runnable = false,
                              joiners = {}, timer = nil, wake_at = nil, turns = 0 }, Task)
  tasks[task.co] = task
  resume(task, ...)
  return task
end

-- A task's one wake-up timer. A request waits with a timeout and is
-- answered long before it: rather than a timer made and cancelled per
-- wait (two heap operations per request), the task keeps one timer and
-- each wait only sets task.wake_at. When the timer comes due, it wakes
-- the task if its current wait's time is up, or sets itself again for
-- that wait's time (waits that ended leave nothing to do).
local function arm(task, seconds)
  task.timer = M.after(seconds, function()
    task.timer = nil
    local at = task.wake_at
    if at == nil or task.done then return end
    local left = at - now()
    if left <= 0 then M.wake(task) else arm(task, left) end
  end)
end

-- In a task: give the loop back until woken, or until `seconds` passed.
function M.suspend(seconds)
  local task = tasks[coroutine.running()]
  assert(task, "loop.suspend outside a task")
  if seconds then
    local at = now() + seconds
    task.wake_at = at
    local t = task.timer
    if t == nil or t.at > at then -- none yet, or due too late for this wait
      if t then t:cancel() end
      arm(task, seconds)
    end
  end
  coroutine.yield()
  task.wake_at = nil
end

-- Wait until every task in the list is done (from the main script or
-- another task). Returns false when the deadline passed first.
function M.join(list, deadline)
  local me = M.task()
  while true do
    local pending
    for _, t in ipairs(list) do
      if not t.done then pending = t; break end
    end
    if not pending then return true end
    local left = deadline and deadline - now()
    if left and left <= 0 then return false end
    if sys.interrupted() then error("interrupted!", 0) end
    if me then
      local already = false
      for _, j in ipairs(pending.joiners) do if j == me then already = true; break end end
      if not already then pending.joiners[#pending.joiners + 1] = me end
      M.suspend(left and math.min(left, 0.5) or 0.5)
    else
      M.step(left and math.min(left, 0.5) or 0.5)
    end
  end
end

-- ===== one step =====

-- Call back the source of each ready (fd, what) pair poll.wait returned;
-- a tail call per pair, so the request path builds no table.
local function serve(served, fd, what, ...)
  if fd == nil then return served end
  local src = by_fd[fd]
  if src then
    served = true
    src:on_ready(fd, what)
  end
  return serve(served, ...)
end

-- Wait up to timeout seconds for any source to become ready and serve it,
-- then run due timers and woken tasks. Returns true when something was
-- served (a descriptor, a timer or a task).
function M.step(timeout)
  if #runnable > 0 then timeout = 0 end
  local ntimed = #timed
  for i = 1, ntimed do
    local t, changed = timed[i]:timeout()
    if changed then dirty = true end
    if t and (timeout == nil or timeout < 0 or t < timeout) then timeout = t end
  end
  local tt = heap[1] and next_timer() -- no call when there is no timer (a request's usual step)
  if tt and (timeout == nil or timeout < 0 or tt < timeout) then timeout = tt end
  if dirty then rebuild() end
  local served = false
  if #rfds == 0 and #wfds == 0 then
    -- nothing to watch: sleep until the first deadline
    if timeout == nil or timeout < 0 or timeout > 0.05 then timeout = 0.05 end
    if timeout > 0 then sys.sleep(timeout) end
  else
    served = serve(false, poll.wait(rfds, wfds, timeout))
  end
  for i = ntimed, 1, -1 do
    local src = timed[i]
    if src then src:on_timeout() end
  end
  if heap[1] and heap[1].at <= now() then served = true; run_timers() end
  if #runnable > 0 then served = true; run_tasks() end
  return served
end

return M
