-- mcptest.runner.parallel: `mcptest run -j N`. Each file runs in a worker
-- process (this binary again, `mcptest run FILE -o json:TMP`, started by
-- mcptest.core.process: no threads); the parent reads each worker's JSON
-- report back (mcptest.runner.results.read_into, as report merge) and writes the reports in
-- the files' order, so every format holds what a -j 1 run holds, timings
-- apart. A worker that exits without a readable report (a crash, a kill)
-- is an errored entry of its file, never a vanished file. What workers
-- print is passed on whole lines at a time, so two workers' output never
-- mixes inside a line.
local reporters = require("mcptest.runner.reporters")
local sys = require("mcptest.core.sys")
local fs = require("mcptest.core.fs")
local poll = require("mcptest.core.poll")
local process = require("mcptest.core.process")

local M = {}
M.CHUNK = 32 -- files per worker at most

-- The worker's argv: the run's own options as given (o.worker_options,
-- made by mcptest.cli.run from its option table, so an option added to
-- `run` reaches the workers without a line here), less those about
-- reports and splitting, which the parent keeps; the seed the parent drew.
function M.worker_argv(bin, files, json_path, o)
  local argv = { bin, "run" }
  for _, f in ipairs(files) do argv[#argv + 1] = f end
  for _, a in ipairs({ "-o", "json:" .. json_path, "--allow-empty" }) do argv[#argv + 1] = a end
  for _, a in ipairs(o.worker_options or {}) do argv[#argv + 1] = a end
  if o.seed then argv[#argv + 1] = "--seed"; argv[#argv + 1] = tostring(o.seed) end
  if o.args and #o.args > 0 then
    argv[#argv + 1] = "--"
    for _, a in ipairs(o.args) do argv[#argv + 1] = a end
  end
  return argv
end

local function tmpdir()
  local base = os.getenv("TMPDIR") or "/tmp"
  for i = 1, 100 do
    local d = ("%s/mcptest-j-%d-%d"):format(base, sys.pid(), i)
    if fs.mkdir(d, tonumber("700", 8)) then return d end
  end
  return nil, "cannot create a directory for the workers' reports under " .. base
end

-- Pass a worker's output on, whole lines only; at eof the rest.
local function pass_lines(w, key, fh, data, eof)
  local buf = w[key] .. (data or "")
  local last = 1
  for line_end in buf:gmatch("()\n") do
    local line = buf:sub(last, line_end)
    -- a worker stopped by the parent says so; the parent says it once.
    -- (Stopped while it was still loading, the signal hook's error names
    -- where it struck: "mcptest: lua/...:499: interrupted!".)
    if w.stopped and (line:find("^mcptest: interrupted") or line:find("^mcptest: .*: interrupted!%s*$")) then
      w.hush = true
    elseif w.hush and not (line:find("^stack traceback:") or line:find("^\t")) then w.hush = false end
    if not w.hush then fh:write(line) end
    last = line_end + 1
  end
  buf = buf:sub(last)
  if eof and buf ~= "" then fh:write(buf, "\n"); buf = "" end
  w[key] = buf
  fh:flush()
end

-- files: the run's files (already checked by preflight); opts: as
-- mcptest.runner.run's, with jobs (N > 1). Returns the exit code.
function M.run(files, opts)
  local sel, sel_err = require("mcptest.runner.select").new(opts)
  if not sel then io.stderr:write("mcptest: ", sel_err, "\n"); return 2 end
  local plan, plan_err = reporters.plan(opts.outputs, opts.output_file)
  if not plan then io.stderr:write("mcptest: ", plan_err, "\n"); return 2 end
  local report, report_err = reporters.open(plan, opts)
  if not report then io.stderr:write("mcptest: ", report_err, "\n"); return 2 end
  -- a machine report on stdout keeps stdout to itself: workers' prints go to stderr
  local out_fh = reporters.machine_on_stdout(plan) and io.stderr or io.stdout
  local dir, derr = tmpdir()
  if not dir then io.stderr:write("mcptest: ", derr, "\n"); return 2 end
  local bin = opts.bin or "/proc/self/exe"
  local seed = opts.seed
  if opts.shuffle and not seed then seed = math.random(1, 2 ^ 31 - 1) end
  local o = setmetatable({ seed = seed }, { __index = opts })

  local results = require("mcptest.runner.results").new()
  results.seed = seed
  local read_into = require("mcptest.runner.results").read_into
  -- The files go to workers in chunks of consecutive files, so busted is
  -- loaded once per chunk rather than once per file (about 20 ms of CPU
  -- each): a quarter of an even share, at most CHUNK files. A chunk whose
  -- worker dies without a report is run again one file per worker, so the
  -- crash is pinned on its file and the other files' tests are reported.
  local size = math.max(1, math.min(M.CHUNK, math.ceil(#files / (opts.jobs * 4))))
  local queue = {}        -- chunks in file order: { files, json, proc, err, done, status, code }
  for i = 1, #files, size do
    local c = { files = {}, err = "" }
    for k = i, math.min(#files, i + size - 1) do c.files[#c.files + 1] = files[k] end
    queue[#queue + 1] = c
  end
  local running, emitted, serial = 0, 0, 0
  local stop_reason       -- set after Ctrl-C or --fail-fast: start no more files
  local unreachable = false
  local t_start = sys.now()

  -- MCPTEST_WORKER: the worker leaves the run-wide warnings (an empty
  -- selection) to the parent, which sees every file
  local worker_env = { "MCPTEST_WORKER=1" }
  for k, v in pairs(sys.environ()) do
    if k ~= "MCPTEST_WORKER" then worker_env[#worker_env + 1] = k .. "=" .. v end
  end

  local function start(c)
    serial = serial + 1
    c.json = ("%s/%d.json"):format(dir, serial)
    c.started = true
    local proc, perr = process.spawn{ argv = M.worker_argv(bin, c.files, c.json, o), env = worker_env }
    if not proc then
      c.done, c.status, c.code = true, "spawn", tostring(perr and perr.message or perr)
    else
      c.proc = proc
      running = running + 1
    end
  end

  local function next_unstarted()
    for i = emitted + 1, #queue do if not queue[i].started then return queue[i] end end
  end

  -- Merge chunk i into the results and the reports (in file order).
  -- Returns false when the chunk was split to run again.
  local function merge(i)
    local c = queue[i]
    local before = #results.tests
    if not c.started then
      for _, f in ipairs(c.files) do
        results:file(f).not_run = (stop_reason or "the run stopped"):gsub("^not run: ", "")
      end
      return true
    end
    local ok, err = false, nil
    if c.status ~= "spawn" then ok, err = read_into(results, c.json, {}) end
    os.remove(c.json)
    if c.status == "exited" and c.code == 3 then unreachable = true end
    if not ok and #c.files > 1 and not stop_reason then
      table.remove(queue, i)
      for k = #c.files, 1, -1 do table.insert(queue, i, { files = { c.files[k] }, err = "" }) end
      return false
    end
    if not ok and c.stopped then
      -- stopped (Ctrl-C, --fail-fast) before it had a report to write:
      -- while loading, before any test ran
      for _, f in ipairs(c.files) do
        results:file(f).not_run = (stop_reason or "the run stopped"):gsub("^not run: ", "")
      end
      return true
    end
    if not ok then
      -- no report: the worker died; its file is errored, not vanished
      local why
      if c.status == "spawn" then why = "the worker could not start: " .. c.code
      elseif c.status == "signaled" then
        why = "the worker running it was killed by signal " .. tostring(c.code) .. " before it wrote its report"
      else
        why = "the worker running it exited with code " .. tostring(c.code) .. " without a report ("
          .. tostring(err):gsub("^.-%.json ", "") .. "; its stderr is above)"
      end
      for _, name in ipairs(c.files) do
        results:add(results:file(name), { name = "(worker)", status = "errored", type = "error", pseudo = true,
                                          message = name .. ": " .. why })
      end
    end
    for k = before + 1, #results.tests do
      local t = results.tests[k]
      -- stopped by --fail-fast (with SIGINT, the one stop a worker takes):
      -- the test did not fail, it was not let finish; and the tests the
      -- worker had not reached (it says "interrupted": it cannot know why)
      if c.fail_fast and t.status == "errored" and tostring(t.message):find("interrupted by SIGINT", 1, true) then
        results:restatus(t, "skipped")
        t.message, t.type = stop_reason, nil
      elseif c.fail_fast and t.status == "skipped" and t.message == "not run: interrupted" then
        t.message = stop_reason
      end
      report.test(t, results)
    end
    return true
  end

  local function failed_so_far()
    return results.counts.failed + results.counts.errored > 0
  end

  local interrupted_sent = false
  -- one turn of the loop; Ctrl-C raises "interrupted" from the signal
  -- hook wherever the turn is, so each turn is protected and the next
  -- one stops the workers
  local function turn()
    local sig = sys.interrupted()
    if sig and not interrupted_sent then
      -- Ctrl-C: every worker is told to stop (it reports its tests left as skipped)
      interrupted_sent = true
      stop_reason = "interrupted"
      for _, w in ipairs(queue) do
        if w.proc and not w.done then
          w.stopped = true
          w.proc:close_stdin()
          os.execute("kill -INT -" .. w.proc:pid() .. " 2>/dev/null")
        end
      end
    end
    while not stop_reason and running < opts.jobs do
      local c = next_unstarted()
      if not c then break end
      start(c)
    end
    -- read what the workers have written, reap those that ended
    local fds = {}
    for _, w in ipairs(queue) do
      if w.proc and not w.done then
        local a, b = w.proc:fds()
        if a >= 0 then fds[#fds + 1] = a end
        if b >= 0 then fds[#fds + 1] = b end
      end
    end
    if #fds > 0 then poll.wait(fds, nil, 0.05) elseif running > 0 then sys.sleep(0.002) end
    for _, w in ipairs(queue) do
      if w.proc and not w.done then
        local lines, n, eof = w.proc:read_lines()
        if n and n > 0 then
          for k = 1, n do out_fh:write(lines[k], "\n") end
          out_fh:flush()
        end
        local e, eeof = w.proc:read_stderr()
        pass_lines(w, "err", io.stderr, e, eeof)
        local st, code = w.proc:status()
        if st ~= "running" and (eof or st ~= "running") then
          local more, m = w.proc:read_lines()
          for k = 1, m or 0 do out_fh:write(more[k], "\n") end
          local e2 = w.proc:read_stderr()
          pass_lines(w, "err", io.stderr, e2, true)
          w.proc:close(0)
          w.done, w.status, w.code = true, st, code
          running = running - 1
        end
      end
    end
    -- merge the finished prefix, in order
    while emitted < #queue and queue[emitted + 1].done do
      if merge(emitted + 1) then emitted = emitted + 1 end
      if opts.fail_fast and failed_so_far() and not stop_reason then
        stop_reason = "not run: --fail-fast stopped the run after a failure"
        for _, w in ipairs(queue) do
          if w.proc and not w.done then
            w.fail_fast, w.stopped = true, true
            os.execute("kill -INT -" .. w.proc:pid() .. " 2>/dev/null")
          end
        end
      end
    end
    return running == 0 and (stop_reason ~= nil or next_unstarted() == nil)
  end
  while true do
    local ok, done = pcall(turn)
    if not ok and not sys.interrupted() then error(done, 0) end
    if ok and done then break end
  end
  -- files never started (after Ctrl-C or --fail-fast)
  while emitted < #queue do
    emitted = emitted + 1
    merge(emitted)
  end
  os.remove(dir)
  results.duration = sys.now() - t_start
  local wrote, write_err = report.finish(results)
  if not wrote then io.stderr:write("mcptest: ", write_err, "\n") end
  if seed then
    io.stderr:write("mcptest: tests shuffled with seed ", tostring(seed), " (--seed ", tostring(seed),
      " runs them in this order again)\n")
  end
  -- the positive filters and tags no test matched, as a -j 1 run warns
  -- (counted over the tests that ran, as the workers do not report the
  -- ones they left out)
  for _, t in ipairs(results.tests) do
    if not t.pseudo and t.name ~= "(worker)" then sel:test_selected(t.full:gsub(" %(run %d+/%d+%)$", "")) end
  end
  local sig = sys.interrupted()
  if not sig then
    for _, w in ipairs(sel:unmatched_warnings()) do io.stderr:write("mcptest: warning: ", w, "\n") end
  end
  if sig then
    io.stderr:write("mcptest: interrupted; workers stopped, remaining tests skipped\n")
    return 128 + sig
  end
  if unreachable then return 3 end
  local n = results.counts
  if n.failed + n.errored > 0 then return 1 end
  if not wrote then return 2 end
  if #results.tests == 0 and sel:active() and not opts.allow_empty then
    -- the workers counted the tests defined; the message names the selection
    local msg = sel:empty_message():gsub("%(%d* ?[^(]*defined in the files run;", "(in the " .. #files .. " files run;")
    io.stderr:write("mcptest: ", msg, "\n")
    return 2
  end
  return 0
end

return M
