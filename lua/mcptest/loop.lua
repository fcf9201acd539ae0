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

-- A source is a table with :fds() -> read_fds (array), write_fds (array|nil)
-- and :on_ready(fd, what). Call M.changed() when its descriptors change.
function M.register(src)
  sources[#sources + 1] = src
  dirty = true
end

function M.unregister(src)
  for i = #sources, 1, -1 do
    if sources[i] == src then table.remove(sources, i) end
  end
  dirty = true
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

-- Wait up to timeout seconds for any source to become ready and serve it.
-- Returns true when something was served.
function M.step(timeout)
  if dirty then rebuild() end
  if #rfds == 0 and #wfds == 0 then
    if timeout and timeout > 0 then require("mcptest.core.sys").sleep(math.min(timeout, 0.05)) end
    return false
  end
  local ready = poll.wait(rfds, wfds, timeout)
  local served = false
  for fd, what in pairs(ready) do
    local src = by_fd[fd]
    if src then
      served = true
      src:on_ready(fd, what)
    end
  end
  return served
end

return M
