-- mcptest.runner: runs busted-style scripts with busted's own core and
-- file loader, composed here rather than through busted.runner (which
-- calls os.exit), so the host keeps the exit code and the cleanup: every
-- client a script left open is closed, every server it started is
-- stopped. Which files (runner/files), which tests (runner/select) and
-- the reports (runner/results, runner/reporters) are mcptest's own.
local errors = require("mcptest.errors")
local secrets = require("mcptest.secrets")
local reporters = require("mcptest.runner.reporters")
local suite_files = require("mcptest.runner.files")

local M = {}

-- busted.getTrace, run for every block registered and every error, with
-- what it costs taken out: busted's own builds a full traceback each time
-- (the reports use the message and its file:line, never that traceback)
-- and finds directories with penlight's character-by-character
-- path.dirname. Same frames skipped, same file:line found.
function M.fast_trace(busted)
  local function dirname(s) return s:match("^(.*)[/\\]") or "" end
  local thisdir = dirname(debug.getinfo(busted.getTrace, "S").source)
  busted.getTrace = function(element, level, msg)
    level = level or 3
    local info = debug.getinfo(level, "Sl")
    while info and (info.what == "C" or info.short_src:match("luassert[/\\].*%.lua$")
          or (info.source:sub(1, 1) == "@" and thisdir == dirname(info.source))) do
      level = level + 1
      info = debug.getinfo(level, "Sl")
    end
    info = info or { short_src = "?", currentline = 0, source = "=?", what = "main" }
    info.traceback = ""
    info.message = msg
    local file = busted.getFile(element)
    return file and file.getTrace(file.name, info) or info
  end
end

-- The descriptors busted gives test blocks and the other blocks.
local TEST = { it = true, pending = true }
local SETUP = { strict_setup = true, lazy_setup = true }
local TEARDOWN = { strict_teardown = true, lazy_teardown = true }

-- The describe names above an element, outermost first.
local function path_of(busted, element)
  local path = {}
  local p = busted.context.parent(element)
  while p and p.descriptor ~= "file" and p.descriptor ~= "suite" do
    table.insert(path, 1, tostring(p.name))
    p = busted.context.parent(p)
  end
  return path
end

local function first_line(s) return (tostring(s):match("^[^\n]*")) end

