-- Time limits that hold: once a test or hook is over --test-timeout, the
-- limit cannot be swallowed by pcall, nor dodged in a hook or a coroutine
-- (spec/data/cli/limits_hold.lua is stuck in each of those ways).
local sys = require("mcptest.core.sys")
local BIN = os.getenv("MCPTEST_BIN") or "build/mcptest"
local SRC = os.getenv("MCPTEST_SRC") or "."
-- a memory bound for a run that once grew without end (ASan cannot run under one)
local ULIMIT = os.getenv("MCPTEST_SANITIZE_BUILD") and "" or "ulimit -v 2000000; "

describe("--test-timeout", function()
  it("ends blocks stuck under pcall, in hooks and in coroutines, and the run goes on", function()
    local t0 = sys.now()
    -- bounded from outside: before the fix this run never ended
    local p = io.popen(string.format(ULIMIT .. "timeout -s KILL 60 %s run %s/spec/data/cli/limits_hold.lua"
      .. " -o tap --test-timeout 0.5 2>&1", BIN, SRC))
    local out = p:read("a")
    p:close()
    assert.is_true(sys.now() - t0 < 30, "took " .. (sys.now() - t0) .. " s:\n" .. out)
    for _, name in ipairs({ "retries a dead server forever under pcall", "swallows every error in a loop",
        "loops inside a coroutine", "loops with pcall inside a coroutine made before the test",
        "a stuck teardown teardown", "a stuck before_each never starts", "a stuck after_each passes first" }) do
      assert.matches("not ok %d+ %- " .. name:gsub("%p", "%%%0") .. "\n# [^\n]*\n# [^\n]*time limit of 0.5 s", out)
    end
    -- the message names the line the block was stuck on, even in a hook
    -- (not a line inside busted) and in a coroutine (the line that resumed it)
    assert.matches("limits_hold.lua:37: test exceeded its time limit", out, 1, true)
    assert.matches("limits_hold.lua:18: test exceeded its time limit", out, 1, true)
    assert.matches("ok 5 - a stuck teardown passes before it", out, 1, true)
    assert.matches("ok 9 - runs after the stuck ones, where coroutines behave as usual", out, 1, true)
  end)

  it("lets SIGTERM end a block that swallows every error, with no time limit", function()
    local t0 = sys.now()
    local p = io.popen(string.format(ULIMIT .. "timeout -s KILL 30 %s run %s/spec/data/cli/stuck_pcall.lua"
      .. " -o tap --test-timeout 0 2>&1 & pid=$!; sleep 1.5; kill -TERM $pid; wait $pid; echo rc=$?", BIN, SRC))
    local out = p:read("a")
    p:close()
    assert.is_true(sys.now() - t0 < 15, "took " .. (sys.now() - t0) .. " s:\n" .. out)
    assert.matches("STARTED", out, 1, true)
    assert.matches("rc=143", out, 1, true)
    assert.is_nil(out:find("SECOND TEST RAN", 1, true), out)
  end)
end)
