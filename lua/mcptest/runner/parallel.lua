-- mcptest.runner.parallel: `mcptest run -j N`: the files run in up to N
-- worker processes at once (`mcptest run FILE -o json:TMP` with the same
-- options), and their JSON reports are read back, in file order, into the
-- one record every report format is written from (mcptest.runner.results),
-- as if one process had run them. Processes rather than threads: a file's
-- servers, globals and time limits stay its own, and a worker that
-- crashes is that file's error, not the run's.
--
-- What a worker prints (its stdout and stderr) is held and written when
-- its file is reported, so lines of two files never interleave. The
-- selection (filters and tags) is judged over the whole run: each worker
-- reports what it selected (MCPTEST_WORKER_STATE) and the parent says
-- "no test selected" or "matched no test" once, as a serial run would.
local json = require("mcptest.json")
local sys = require("mcptest.core.sys")
local poll = require("mcptest.core.poll")
local process = require("mcptest.core.process")
local results_ = require("mcptest.runner.results")
local reporters = require("mcptest.runner.reporters")

local M = {}

-- What a worker's output may hold before the rest is cut (a file that
-- prints without end must not grow the parent).
M.MAX_OUTPUT = 4 * 1024 * 1024

local function slurp(path)
  local f = io.open(path, "r")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

local function tail(s, n)
  s = s:gsub("%s+$", "")
  if #s <= n then return s end
  return "..." .. s:sub(-n)
end

