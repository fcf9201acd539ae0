-- mcptest.cli.run: `mcptest run FILE...` and its implicit form
-- `mcptest SCRIPT.lua [ARGS...]`: run scripts in one report through the
-- runner (mcptest.runner), which is loaded only here, when a run starts.
local common = require("mcptest.cli.common")

local M = {
  name = "run",
  summary = "run Lua test scripts in one report (also: mcptest SCRIPT.lua)",
  usage = {
    "mcptest SCRIPT.lua [OPTIONS] [ARGS...]",
    "mcptest run FILE|DIR... [OPTIONS] [-- ARGS...]",
  },
  words = "files",
  help = [[
Runs busted-style scripts (describe, it, assert and the MCP matchers) or
plain scripts with top-level asserts, and reports every test. A DIR runs
the suites under it (*_spec.lua, *.test.lua; every level, sorted); a FILE
named runs whatever its name. Options may stand before or after the
script. Plain words after SCRIPT.lua reach it in the global arg table; a
word starting with "-" that is not an option below is a usage error;
after "--" every word reaches the script(s).]],
  options = {
    { title = "Report",
      { "--output", "-o", arg = "FORMAT[:PATH]", repeatable = true,
        help = "a report: terminal (default: utf on a terminal, plain otherwise), plain, utf, tap, junit or json; "
          .. "FORMAT:PATH writes it to the file PATH (repeatable: -o terminal -o junit:report.xml; at most one report goes to stdout)" },
      { "--output-file", arg = "F",
        help = "write the one report given without a PATH to F instead of stdout (the terminal format is plain in a file)" },
      { "--quiet", "-q",
        help = "terminal report: one character per test (. F E s) instead of the tree" },
      { "--color", arg = "WHEN", choices = { "auto", "always", "never" }, what = "--color value",
        help = "colours in the terminal report: auto (default: on a terminal, unless NO_COLOR is set), always, never" },
    },
    { title = "Selection",
      { "--filter", arg = "TEXT", repeatable = true,
        help = "run only tests whose full name (describe names and test name) contains TEXT, plain text (repeatable: any of them)" },
      { "--filter-pattern", arg = "LUAPAT", repeatable = true,
        help = "run only tests whose full name matches the Lua pattern LUAPAT (repeatable; a bad pattern is a usage error)" },
      { "--filter-out", arg = "TEXT", repeatable = true,
        help = "skip tests and describe blocks whose full name contains TEXT (repeatable)" },
      { "--filter-out-pattern", arg = "LUAPAT", repeatable = true,
        help = "skip tests and describe blocks whose full name matches the Lua pattern LUAPAT (repeatable)" },
      { "--tags", arg = "T", repeatable = true,
        help = "run only tests tagged #T in their name or a describe's name, whole tags (comma list, repeatable)" },
      { "--exclude-tags", arg = "T", repeatable = true,
        help = "skip tests tagged #T (comma list, repeatable)" },
      { "--allow-empty",
        help = "a selection that picks no test passes (without it: exit 2 naming the filter or tag)" },
    },
    { title = "Running",
      { "--list",
        help = "print the tests that would run (file:line: full name, #tags included) and exit 0; files' top-level code and describe bodies run, setup hooks and tests do not" },
      { "--fail-fast",
        help = "stop after the first failed or errored test; the tests left are reported skipped" },
      { "--repeat", arg = "N",
        help = "run the files N times (flaky-test hunting); each run's files are reported as FILE (run I/N)" },
      { "--shuffle",
        help = "run files, and the tests of every block, in a random order; the seed is printed on stderr" },
      { "--seed", arg = "N",
        help = "the seed of --shuffle's order (implies --shuffle): the same seed runs the same order" },
      { "--test-timeout", arg = "S",
        help = "time limit per test and per file's top-level code (default 600; 0: none)" },
      { "-j", arg = "N",
        help = "run the files in N worker processes (default 1); the reports are those of one run, in file order" },
      { "--shard", arg = "I/N",
        help = "run only part I of N of the files (file k, in run order, is in part ((k-1) mod N)+1): N CI jobs run disjoint parts" },
      { "--shard-durations", arg = "REPORT.json",
        help = "with --shard: balance the parts by each file's time in this JSON report of an earlier run (-o json:PATH) instead of by position" },
      { "--watch",
        help = "run, then run again whenever a suite or a file beside it or under a DIR named changes (Ctrl-C stops)" },
      { "--update-snapshots", help = "rewrite the stored snapshots the tests check (YAML `snapshot:`)" },
    },
    common.client_defaults,
  },
}

