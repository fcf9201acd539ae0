-- mcptest.cli.report: `mcptest report merge REPORT.json...`: the JSON
-- reports of several runs (CI jobs that each ran a part of a suite) read
-- back into one record and written in any format, as if one run had run
-- them all.
local common = require("mcptest.cli.common")

local M = {
  name = "report",
  summary = "merge the JSON reports of several runs into one report",
  usage = { "mcptest report merge REPORT.json... [-o FORMAT[:PATH]]..." },
  help = [[
Reads the JSON reports (-o json) of several runs and writes one report
of them all, in any format, as one run would have: the files in the
order given, every test with its status, message and time. The exit
code is the merged run's: 0 when every test passed, 1 when one failed
or errored, 2 for a report that cannot be read.]],
  options = {
    { title = "Report",
      { "--output", "-o", arg = "FORMAT[:PATH]", repeatable = true,
        help = "a report, as for run: terminal (default), plain, utf, tap, junit or json; FORMAT:PATH writes it to a file (repeatable; at most one to stdout)" },
      { "--output-file", arg = "F", help = "write the one report given without a PATH to F" },
      { "--quiet", "-q", help = "terminal report: one character per test instead of the tree" },
      { "--color", arg = "WHEN", choices = { "auto", "always", "never" }, what = "--color value",
        help = "colours in the terminal report: auto (default), always, never" },
    },
  },
}

-- Read one JSON report into results (the runner's reader, which -j's
-- parent uses too).
M.read_into = function(...) return require("mcptest.runner.results").read_into(...) end

function M.main(opts, words)
  local function usage(msg) return common.usage_error(msg, "report") end
  if words[1] ~= "merge" then
    return usage(words[1] and ("unknown report command " .. words[1] .. " (report has: merge)")
      or "report needs a command: mcptest report merge REPORT.json...")
  end
  if not words[2] then return usage("report merge needs at least one REPORT.json") end
  local reporters = require("mcptest.runner.reporters")
  local plan, plan_err = reporters.plan(opts["--output"], opts["--output-file"])
  if not plan then return usage(plan_err) end
  local results = require("mcptest.runner.results").new()
  local seen = {}
  for i = 2, #words do
    local ok, err = M.read_into(results, words[i], seen)
    if not ok then
      io.stderr:write("mcptest: ", err, "\n")
      return 2
    end
  end
  local report, err = reporters.open(plan, { color = opts["--color"], quiet = opts["--quiet"] })
  if not report then
    io.stderr:write("mcptest: ", err, "\n")
    return 2
  end
  for _, t in ipairs(results.tests) do report.test(t, results) end
  local wrote, werr = report.finish(results)
  if not wrote then
    io.stderr:write("mcptest: ", werr, "\n")
    return 2
  end
  local n = results.counts
  return (n.failed + n.errored > 0) and 1 or 0
end

return M
