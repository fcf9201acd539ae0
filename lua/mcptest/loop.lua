-- mcptest.loop: the single event loop of a Lua state.
-- Sources (transports, later listeners and HTTP streams) register the
-- descriptors they want watched; step() sleeps in one poll over all of
-- them and calls each ready source back. A blocking-looking call (a
-- request) is a loop of step() until its answer arrives, so every other
-- connection keeps being served meanwhile (server requests, stderr).
local poll = require("mcptest.core.poll")

local M = {}

local sources = {}     -- array of registered sources
local by_fd = {}       -- fd -> source
local rfds, wfds = {}, {}
local dirty = true
local timed = {}       -- sources that also offer :timeout()

-- The only registered source, when there is exactly one and it has no
-- timers: a client waiting on it alone may let it wait by itself
-- (src:wait(timeout), one C call) instead of a loop step.
M.sole = nil
local function update_sole()
  M.sole = (#sources == 1 and #timed == 0) and sources[1] or nil
end

-- A source is a table with :fds() -> read_fds (array), write_fds (array|nil)
-- and :on_ready(fd, what). Call M.changed() when its descriptors change.
-- A source may also offer :timeout() -> seconds until it needs service (nil:
-- no deadline), fds_changed; step() then caps its wait by that and calls
-- src:on_timeout() after every poll (curl's timers, reconnect delays).
function M.register(src)
  sources[#sources + 1] = src
  if src.timeout then timed[#timed + 1] = src end
  dirty = true
  update_sole()
end

function M.unregister(src)
  for i = #sources, 1, -1 do
    if sources[i] == src then table.remove(sources, i) end
  end
  for i = #timed, 1, -1 do
    if timed[i] == src then table.remove(timed, i) end
  end
  dirty = true
  update_sole()
end

function M.changed() dirty = true end

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

-- Wait up to timeout seconds for any source to become ready and serve it.
-- Returns true when something was served.
function M.step(timeout)
  local ntimed = #timed
  for i = 1, ntimed do
    local t, changed = timed[i]:timeout()
    if changed then dirty = true end
    if t and (timeout == nil or timeout < 0 or t < timeout) then timeout = t end
  end
  if dirty then rebuild() end
  if ntimed > 0 then
    -- with no descriptors, poll() just sleeps until the first deadline
    if #rfds == 0 and #wfds == 0 and (timeout == nil or timeout < 0) then timeout = 0.05 end
  elseif #rfds == 0 and #wfds == 0 then
    if timeout and timeout > 0 then require("mcptest.core.sys").sleep(math.min(timeout, 0.05)) end
    return false
  end
  local served = serve(false, poll.wait(rfds, wfds, timeout))
  for i = ntimed, 1, -1 do
    local src = timed[i]
    if src then src:on_timeout() end
  end
  return served
end

return M
