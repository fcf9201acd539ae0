-- The loop's timer heap: due timers run in time order (ties in the order
-- they were made), cancelled ones never run, and cancelling many does not
-- leave them piling up behind a live timer due much later.
local loop = require("mcptest.loop")
local sys = require("mcptest.core.sys")

describe("loop timers", function()
  it("run in time order, ties in creation order, cancelled ones never", function()
    local fired, timers, want = {}, {}, {}
    math.randomseed(7)
    for i = 1, 600 do
      local delay = math.random(0, 30) / 1000
      timers[i] = { delay = delay, t = loop.after(delay, function() fired[#fired + 1] = i end) }
    end
    for i = 1, 600 do
      if math.random() < 0.7 then timers[i].t:cancel(); timers[i].t:cancel() -- twice is harmless
      else want[#want + 1] = i end
    end
    table.sort(want, function(a, b)
      local ta, tb = timers[a].t.at, timers[b].t.at
      if ta ~= tb then return ta < tb end
      return a < b
    end)
    local deadline = sys.now() + 5
    while #fired < #want and sys.now() < deadline do loop.step(0.01) end
    loop.step(0.05)
    assert.are.same(want, fired)
  end)

  it("drops cancelled timers that sit behind a live one due much later", function()
    local base = loop.queued_timers()
    local late = loop.after(3600, function() error("never due in this test") end)
    for _ = 1, 5000 do loop.after(30, function() end):cancel() end
    local n = loop.queued_timers() - base
    assert.is_true(n <= 2 * 1 + 65, n .. " timers queued for 1 live one")
    late:cancel()
  end)
end)

describe("loop.suspend", function()
  -- a task keeps one timer across waits: an old wait's timer coming due
  -- must not end a later, longer wait, nor outlive a shorter one
  it("wakes a wait at its own time, whatever the waits before it set", function()
    local got = {}
    local task = loop.spawn(function()
      local t0 = sys.now()
      loop.suspend(0.05) -- times out: the timer is due at +0.05
      got[1] = sys.now() - t0
      t0 = sys.now()
      loop.suspend(0.3)  -- a later deadline: the first timer fired already
      got[2] = sys.now() - t0
      loop.suspend(2)    -- woken at once below, its timer left due at +2
      t0 = sys.now()
      loop.suspend(0.1)  -- an earlier deadline than the timer it keeps
      got[3] = sys.now() - t0
    end)
    local deadline = sys.now() + 10
    while #got < 2 and sys.now() < deadline do loop.step(0.01) end
    loop.step(0.01)
    loop.wake(task) -- ends the 2 s wait early
    while not task.done and sys.now() < deadline do loop.step(0.01) end
    assert.is_true(task.done and task.error == nil, tostring(task.error))
    assert.is_true(got[1] >= 0.05 and got[1] < 2, "first wait " .. got[1])
    assert.is_true(got[2] >= 0.3 and got[2] < 2, "second wait " .. got[2])
    assert.is_true(got[3] >= 0.1 and got[3] < 1.9, "third wait " .. got[3])
    assert.is_nil(task.timer) -- a task that ended leaves no timer behind
  end)
end)