-- "a,b" repeated -> {"a","b"}
local function list_option(values)
  local out = {}
  for _, v in ipairs(values or {}) do
    for item in v:gmatch("[^,]+") do out[#out + 1] = item end
  end
  return out
end

-- opts, words from mcptest.cli.parse; pass: the scripts' arguments;
-- implicit: the `mcptest SCRIPT.lua` form (words is the script alone).
function M.main(opts, words, pass, implicit)
  local function usage(msg) return common.usage_error(msg, "run") end
  if #words == 0 then return usage(implicit and "no script given" or "run needs at least one FILE or DIR") end
  local ok, err = common.apply_client_defaults(opts)
  if not ok then return usage(err) end
  local plan, plan_err = require("mcptest.runner.reporters").plan(opts["--output"], opts["--output-file"])
  if not plan then return usage(plan_err) end
  local test_timeout = 600
  if opts["--test-timeout"] then
    test_timeout = tonumber(opts["--test-timeout"])
    if not test_timeout or test_timeout < 0 or test_timeout ~= test_timeout or test_timeout == math.huge then
      return usage("--test-timeout needs a finite number of seconds (0: no limit), got " .. tostring(opts["--test-timeout"]))
    end
  end
  local repeat_n, seed = 1, nil
  if opts["--repeat"] then
    repeat_n = math.tointeger(tonumber(opts["--repeat"]))
    if not repeat_n or repeat_n < 1 then return usage("--repeat needs a whole number of runs, 1 or more") end
  end
  if opts["--seed"] then
    seed = math.tointeger(tonumber(opts["--seed"]))
    if not seed or seed < 0 then return usage("--seed needs a whole number, 0 or more") end
  end
  local jobs = 1
  if opts["-j"] then
    jobs = math.tointeger(tonumber(opts["-j"]))
    if not jobs or jobs < 1 then return usage("-j needs a whole number of worker processes, 1 or more, got " .. opts["-j"]) end
  end
  local shard_i, shard_n
  if opts["--shard"] then
    local i, n = opts["--shard"]:match("^(%d+)/(%d+)$")
    shard_i, shard_n = math.tointeger(tonumber(i)), math.tointeger(tonumber(n))
    if not shard_i or shard_n < 1 or shard_i < 1 or shard_i > shard_n then
      return usage("--shard takes I/N with 1 <= I <= N (e.g. --shard 2/4), got " .. opts["--shard"])
    end
  end
  local files, ferr = require("mcptest.runner.files").expand(words)
  if not files then return usage(ferr) end
  if #files == 0 then
    if opts["--allow-empty"] then return 0 end
    return usage("no suite to run in " .. table.concat(words, " ") .. " (--allow-empty makes this a pass)")
  end
  if opts["--shard-durations"] and not shard_n then
    return usage("--shard-durations balances --shard's parts; give --shard I/N too")
  end
  if shard_n then
    local all = #files
    if opts["--shard-durations"] then
      local durations, derr = M.durations(opts["--shard-durations"])
      if not durations then return usage(derr) end
      files = M.shard_by_time(files, shard_i, shard_n, durations)
    else
      files = M.shard(files, shard_i, shard_n)
    end
    if #files == 0 then
      if opts["--allow-empty"] then return 0 end
      io.stderr:write("mcptest: no test selected: --shard ", opts["--shard"], " selected no file (", all,
        all == 1 and " file" or " files", " in all; --allow-empty makes this a pass)\n")
      return 2
    end
  end
  if opts["--update-snapshots"] then require("mcptest.snapshot").update = true end
  -- a -j worker (mcptest.runner.parallel sets MCPTEST_WORKER): the
  -- variable is this process's alone, not that of the commands its tests
  -- run (an mcptest a test starts must warn as usual)
  local worker = os.getenv("MCPTEST_WORKER") == "1"
  if worker then require("mcptest.core.sys").setenv("MCPTEST_WORKER", nil) end
  local run_opts = {
    worker = worker,
    outputs = opts["--output"], output_file = opts["--output-file"],
    quiet = opts["--quiet"], color = opts["--color"],
    filter = opts["--filter"], filter_pattern = opts["--filter-pattern"],
    filter_out = opts["--filter-out"], filter_out_pattern = opts["--filter-out-pattern"],
    allow_empty = opts["--allow-empty"], list = opts["--list"], fail_fast = opts["--fail-fast"],
    repeat_n = repeat_n, seed = seed, shuffle = opts["--shuffle"],
    tags = list_option(opts["--tags"]), exclude_tags = list_option(opts["--exclude-tags"]),
    verbose = opts["--verbose"], args = pass, test_timeout = test_timeout,
    jobs = jobs, timeout = opts["--timeout"], update_snapshots = opts["--update-snapshots"],
    worker_options = M.worker_options(opts),
  }
  if opts["--watch"] then
    if opts["--list"] then return usage("--watch and --list do not go together") end
    return require("mcptest.runner.watch").run(words, files, run_opts)
  end
  -- preflight first: a file that does not load is exit 2 before any worker starts
  if jobs > 1 and #files > 1 and not opts["--list"] then
    local chunks, perr, located = require("mcptest.runner.files").preflight(files)
    if not chunks then
      io.stderr:write(located and "" or "mcptest: ", perr, "\n")
      return 2
    end
    return require("mcptest.runner.parallel").run(files, run_opts)
  end
  return require("mcptest.runner").run(files, run_opts)
end

-- --shard I/N: the files whose place k (1-based, in the run's order:
-- sorted within each DIR, as named otherwise) has (k-1) mod N == I-1. The
-- same names on every machine give the same split; the N parts are
-- disjoint and their union is the whole run.
function M.shard(files, i, n)
  local out = {}
  for k, f in ipairs(files) do
    if (k - 1) % n == i - 1 then out[#out + 1] = f end
  end
  return out
end

-- file name -> seconds, from an earlier run's JSON report; or nil and a
-- message.
function M.durations(path)
  local results = require("mcptest.runner.results")
  local r = results.new()
  local ok, err = results.read_into(r, path, {})
  if not ok then return nil, "--shard-durations: " .. err end
  local out = {}
  for _, f in ipairs(r.files) do
    local name = f.name:gsub(" %(run %d+/%d+%)$", "")
    out[name] = (out[name] or 0) + (tonumber(f.duration) or 0)
  end
  return out
end

-- --shard I/N --shard-durations: the longest file first to the part with
-- the least time so far (ties: the lower part), a file the report does
-- not hold counted at the mean time of those it does. The same files and
-- report give the same split on every machine; the parts are disjoint
-- and their union is the whole run. The files keep the run's order.
function M.shard_by_time(files, i, n, durations)
  local sum, known = 0, 0
  for _, f in ipairs(files) do
    if durations[f] then sum, known = sum + durations[f], known + 1 end
  end
  local mean = known > 0 and sum / known or 1
  local order = {}
  for k, f in ipairs(files) do order[k] = { file = f, k = k, t = durations[f] or mean } end
  table.sort(order, function(a, b)
    if a.t ~= b.t then return a.t > b.t end
    return a.k < b.k
  end)
  local load, part = {}, {}
  for p = 1, n do load[p] = 0 end
  for _, e in ipairs(order) do
    local best = 1
    for p = 2, n do if load[p] < load[best] then best = p end end
    load[best] = load[best] + e.t
    part[e.k] = best
  end
  local out = {}
  for k, f in ipairs(files) do if part[k] == i then out[#out + 1] = f end end
  return out
end

-- The options a -j worker gets (mcptest.runner.parallel): every option
-- given, as given, less those the parent keeps (reports, splitting,
-- listing, the seed it draws itself).
local PARENT_ONLY = {
  ["--output"] = true, ["--output-file"] = true, ["--quiet"] = true, ["--color"] = true,
  ["-j"] = true, ["--shard"] = true, ["--shard-durations"] = true, ["--watch"] = true,
  ["--list"] = true, ["--allow-empty"] = true, ["--shuffle"] = true, ["--seed"] = true,
}
function M.worker_options(opts)
  local argv = {}
  for _, group in ipairs(M.options) do
    for _, o in ipairs(group) do
      local name, v = o[1], opts[o[1]]
      if v ~= nil and v ~= false and not PARENT_ONLY[name] then
        if not o.arg then
          argv[#argv + 1] = name
        else
          for _, x in ipairs(type(v) == "table" and v or { v }) do
            argv[#argv + 1] = name; argv[#argv + 1] = tostring(x)
          end
        end
      end
    end
  end
  return argv
end

return M
