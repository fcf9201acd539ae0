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
or errored, 2 for a report that cannot be read.
The -o json summaries of `mcptest load` (the shards of one load, run
with --shard I/N) merge the same way: counters, rates and checks add
up, the latency histograms merge bucket by bucket and every percentile
is recomputed from the merged counts (never averaged), and each
threshold is evaluated again; -o text (default), json or junit; exit 0
when every threshold holds, 1 when one is crossed.]],
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

-- The summaries of `mcptest load` runs (mcptest.load.merge), written as
-- one run's: text on stdout by default, json or junit as load writes them.
local LOAD_FORMATS = { text = "text", terminal = "text", plain = "text", utf = "text", json = "json", junit = "junit" }
function M.merge_load(opts, docs, paths)
  local function usage(msg) return common.usage_error(msg, "report") end
  local outs, stdout = {}, 0
  for _, o in ipairs(opts["--output"] or { "text" }) do
    local fmt, path = o:match("^([%w]+):(.+)$")
    fmt = fmt or o
    if not LOAD_FORMATS[fmt] then
      return usage("load summaries merge into text, json or junit, not " .. fmt)
    end
    if not path then
      path = opts["--output-file"]
      if not path then stdout = stdout + 1 end
    end
    outs[#outs + 1] = { format = LOAD_FORMATS[fmt], path = path }
  end
  if stdout > 1 then return usage("at most one -o format goes to stdout; give the others a :PATH") end
  for i, doc in ipairs(docs) do
    if not require("mcptest.load").is_summary(doc) then
      io.stderr:write("mcptest: ", paths[i], " is not a `mcptest load` summary like ", paths[1],
        "; merge test reports and load summaries separately\n")
      return 2
    end
  end
  local run, elapsed = require("mcptest.load").merge(docs, paths)
  if not run then
    io.stderr:write("mcptest: ", elapsed, "\n")
    return 2
  end
  local json = require("mcptest.json")
  for _, o in ipairs(outs) do
    local body
    if o.format == "json" then body = json.encode(run:report(elapsed)) .. "\n"
    elseif o.format == "junit" then body = run:junit(elapsed)
    else
      body = string.format("\n  merged: %d summaries, %.2fs (the longest)\n\n", #docs, elapsed)
        .. table.concat(run:summary_lines(elapsed), "\n") .. "\n"
    end
    if o.path then
      local f, ferr = io.open(o.path, "w")
      if not f then
        io.stderr:write("mcptest: cannot write ", o.path, ": ", tostring(ferr), "\n")
        return 2
      end
      f:write(body)
      f:close()
    else
      io.write(body)
    end
  end
  for _, th in ipairs(run.thresholds) do if not th.ok then return 1 end end
  return 0
end

function M.main(opts, words)
  local function usage(msg) return common.usage_error(msg, "report") end
  if words[1] ~= "merge" then
    return usage(words[1] and ("unknown report command " .. words[1] .. " (report has: merge)")
      or "report needs a command: mcptest report merge REPORT.json...")
  end
  if not words[2] then return usage("report merge needs at least one REPORT.json") end
  -- load summaries (mcptest load -o json) merge their own way
  local first = io.open(words[2], "r")
  if first then
    local ok, doc = pcall(require("mcptest.json").decode, first:read("a"))
    first:close()
    if ok and require("mcptest.load").is_summary(doc) then
      local docs, paths = {}, {}
      for i = 2, #words do
        local f, ferr = io.open(words[i], "r")
        if not f then io.stderr:write("mcptest: cannot read the report ", tostring(ferr), "\n"); return 2 end
        local dok, d = pcall(require("mcptest.json").decode, f:read("a"))
        f:close()
        if not dok then io.stderr:write("mcptest: ", words[i], " is not JSON (", tostring(d):gsub("\n.*", ""), ")\n"); return 2 end
        docs[#docs + 1], paths[#paths + 1] = d, words[i]
      end
      return M.merge_load(opts, docs, paths)
    end
  end
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
