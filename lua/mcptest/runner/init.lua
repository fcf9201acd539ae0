-- mcptest.runner: runs busted-style scripts with busted's own core, file
-- loader, filters and output handlers, composed here rather than through
-- busted.runner (which calls os.exit), so the host keeps the exit code
-- and the cleanup: every client a script left open is closed, every
-- server it started is stopped.
local errors = require("mcptest.errors")
local secrets = require("mcptest.secrets")
local reporters = require("mcptest.runner.reporters")

local M = {}

-- Files that do not load stop the run before anything starts (exit 2).
local function preflight(files)
  for _, f in ipairs(files) do
    local fh = io.open(f, "r")
    if not fh then return false, "cannot open " .. f .. ": no such file or not readable" end
    fh:close()
    if f:match("%.ya?ml$") then
      return false, f .. ": YAML suites are not supported by this build yet (the suite compiler is planned)"
    end
    local chunk, err = loadfile(f)
    if not chunk then return false, "cannot load " .. err end
  end
  return true
end

-- opts: output (a name of reporters.names), output_file, filter,
-- filter_out, tags, exclude_tags, verbose, test_timeout, args (the
-- script's arg table entries)
function M.run(files, opts)
  local ok, err = preflight(files)
  if not ok then
    io.stderr:write("mcptest: ", err, "\n")
    return 2
  end
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

  local counts = { tests = 0, failures = 0, errors = 0 }
  local unreachable, unreachable_msg = false, nil
  local outside_test = { file = true, describe = true, context = true, setup = true,
                         lazy_setup = true, strict_setup = true, before_each = true }

  -- See raw error objects before busted turns them into strings.
  local rewrite = busted.rewriteMessage
  busted.rewriteMessage = function(element, message, trace)
    if errors.is(message) and errors.unreachable[message.kind]
       and outside_test[element and element.descriptor or "file"] then
      unreachable, unreachable_msg = true, tostring(message)
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
  local sys = require("mcptest.core.sys")
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
  busted.subscribe({ "test", "end" }, function()
    counts.tests = counts.tests + 1
    return nil, true
  end)
  busted.subscribe({ "error" }, function()
    counts.errors = counts.errors + 1
    -- Ctrl-C (or SIGTERM) raised "interrupted!" inside a test: stop the run
    if sys.interrupted() then busted.skipAll = true end
    return nil, true
  end)
  busted.subscribe({ "failure" }, function(element)
    if element.descriptor == "it" then counts.failures = counts.failures + 1
    else counts.errors = counts.errors + 1 end
    return nil, true
  end)

  local end_report, report_err = reporters.attach(busted, opts)
  if not end_report then
    io.stderr:write("mcptest: ", report_err, "\n")
    return 2
  end
  require("busted.modules.filter_loader")()(busted, {
    tags = opts.tags or {}, excludeTags = opts.exclude_tags or {},
    filter = opts.filter or {}, filterOut = opts.filter_out or {},
    list = false, nokeepgoing = false, suppressPending = false,
  })
  -- every file named on the command line is a Lua script, whatever its
  -- extension (busted's own loader only takes *.lua)
  package.preload["busted.modules.files.mcptest_any"] = function()
    local lua_loader = require("busted.modules.files.lua")
    return { match = function() return true end, load = lua_loader.load }
  end
  -- what a script prints, and what the reporters write, passes the
  -- secrets scrubber: a token a server echoed back, or a client table a
  -- script printed, shows as [secret: ...]
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
    return raw_print(table.unpack(t, 1, n))
  end
  io.write = function(...) return raw_write(scrubbed(select("#", ...), ...)) end
  -- f:write on any file (io.stdout, io.stderr, a report file) too
  file_methods.write = function(f, ...) return raw_fwrite(f, scrubbed(select("#", ...), ...)) end
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
  require("busted.modules.test_file_loader")(busted, { "lua", "mcptest_any" })(files, {}, {
    excludes = {}, verbose = opts.verbose, recursive = false,
  })
  require("busted.execute")(busted)(1, { seed = nil, shuffle = false, sort = false })
  busted.publish({ "exit" })
  os.exit = os_exit
  sys.alarm(0)
  busted.safe, coroutine.resume, coroutine.wrap = raw_safe, raw_resume, raw_wrap

  client.close_held()
  client.close_all()
  local fx = package.loaded["mcptest.fixture"]
  if fx and fx.stop_all then fx.stop_all() end
  end_report()
  print, io.write, file_methods.write = raw_print, raw_write, raw_fwrite

  local sig = sys.interrupted()
  if sig then
    io.stderr:write("mcptest: interrupted; servers stopped, remaining tests skipped\n")
    return 128 + sig
  end
  if unreachable then
    io.stderr:write("mcptest: could not reach the server outside any test: ", unreachable_msg, "\n")
    return 3
  end
  if counts.failures + counts.errors > 0 then return 1 end
  if counts.tests == 0 then
    if next(opts.filter or {}) or next(opts.tags or {}) then
      io.stderr:write("mcptest: warning: no tests ran (no it block matched the filter)\n")
    else
      io.stderr:write("mcptest: warning: no tests ran (no it blocks);",
        " the top-level code ran without errors\n")
    end
  end
  return 0
end

return M