-- Turns busted's events into results (mcptest.runner.results) and hands
-- each test to the reports as it is known. Every test selected gets
-- exactly one entry: those that never ran because a setup or before_each
-- above them failed are errored, those left after --fail-fast or Ctrl-C
-- skipped; errors outside any test (top-level code, a describe body, a
-- teardown) are entries of their own. ctx: kinds (element -> error
-- type), fail_fast, narrowed (a selection is active), collecting(on).
function M.recorder(busted, results, report, ctx)
  local sys = require("mcptest.core.sys")
  local by_el = setmetatable({}, { __mode = "k" })    -- test element -> result
  local msgs = setmetatable({}, { __mode = "k" })     -- test element -> { message, type }
  local blocked = setmetatable({}, { __mode = "k" })  -- test element -> why it did not run
  local started = {}  -- blocks whose body ran
  local resolved = {}
  local file_of = setmetatable({}, { __mode = "k" })  -- file element -> file entry
  local cur_file, current_test, held
  local label = "" -- " (run 2/3)" under --repeat
  local function flush()
    if held then report.test(held, results) end
    held = nil
  end
  local skip_reason, collecting_now
  local failed_blocks = {} -- block -> what failed in it
  local clients = package.loaded["mcptest.client"] or require("mcptest.client")

  local function file_entry()
    cur_file = cur_file or results:file("(run)")
    return cur_file
  end

  local function add(t, element)
    local f = file_entry()
    if element and element.trace and element.trace.currentline then
      t.line = t.line or element.trace.currentline
    end
    results:add(f, t)
    if element then by_el[element] = t end
    -- a test reaches the reports once its after_each ran, which may
    -- still turn it into an error
    if held then report.test(held, results) end
    held = t
    if ctx.fail_fast and (t.status == "failed" or t.status == "errored") and not skip_reason then
      skip_reason = "not run: --fail-fast stopped the run after a failure"
      busted.skipAll = true
    end
    return t
  end

  -- An error outside any test, as an entry of its own.
  local function outside(path, name, message, element)
    add({ path = path, name = name, status = "errored", message = message,
          type = ctx.kinds[element] or "error", pseudo = true })
  end

  -- The servers a file talked to, for the JUnit properties.
  local function sample_clients()
    local f = cur_file
    if not f then return end
    f.seen = f.seen or {}
    for c in pairs(clients.open_clients or {}) do
      local info = c.server_info
      if info and not f.seen[c] then
        f.seen[c] = true
        local server = tostring(info.name or "?") .. (info.version and (" " .. tostring(info.version)) or "")
        local key = server .. "\0" .. tostring(c.protocol_version)
        if not f.seen[key] then
          f.seen[key] = true
          table.insert(f.properties, { name = "server", value = server })
          if c.protocol_version then
            table.insert(f.properties, { name = "protocol", value = tostring(c.protocol_version) })
          end
        end
      end
    end
  end

  -- Read the tests of a block whose body never ran (a setup above it
  -- failed, or the run stopped): its body runs to register them, nothing
  -- else of it does.
  local function collect(block)
    ctx.collecting(true)
    collecting_now = true
    busted.safe("describe", block.run, block)
    collecting_now = false
    ctx.collecting(false)
    started[block] = true
  end

  -- Give every test under block that has no result yet its entry.
  local function resolve(block, reason)
    if resolved[block] then return end
    resolved[block] = true
    local own = failed_blocks[block]
    if own then reason = "not run: " .. own.what .. " failed: " .. first_line(own.message) end
    local before = results:total()
    for _, child in ipairs(busted.context.children(block)) do
      local d = child.descriptor
      if TEST[d] and not by_el[child] then
        local why = blocked[child] or reason
        if why and d == "pending" then
          add({ path = path_of(busted, child), name = tostring(child.name), status = "skipped",
                message = "pending" }, child)
        elseif why then
          add({ path = path_of(busted, child), name = tostring(child.name), status = "errored",
                message = why, type = "not run" }, child)
        elseif skip_reason or sys.interrupted() then
          add({ path = path_of(busted, child), name = tostring(child.name), status = "skipped",
                message = skip_reason or "not run: interrupted" }, child)
        end
      elseif d == "describe" then
        if not started[child] and not sys.interrupted() and (reason or skip_reason) then collect(child) end
        resolve(child, reason)
      end
    end
    -- a failure over no test would vanish: it gets an entry of its own
    if own and results:total() == before then
      outside(own.path, own.name, own.message, own.element)
    end
  end

  -- block's own code failed (its body, or a setup): what failed, for the
  -- tests under it that cannot run.
  local function block_failed(block, what, name, message, element)
    if not block or failed_blocks[block] then return end
    local path = {}
    if block.descriptor ~= "file" and block.descriptor ~= "suite" then
      path = path_of(busted, block)
      path[#path + 1] = tostring(block.name)
    end
    failed_blocks[block] = { what = what, name = name, message = message, element = element, path = path }
  end

  -- before_each errors come before the test's start: the test about to
  -- run is known from busted.safe, which runs each test block
  -- A block left with no test by the selection runs neither its setup nor
  -- its teardown: `--tags smoke` starts no server for a block of other
  -- tests. (Its nested blocks' tests are not known before its setup runs,
  -- so a block holding a describe runs its setup.)
  local function nothing_to_run(block)
    for _, ch in ipairs(busted.context.children(block)) do
      if TEST[ch.descriptor] or ch.descriptor == "describe" then return false end
    end
    return true
  end
  local safe = busted.safe
  -- it(name, { retry = N }, fn): the body runs again, up to N more times,
  -- while it fails; the hooks around it run once. Only the last attempt's
  -- failure is kept; the attempts made are counted for the reports.
  local attempts_of = setmetatable({}, { __mode = "k" }) -- test element -> attempts made
  local function run_retried(run, element, extra)
    local r
    for i = 1, extra + 1 do
      msgs[element] = nil
      r = table.pack(safe("it", run, element))
      attempts_of[element] = i
      local st = r[1]:get()
      if st == "success" or st == "pending" or sys.interrupted() then break end
    end
    return table.unpack(r, 1, r.n)
  end
  busted.safe = function(descriptor, run, element)
    if descriptor == "it" and element and run == element.run and ctx.retries and ctx.retries(run) then
      return run_retried(run, element, ctx.retries(run))
    end
    if TEST[descriptor] and element and TEST[element.descriptor] and not by_el[element] then
      current_test = element
    elseif (descriptor == "strict_setup" or descriptor == "strict_teardown") and ctx.narrowed then
      local block = busted.context.parent(element)
      if block and nothing_to_run(block) then return busted.status("success") end
    end
    return safe(descriptor, run, element)
  end

  busted.subscribe({ "file", "start" }, function(element)
    cur_file = results:file(element.name .. label)
    cur_file.timestamp = os.date("!%Y-%m-%dT%H:%M:%S")
    file_of[element] = cur_file
    started[element] = true
    return nil, true
  end)
  busted.subscribe({ "describe", "start" }, function(element)
    started[element] = true
    return nil, true
  end)
  busted.subscribe({ "describe", "end" }, function(element)
    resolve(element)
    flush()
    return nil, true
  end)
  busted.subscribe({ "file", "end" }, function(element)
    resolve(element)
    flush()
    if cur_file then cur_file.duration = element.duration or 0 end
    sample_clients()
    cur_file = nil
    return nil, true
  end)
  busted.subscribe({ "test", "start" }, function(element)
    current_test = element
    -- verbose traces name the test that made them
    local path = path_of(busted, element)
    path[#path + 1] = tostring(element.name)
    secrets.context = table.concat(path, " ")
    return nil, true
  end)
  local STATUS = { success = "passed", failure = "failed", error = "errored", pending = "skipped" }
  busted.subscribe({ "test", "end" }, function(element, _, status)
    secrets.context = nil
    sample_clients()
    local m = msgs[element] or {}
    local st = STATUS[status] or "errored"
    if st == "errored" and not m.message then m.message = "error (no message)" end
    local attempts = attempts_of[element]
    if attempts and attempts > 1 and (st == "failed" or st == "errored") then
      m.message = (m.message or "") .. "\n(" .. st .. " on all " .. attempts
        .. " attempts; the last attempt's failure is shown)"
    end
    add({ path = path_of(busted, element), name = tostring(element.name), status = st,
          message = m.message, type = m.type, where = m.where,
          duration = element.duration, attempts = attempts,
          flaky = st == "passed" and attempts ~= nil and attempts > 1 or nil }, element)
    return nil, true
  end)

  local function on_problem(kind)
    return function(element, parent, message)
      if collecting_now then return nil, true end
      local d = element and element.descriptor
      -- Ctrl-C (or SIGTERM) raised "interrupted!": stop the run
      if sys.interrupted() then busted.skipAll = true end
      message = message ~= nil and tostring(message) or kind
      if TEST[d] then
        local t = by_el[element]
        if t then -- after the test ended (its finally, or a handler)
          if t.status ~= "failed" and t.status ~= "errored" then results:restatus(t, "errored") end
          t.message = (t.message and (t.message .. "\n") or "") .. message
        else
          local m = msgs[element] or {}
          m.message = m.message and (m.message .. "\n" .. message) or message
          m.type = m.type or ctx.kinds[element]
          m.where = m.where or message:match("^([^\n]-:%d+):")
          msgs[element] = m
        end
      elseif d == "before_each" and current_test and not by_el[current_test] then
        blocked[current_test] = "before_each failed: " .. message
      elseif d == "after_each" then
        -- the test that just ran: its after_each failing is its error
        local t = current_test and by_el[current_test]
        if t then
          if t.status == "passed" or t.status == "skipped" then results:restatus(t, "errored") end
          t.message = (t.message and (t.message .. "\n") or "") .. "after_each: " .. message
          t.type = t.type or ctx.kinds[element]
        elseif current_test then
          blocked[current_test] = "after_each: " .. message
        else
          outside({}, "after_each", message, element)
        end
      elseif SETUP[d] then
        local what = parent and parent.descriptor == "describe"
          and ("the setup of \"" .. tostring(parent.name) .. "\"") or "the file's setup"
        block_failed(parent, what, "setup", message, element)
      elseif TEARDOWN[d] then
        outside(parent and parent.descriptor ~= "file" and path_of(busted, element) or {},
          "teardown", message, element)
      elseif d == "describe" then
        block_failed(element, "the body of describe \"" .. tostring(element.name) .. "\"",
          "describe block", message, element)
      elseif d == "file" then
        if element and element.name and not file_of[element] then
          cur_file = results:file(element.name)
        end
        if element and element.descriptor == "file" and file_of[element] then
          block_failed(element, "the file's top-level code", "top-level code", message, element)
        else
          outside({}, "top-level code", message, element)
        end
      else
        outside({}, tostring(d or "run"), message, element)
      end
      return nil, true
    end
  end
  busted.subscribe({ "failure" }, on_problem("failure"))
  busted.subscribe({ "error" }, on_problem("error"))
  busted.subscribe({ "pending" }, function(element, _, message)
    if TEST[element and element.descriptor] and message ~= nil then
      msgs[element] = { message = tostring(message) }
    end
    return nil, true
  end)

  local R = {}
  -- --repeat N: each run's files are entries of their own ("FILE (run
  -- 2/3)"), as busted runs the same file blocks again.
  function R.repeats(n)
    label = " (run 1/" .. n .. ")"
    busted.subscribe({ "suite", "reset" }, function(_, i, total)
      flush()
      R.finish()
      label = " (run " .. i .. "/" .. total .. ")"
      started, resolved, failed_blocks = {}, {}, {}
      return nil, true
    end)
  end

  -- After the run: tests and files left behind by --fail-fast or Ctrl-C.
  function R.finish()
    local root = busted.context.get()
    for _, fe in ipairs(busted.context.children(root)) do
      if fe.descriptor == "file" then
        if started[fe] then
          cur_file = file_of[fe]
          resolve(fe)
        else
          local f = results:file(fe.name .. label)
          f.not_run = ((skip_reason or (sys.interrupted() and "interrupted") or "the run stopped")
            :gsub("^not run: ", ""))
        end
      end
    end
    flush()
    cur_file = nil
  end
  return R
end

-- it(name, OPTIONS, fn): busted's it takes a name and a function; the
-- options table between them (as vitest's) is mcptest's. retry = N: run
-- the body up to N more times while it fails (a pass on a retry is
-- reported flaky). Returns fn -> retry count, read when the test runs.
local IT_OPTIONS = { retry = true }
function M.it_options(busted)
  local retry_of = setmetatable({}, { __mode = "k" })
  local function wrap(pub)
    return function(name, a, b, ...)
      if type(a) == "table" and b ~= nil then
        for k in pairs(a) do
          if not IT_OPTIONS[k] then
            error(("it(%q, OPTIONS, fn): unknown option %s (known: retry)"):format(tostring(name), tostring(k)), 2)
          end
        end
        local n = a.retry
        if n ~= nil and (math.type(n) ~= "integer" or n < 0) then
          error(("it(%q, { retry = N }, fn): N is a whole number of extra attempts, 0 or more (got %s)")
            :format(tostring(name), tostring(n)), 2)
        end
        if type(b) == "function" and n and n > 0 then retry_of[b] = n end
        -- a tail call: busted finds the test's line two frames up
        return pub(name, b, ...)
      end
      return pub(name, a, b, ...)
    end
  end
  for _, d in ipairs({ "it", "spec", "test" }) do
    local pub = busted.executors[d]
    if pub then
      local w = wrap(pub)
      busted.executors[d] = w
      busted.export(d, w)
    end
  end
  return retry_of
end

-- --list: every test selected is printed ("file:line: full name") instead
-- of registered, so none runs; hooks are not registered either, so no
-- setup starts a server. Files' top-level code and describe bodies run,
-- as they define the tests. Subscribed after the selection, so what it
-- drops is not listed.
function M.list_mode(busted)
  local fwrite = getmetatable(io.stdout).__index.write
  local secrets = require("mcptest.secrets")
  local reporters_ = require("mcptest.runner.reporters")
  local function drop() return nil, false end
  for _, d in ipairs({ "strict_setup", "strict_teardown", "lazy_setup", "lazy_teardown",
                       "before_each", "after_each" }) do
    busted.subscribe({ "register", d }, drop, { priority = 1 })
  end
  local function list(name, _, trace)
    local parent = busted.context.get()
    local names = { tostring(name) }
    local file
    while parent do
      if parent.descriptor == "file" then file = parent.name; break end
      if parent.name then table.insert(names, 1, tostring(parent.name)) end
      parent = busted.context.parent(parent)
    end
    local where = (trace and trace.short_src or file or "?") .. ":" .. tostring(trace and trace.currentline or "?")
    fwrite(io.stdout, secrets.scrub(reporters_.visible(where .. ": " .. table.concat(names, " "))) .. "\n")
    return nil, false
  end
  for _, d in ipairs({ "it", "pending" }) do
    busted.subscribe({ "register", d }, list, { priority = 2 })
  end
end

-- opts: outputs (-o values), output_file, quiet, color, filter,
-- filter_pattern, filter_out, filter_out_pattern, tags, exclude_tags
-- (mcptest.runner.select), allow_empty, list, fail_fast, verbose,
-- test_timeout, args (the script's arg table entries)
function M.run(files, opts)
  -- a bad pattern is a usage error before anything runs
  local sel, sel_err = require("mcptest.runner.select").new(opts)
  if not sel then
    io.stderr:write("mcptest: ", sel_err, "\n")
    return 2
  end
  -- files that do not load stop the run before anything starts (exit 2)
  local chunks, err, located = suite_files.preflight(files)
  if not chunks then
    -- a YAML suite's schema errors are FILE:LINE:COL: lines as they are
    io.stderr:write(located and "" or "mcptest: ", err, "\n")
    return 2
  end
  local plan, plan_err = reporters.plan(opts.outputs, opts.output_file)
  if not plan then
    io.stderr:write("mcptest: ", plan_err, "\n")
    return 2
  end
  local report, report_err
  if opts.list then
    report = { test = function() end, finish = function() return true end }
  else
    report, report_err = reporters.open(plan, opts)
    if not report then
      io.stderr:write("mcptest: ", report_err, "\n")
      return 2
    end
  end
  -- stdout carries a machine-read report (or the list) alone: what
  -- scripts print goes to stderr
  local to_stderr = opts.list or reporters.machine_on_stdout(plan)
  _G.arg = { [0] = files[1] }
  for i, a in ipairs(opts.args or {}) do _G.arg[i] = a end

  local busted = require("busted.core")()
  require("busted")(busted)
  require("mcptest.matchers")
  -- Loading busted leaves Lua 5.4's generational collector in its fallback
  -- (a "bad" major collection), where garbage grows to twice the live heap;
  -- switching modes re-enters plain generational mode (measured: HTTP
  -- benchmark peak RSS 14.9 -> 12.5 MB, CPU per call -5%).
  collectgarbage("incremental")
  collectgarbage("generational")

  M.fast_trace(busted)
  local results = require("mcptest.runner.results").new()
  local unreachable, unreachable_msg = false, nil
  local outside_test = { file = true, describe = true, context = true, setup = true,
                         lazy_setup = true, strict_setup = true, before_each = true }
  local kinds = setmetatable({}, { __mode = "k" }) -- element -> the error's type
  local collecting = false -- reading the tests of a block that will not run

  local sys = require("mcptest.core.sys")
  -- See raw error objects before busted turns them into strings.
  local rewrite = busted.rewriteMessage
  busted.rewriteMessage = function(element, message, trace)
    if collecting then return rewrite(element, message, trace) end
    -- Ctrl-C raised inside whatever was waiting (often the event loop):
    -- say so at the test's own line
    local sig = type(message) == "string" and message:match("interrupted!$") and sys.interrupted()
    if sig then
      local tr = element and element.trace
      local names = { [2] = "SIGINT (Ctrl-C)", [15] = "SIGTERM" }
      return (tr and tr.short_src and (tr.short_src .. ":" .. tostring(tr.currentline) .. ": ") or "")
        .. "interrupted by " .. (names[sig] or ("signal " .. sig)) .. "; the tests left are skipped"
    end
    if errors.is(message) and errors.unreachable[message.kind]
       and outside_test[element and element.descriptor or "file"] then
      unreachable, unreachable_msg = true, tostring(message)
    end
    if element then
      kinds[element] = errors.is(message) and ("mcptest." .. tostring(message.kind))
        or (getmetatable(message) or {}).__type == "failure" and "AssertionError" or nil
    end
    -- an mcptest error names the script line that made the failing call
    -- (errors.caller), not the line inside mcptest that raised it
    if errors.is(message) then
      -- the script's line that made the failing call; when a tail call hid
      -- it, the test's own line rather than a line inside mcptest or busted
      local where = message.where
      if not where and element and element.trace and element.trace.short_src then
        where = element.trace.short_src .. ":" .. tostring(element.trace.currentline)
      end
      if where then return secrets.scrub(where .. ": " .. tostring(message)) end
    end
    return secrets.scrub(rewrite(element, message, trace))
  end
  -- A time limit per test, per hook (setup, teardown, before_each,
  -- after_each, finally) and per file's top-level code, for what request
  -- timeouts cannot catch: a script stuck in a pure-Lua loop. An alarm
  -- signal makes the host hook the Lua threads (runtime/main.c); a count
  -- hook from the start would slow every VM instruction down. Once over
  -- the limit, the hook raises again and again while the block runs (a
  -- pcall in a loop cannot swallow it), in coroutines it resumed too
  -- (coroutine.resume goes through sys.resume, which tells the host which
  -- thread runs).
  local limit = opts.test_timeout or 600
  local LIMITED = { it = true, finally = true, setup = true, teardown = true, lazy_setup = true,
    lazy_teardown = true, strict_setup = true, strict_teardown = true, before_each = true,
    after_each = true, file = true, describe = true }
  local raw_safe = busted.safe
  local raw_resume, raw_wrap = coroutine.resume, coroutine.wrap
  do -- with --test-timeout 0 too: an interrupt is raised until the block is left
    busted.safe = function(descriptor, run, element)
      -- busted.execute wraps a whole test (start, hooks, body, end) in an
      -- outer safe call: only the block's own function is limited
      if not (LIMITED[descriptor] and element and (run == element.run or descriptor == "finally")) then
        return raw_safe(descriptor, run, element)
      end
      -- a file's run is a callable table: its __call is the frame to find
      local fn = run
      if type(fn) == "table" then fn = (debug.getmetatable(fn) or {}).__call end
      sys.alarm(limit, fn)
      local r = table.pack(raw_safe(descriptor, run, element))
      sys.alarm(0)
      -- an interrupt that came while busted itself ran: stop all the same
      if sys.interrupted() then busted.skipAll = true end
      return table.unpack(r, 1, r.n)
    end
    coroutine.resume = sys.resume
    coroutine.wrap = function(fn)
      local co = coroutine.create(fn)
      return function(...)
        local r = table.pack(sys.resume(co, ...))
        if not r[1] then error(r[2], 0) end
        return table.unpack(r, 2, r.n)
      end
    end
  end
  -- Every client a file opens is held until the file ends, then closed
  -- here (a DELETE for an HTTP session, a graceful stop for a stdio
  -- server): a client's finalizer only releases handles, never does I/O.
  local client = require("mcptest.client")
  busted.subscribe({ "file", "start" }, function() client.hold(); return nil, true end)
  busted.subscribe({ "file", "end" }, function() client.close_held(); return nil, true end)
  local retry_of = M.it_options(busted)
  local record = M.recorder(busted, results, report, {
    kinds = kinds, fail_fast = opts.fail_fast, narrowed = sel:active(),
    collecting = function(v) collecting = v end,
    retries = function(fn) return retry_of[fn] end,
  })
  sel:attach(busted)
  if opts.list then M.list_mode(busted) end
  -- every file is loaded by its kind's loader (mcptest.runner.files),
  -- checked and compiled before the run: a Lua script whatever its name
  package.loaded["busted.modules.files.mcptest_any"] = nil
  package.preload["busted.modules.files.mcptest_any"] = function()
    local function get_trace(_, info) -- busted's own, for its lua loader
      local index = info.traceback:find("\n%s*%[C]")
      info.traceback = info.traceback:sub(1, index)
      return info
    end
    return { match = function() return true end,
             load = function(_, filename) return chunks[filename], get_trace end }
  end
  -- what a script prints (print, io.write and f:write to stdout or
  -- stderr) passes the secrets scrubber: a token a server echoed back, or
  -- a client table a script printed, shows as [secret: ...]. A file the
  -- script opened is its own data and is written as given (the config of
  -- a server it starts may hold a token); the reporters scrub what they
  -- write to a report file themselves.
  local raw_print, raw_write = print, io.write
  local file_methods = getmetatable(io.stdout).__index
  local raw_fwrite = file_methods.write
  local function scrubbed(n, ...)
    local t = { ... }
    for i = 1, n do if type(t[i]) == "string" then t[i] = secrets.scrub(t[i]) end end
    return table.unpack(t, 1, n)
  end
  print = function(...)
    local n = select("#", ...)
    local t = { ... }
    for i = 1, n do t[i] = secrets.scrub(tostring(t[i])) end
    if to_stderr then
      return raw_fwrite(io.stderr, table.concat(t, "\t", 1, n), "\n")
    end
    return raw_print(table.unpack(t, 1, n))
  end
  local function console(f) return f == io.stdout or f == io.stderr end
  io.write = function(...)
    local out = io.output()
    if not console(out) then return raw_write(...) end
    if to_stderr and out == io.stdout then
      return raw_fwrite(io.stderr, scrubbed(select("#", ...), ...))
    end
    return raw_write(scrubbed(select("#", ...), ...))
  end
  -- f:write on io.stdout and io.stderr too
  file_methods.write = function(f, ...)
    if not console(f) then return raw_fwrite(f, ...) end
    if to_stderr and f == io.stdout then
      raw_fwrite(io.stderr, scrubbed(select("#", ...), ...))
      return f
    end
    return raw_fwrite(f, scrubbed(select("#", ...), ...))
  end
  -- a command a test runs writes to stderr too: its stdout is the fd mcptest
  -- reports on (the command's own redirections still win)
  local raw_execute, raw_popen = os.execute, io.popen
  if to_stderr then
    -- a subshell, not a { } group: dash (Debian's sh) loses the
    -- redirections of a "( ... ) >file" inside a redirected group
    local function to_err(cmd) return "( " .. cmd .. "\n) 1>&2" end
    os.execute = function(cmd, ...)
      if cmd == nil then return raw_execute() end
      return raw_execute(to_err(cmd), ...)
    end
    io.popen = function(cmd, mode, ...)
      if mode and mode:find("w", 1, true) then cmd = to_err(cmd) end
      return raw_popen(cmd, mode, ...)
    end
  end
  -- an error a task raised that no mcp.join took fails the test it ran in
  -- (an error in the root after_each is reported as the test's error)
  local loop = require("mcptest.loop")
  busted.executors.after_each(function()
    local t = next(loop.unjoined)
    if t then
      loop.unjoined = {}
      error(t.error, 0)
    end
  end)
  -- the host keeps the exit code: os.exit inside a script fails that test
  local os_exit = os.exit
  os.exit = function(code)
    error("os.exit(" .. tostring(code) .. ") called by the script; mcptest decides the exit code"
      .. " (use assert or error to fail a test)", 2)
  end
  require("busted.modules.test_file_loader")(busted, { "mcptest_any" })(files, {}, {
    excludes = {}, verbose = opts.verbose, recursive = false,
  })
  -- --shuffle (or --seed): files and the tests of every block in an
  -- order drawn from the seed, the same order for the same seed
  local seed
  if opts.shuffle or opts.seed then
    seed = opts.seed or math.random(1, 2 ^ 31 - 1)
    busted.randomize = true
    busted.randomseed = seed
    results.seed = seed
  end
  local runs = opts.repeat_n or 1
  if runs > 1 then record.repeats(runs) end
  local t_start = sys.now()
  require("busted.execute")(busted)(runs, { seed = seed, shuffle = seed ~= nil, sort = false })
  busted.publish({ "exit" })
  os.exit = os_exit
  sys.alarm(0)
  busted.safe, coroutine.resume, coroutine.wrap = raw_safe, raw_resume, raw_wrap

  record.finish()
  results.duration = sys.now() - t_start

  client.close_held()
  client.close_all()
  local fx = package.loaded["mcptest.fixture"]
  if fx and fx.stop_all then fx.stop_all() end
  print, io.write, file_methods.write = raw_print, raw_write, raw_fwrite
  os.execute, io.popen = raw_execute, raw_popen
  local wrote, write_err = report.finish(results)
  if not wrote then io.stderr:write("mcptest: ", write_err, "\n") end

  if opts.list then
    local bad = 0
    for _, t in ipairs(results.tests) do
      if t.status == "errored" or t.status == "failed" then
        bad = bad + 1
        io.stderr:write("mcptest: ", t.file, ": ", t.message or t.name, "\n")
      end
    end
    if sys.interrupted() then return 128 + sys.interrupted() end
    if unreachable then return 3 end
    return bad > 0 and 1 or 0
  end
  if seed then
    io.stderr:write("mcptest: tests shuffled with seed ", tostring(seed), " (--seed ", tostring(seed),
      " runs them in this order again)\n")
  end
  local sig = sys.interrupted()
  if sig then
    io.stderr:write("mcptest: interrupted; servers stopped, remaining tests skipped\n")
    return 128 + sig
  end
  if unreachable then
    io.stderr:write("mcptest: could not reach the server outside any test: ", unreachable_msg, "\n")
    return 3
  end
  -- a -j worker (opts.worker: MCPTEST_WORKER) runs a chunk of the files:
  -- the parent warns for the run
  return results:exit_code(sel, opts.allow_empty, wrote, opts.worker)
end

return M
