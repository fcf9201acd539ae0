-- mcptest.runner.reporters.terminal: what a person reads. Each test as it
-- ends, under its file and describe names (a spec-style tree) with its
-- status and time; with --quiet one character per test instead (. F E s).
-- Then every failure in full, the slowest tests, and a summary line with
-- the counts and the total time. Formats: utf (UTF-8 marks), plain
-- (ASCII), terminal (utf on a terminal, plain otherwise). Colours follow
-- --color: auto (a terminal, and NO_COLOR unset or empty), always, never.
-- Control characters in names and messages show as \xNN.
local reporters = require("mcptest.runner.reporters")
local visible, seconds = reporters.visible, reporters.seconds

local MARKS = {
  utf = { passed = "✓", failed = "✗", errored = "!", skipped = "-" },
  plain = { passed = "ok", failed = "FAIL", errored = "ERROR", skipped = "skip" },
}
local DOTS = { passed = ".", failed = "F", errored = "E", skipped = "s" }
local COLOURS = { passed = "32", failed = "31", errored = "31", skipped = "33", dim = "2", bold = "1" }

return function(write, opts)
  local style = opts.format
  if style == "terminal" then style = opts.isatty and "utf" or "plain" end
  local no_color = (os.getenv("NO_COLOR") or "") ~= ""
  local colour
  if opts.color == "always" then colour = true
  elseif opts.color == "never" then colour = false
  else colour = opts.isatty and not no_color end
  local marks = MARKS[style]

  local function c(what, s)
    if not colour then return s end
    return "\27[" .. COLOURS[what] .. "m" .. s .. "\27[0m"
  end

  local R = {}
  local last_file, last_path, dots = nil, {}, 0
  function R.test(t)
    if opts.quiet then
      write(c(t.status, DOTS[t.status]))
      dots = dots + 1
      if dots % 80 == 0 then write("\n") end
      return
    end
    if t.file ~= last_file then
      write((last_file and "\n" or "") .. c("bold", visible(t.file)) .. "\n")
      last_file, last_path = t.file, {}
    end
    -- the describe names that differ from the previous test's
    local same = 0
    while same < #t.path and last_path[same + 1] == t.path[same + 1] do same = same + 1 end
    for i = same + 1, #t.path do
      write(string.rep("  ", i) .. visible(t.path[i]) .. "\n")
    end
    last_path = t.path
    local line = string.rep("  ", #t.path + 1) .. c(t.status, marks[t.status]) .. " " .. visible(t.name)
    if t.status == "skipped" then
      line = line .. c("dim", " (" .. visible((t.message or "pending"):gsub("\n.*", "")) .. ")")
    elseif t.flaky then
      line = line .. c("skipped", " (flaky: passed on attempt " .. t.attempts .. ", " .. seconds(t.duration) .. ")")
    else
      line = line .. c("dim", " (" .. seconds(t.duration) .. ")")
    end
    write(line .. "\n")
  end

  function R.finish(results)
    if opts.quiet and dots % 80 ~= 0 then write("\n") end
    local bad = {}
    for _, t in ipairs(results.tests) do
      if t.status == "failed" or t.status == "errored" then bad[#bad + 1] = t end
    end
    if #bad > 0 then
      write("\n")
      for i, t in ipairs(bad) do
        write(c(t.status, (t.status == "failed" and "Failure " or "Error ") .. i .. ": ")
          .. visible(t.full) .. "\n")
        local text = visible(t.message or "(no message)")
        write("  " .. text:gsub("\n", "\n  ") .. "\n\n")
      end
    end
    for _, f in ipairs(results.files) do
      if f.not_run then write(visible(f.name) .. ": not run (" .. visible(f.not_run) .. ")\n") end
    end
    -- the slowest tests, when some took long enough to matter
    local slow = {}
    for _, t in ipairs(results.tests) do
      if t.duration >= 0.05 then slow[#slow + 1] = t end
    end
    if #slow > 0 and #results.tests > 1 then
      table.sort(slow, function(a, b) return a.duration > b.duration end)
      local parts = {}
      for i = 1, math.min(3, #slow) do
        parts[#parts + 1] = visible(slow[i].full) .. " (" .. seconds(slow[i].duration) .. ")"
      end
      write(c("dim", "slowest: " .. table.concat(parts, ", ")) .. "\n")
    end
    local flaky = {}
    for _, t in ipairs(results.tests) do
      if t.flaky then flaky[#flaky + 1] = visible(t.full) .. " (attempt " .. t.attempts .. ")" end
    end
    if #flaky > 0 then
      write(c("skipped", #flaky .. " flaky (passed on a retry): " .. table.concat(flaky, ", ")) .. "\n")
    end
    local n = results.counts
    local files = #results.files == 1 and "1 file" or (#results.files .. " files")
    write(string.format("%s, %s, %s, %s in %s (%d %s, %s)\n",
      c(n.passed > 0 and "passed" or "dim", n.passed .. " passed"),
      c(n.failed > 0 and "failed" or "dim", n.failed .. " failed"),
      c(n.errored > 0 and "errored" or "dim", n.errored .. " errored"),
      c(n.skipped > 0 and "skipped" or "dim", n.skipped .. " skipped"),
      seconds(results.duration), #results.tests, #results.tests == 1 and "test" or "tests", files))
  end
  return R
end