-- One job: a file (and under --repeat, which run of it).
local function start(job, worker_args, bin, dir)
  local base = dir .. "/" .. job.index
  job.json, job.state = base .. ".json", base .. ".state"
  local argv = { bin, "run", job.file, "-o", "json:" .. job.json, "--allow-empty" }
  for _, a in ipairs(worker_args.options) do argv[#argv + 1] = a end
  if #worker_args.pass > 0 then
    argv[#argv + 1] = "--"
    for _, a in ipairs(worker_args.pass) do argv[#argv + 1] = a end
  end
  -- where the worker says what it selected; it unsets the variable at
  -- once, so processes it starts in turn do not inherit it
  sys.setenv("MCPTEST_WORKER_STATE", job.state)
  local proc, err = process.spawn{ argv = argv }
  sys.setenv("MCPTEST_WORKER_STATE", nil)
  if not proc then
    job.failed_to_start = tostring(err and err.message or err)
    return false
  end
  job.proc, job.out, job.err, job.size = proc, {}, {}, 0
  job.started = sys.now()
  return true
end

-- Read what a running worker wrote; true once it has exited and its
-- pipes are drained.
local function pump(job)
  local p = job.proc
  local lines, n, eof = p:read_lines()
  for i = 1, n or 0 do
    if job.size < M.MAX_OUTPUT then job.out[#job.out + 1] = lines[i] end
    job.size = job.size + #lines[i] + 1
  end
  job.out_eof = job.out_eof or eof
  local e, eeof = p:read_stderr()
  job.err_eof = job.err_eof or eeof
  if e and e ~= "" then
    if job.size < M.MAX_OUTPUT then job.err[#job.err + 1] = e end
    job.size = job.size + #e
  end
  local st, code = p:status()
  if st ~= "running" and (eof or st ~= "running") then
    -- drain what is left
    local more, m = p:read_lines()
    for i = 1, m or 0 do job.out[#job.out + 1] = more[i] end
    local rest = p:read_stderr()
    if rest and rest ~= "" then job.err[#job.err + 1] = rest end
    p:close(0)
    job.status, job.code = st, code
    job.duration = sys.now() - job.started
    return true
  end
  return false, eeof
end

-- The job's report into results (file entries appended in order), or an
-- errored entry that says why the worker gave none.
local function ingest(results, job, stats)
  local nfiles, ntests = #results.files, #results.tests
  local ok, err
  if job.failed_to_start then
    err = "the worker could not start: " .. job.failed_to_start
  else
    -- any exit with a whole report (a worker stopped by SIGTERM writes
    -- one); a worker that died leaves none, or an empty file
    local text = slurp(job.json)
    if text and text:find("%S") then ok, err = results_.read_json(results, job.json, {}) end
    if not ok then
      local how = job.status == "signaled" and ("was killed by signal " .. tostring(job.code))
        or ("exited with code " .. tostring(job.code))
      local why = tail(table.concat(job.err), 600)
      err = "the worker running this file " .. how .. " before it wrote its report"
        .. (err and (" (" .. err .. ")") or "") .. (why ~= "" and (": " .. why) or "")
    end
  end
  if not ok then
    -- the tests already read from a half-written report are dropped
    for i = #results.files, nfiles + 1, -1 do results.files[i] = nil end
    for i = #results.tests, ntests + 1, -1 do
      local t = results.tests[i]
      results.counts[t.status] = results.counts[t.status] - 1
      results.tests[i] = nil
    end
    local f = results:file(job.file)
    f.duration = job.duration or 0
    results:add(f, { name = "worker", status = "errored", pseudo = true, message = err,
                     type = "mcptest.worker", where = job.file })
  end
  if job.label then
    for i = nfiles + 1, #results.files do results.files[i].name = results.files[i].name .. job.label end
    for i = ntests + 1, #results.tests do results.tests[i].file = results.tests[i].file .. job.label end
  end
  if job.code == 3 then stats.unreachable = true end
  local state = job.state and slurp(job.state)
  local okj, st = pcall(json.decode, state or "")
  if okj and type(st) == "table" then
    stats.selected = stats.selected + (tonumber(st.selected) or 0)
    stats.defined = stats.defined + (tonumber(st.defined) or 0)
    for _, k in ipairs(type(st.hits) == "table" and st.hits or {}) do stats.hits[k] = true end
  end
  for i = ntests + 1, #results.tests do
    local t = results.tests[i]
    if t.status == "failed" or t.status == "errored" then stats.failed = true end
  end
end

-- Write what the worker printed, after the file's tests are reported.
local function replay(job, to_stderr)
  local out = job.out and table.concat(job.out, "\n") or ""
  if out ~= "" then
    local dest = to_stderr and io.stderr or io.stdout
    dest:write(out, "\n")
  end
  local err = job.err and table.concat(job.err) or ""
  -- the worker's own notes (its report paths, the shuffle seed) are the parent's to give
  err = err:gsub("mcptest: tests shuffled with seed [^\n]*\n", "")
  if err ~= "" then io.stderr:write(err) end
  if job.size and job.size > M.MAX_OUTPUT then
    io.stderr:write("mcptest: ", job.file, ": ", job.size - M.MAX_OUTPUT,
      " more bytes of output cut (-j keeps ", M.MAX_OUTPUT, " bytes per file)\n")
  end
end

-- files: the files to run, in order; opts: the run's options (as for
-- mcptest.runner.run) plus jobs (N); worker_args: { options = the argv
-- every worker gets, pass = the script's arguments }; sel: the run's
-- mcptest.runner.select (for the empty-selection message). Returns the
-- exit code.
function M.run(files, opts, worker_args, sel)
  local plan, plan_err = reporters.plan(opts.outputs, opts.output_file)
  if not plan then
    io.stderr:write("mcptest: ", plan_err, "\n")
    return 2
  end
  local report, report_err = reporters.open(plan, opts)
  if not report then
    io.stderr:write("mcptest: ", report_err, "\n")
    return 2
  end
  local to_stderr = reporters.machine_on_stdout(plan)
  -- the workers' reports: a private directory, removed at the end
  local dir = os.tmpname()
  os.remove(dir)
  local fs = require("mcptest.core.fs")
  local okd, derr = fs.mkdir(dir, tonumber("700", 8))
  if not okd then
    io.stderr:write("mcptest: -j: cannot create ", dir, ": ", tostring(derr), "\n")
    return 2
  end
  local bin = "/proc/self/exe"

  local jobs = {}
  local runs = opts.repeat_n or 1
  for r = 1, runs do
    for _, file in ipairs(files) do
      jobs[#jobs + 1] = { file = file, index = #jobs + 1, label = runs > 1 and (" (run " .. r .. "/" .. runs .. ")") or nil }
    end
  end

  local results = results_.new()
  local stats = { selected = 0, defined = 0, hits = {}, failed = false, unreachable = false }
  local t0 = sys.now()
  local next_start, next_report, running, nrunning, reported = 1, 1, {}, 0, 0
  local stopped -- why no more files start (--fail-fast, a signal)
  while next_report <= #jobs do
    if sys.interrupted() and not stopped then
      stopped = "interrupted"
      for job in pairs(running) do job.proc:close(0.5) end
    end
    -- start workers while there is room
    while not stopped and next_start <= #jobs and nrunning < opts.jobs do
      local job = jobs[next_start]
      next_start = next_start + 1
      if start(job, worker_args, bin, dir) then
        running[job], nrunning = true, nrunning + 1
      else
        job.done = true
      end
    end
    -- wait for output or an exit
    if nrunning > 0 then
      -- a worker whose pipes are closed has exited or is about to: its
      -- exit is no event poll sees, so look again soon
      local fds, wait = {}, 0.2
      for job in pairs(running) do
        local out, err = job.proc:fds()
        if out and out >= 0 then fds[#fds + 1] = out end
        if err and err >= 0 then fds[#fds + 1] = err end
        if job.out_eof and job.err_eof then wait = 0.005 end
      end
      -- a signal ends the wait with "interrupted!": the loop's top stops the workers
      local okw, werr = pcall(poll.wait, fds, nil, wait)
      if not okw and not sys.interrupted() then error(werr, 0) end
      for job in pairs(running) do
        if pump(job) then running[job], nrunning, job.done = nil, nrunning - 1, true end
      end
    end
    -- report the files that are done, in order; after a stop, the files
    -- never started are "not run"
    while next_report <= #jobs do
      local job = jobs[next_report]
      if job.done then
        ingest(results, job, stats)
        for i = reported + 1, #results.tests do report.test(results.tests[i], results) end
        reported = #results.tests
        replay(job, to_stderr)
        if opts.fail_fast and stats.failed and not stopped then stopped = "--fail-fast stopped the run" end
      elseif stopped and next_report >= next_start then
        results:file(job.file .. (job.label or "")).not_run = stopped
      else
        break
      end
      next_report = next_report + 1
    end
  end
  results.duration = sys.now() - t0
  os.execute("rm -rf '" .. dir .. "'")
  local wrote, write_err = report.finish(results)
  if not wrote then io.stderr:write("mcptest: ", write_err, "\n") end

  if opts.seed then
    io.stderr:write("mcptest: tests shuffled with seed ", tostring(opts.seed), " (--seed ", tostring(opts.seed),
      " runs them in this order again)\n")
  end
  local sig = sys.interrupted()
  if sig then
    io.stderr:write("mcptest: interrupted; workers stopped, remaining files not run\n")
    return 128 + sig
  end
  if stats.unreachable then return 3 end
  -- the selection over the whole run, as one process would judge it
  sel.selected, sel.defined, sel.hits = stats.selected, stats.defined, stats.hits
  return results:exit_code(sel, opts.allow_empty, wrote)
end

return M
