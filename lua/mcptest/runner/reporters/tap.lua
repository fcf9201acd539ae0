-- mcptest.runner.reporters.tap: TAP version 12, one line per test as it
-- ends ("ok N - full name", "not ok N - full name" with "# " lines holding
-- the message, "ok N - name # SKIP reason", "# flaky: passed on attempt
-- N" after a test that passed on a retry), the plan "1..N" last.
-- Control characters show as \xNN, never reaching the terminal raw.
local reporters = require("mcptest.runner.reporters")
local visible = reporters.visible

return function(write)
  local n = 0
  local function comment(prefix, text)
    for line in (visible(text) .. "\n"):gmatch("([^\n]*)\n") do write("# " .. prefix .. line .. "\n") end
  end
  -- one line per test: a newline in a name would start a line of its own
  local function name(t) return (visible(t.full):gsub("\n", "\\n")) end
  local R = {}
  function R.test(t)
    n = n + 1
    local title = name(t)
    if t.status == "passed" then
      write(string.format("ok %d - %s\n", n, title))
      if t.flaky then write(string.format("# flaky: passed on attempt %d\n", t.attempts)) end
    elseif t.status == "skipped" then
      write(string.format("ok %d - %s # SKIP %s\n", n, title, (visible(t.message or "pending"):gsub("\n.*", ""))))
    else
      write(string.format("not ok %d - %s\n", n, title))
      if t.status == "errored" then write("# errored (an error, not a failed assertion)\n") end
      if t.message then comment("", t.message) end
    end
  end
  function R.finish(results)
    for _, f in ipairs(results.files) do
      if f.not_run then write("# " .. visible(f.name) .. " not run: " .. visible(f.not_run) .. "\n") end
    end
    write(string.format("1..%d\n", n))
  end
  return R
end
