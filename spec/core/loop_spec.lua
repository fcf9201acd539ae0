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
