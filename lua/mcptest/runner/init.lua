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
    -- a YAML suite is checked and compiled here: its schema errors, all
    -- of them, as FILE:LINE:COL: lines (exit 2)
    local suite = require("mcptest.suite")
    if suite.is_suite(f) then
      local chunk, err = suite.chunk(f)
      if not chunk then return false, err, true end
    else
      local chunk, err = loadfile(f)
      if not chunk then return false, "cannot load " .. err end
    end
  end
  return true
end

-- opts: output (a name of reporters.names), output_file, filter,
-- filter_out, tags, exclude_tags, verbose, test_timeout, args (the
-- script's arg table entries)
function M.run(files, opts)
  local ok, err, located = preflight(files)
  if not ok then
    io.stderr:write(located and "" or "mcptest: ", err, "\n")
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
  -- A time limit per test (and per file's top-level code), for what
  -- request timeouts cannot catch: a script stuck in a pure-Lua loop. An
  -- alarm signal makes the host raise inside Lua (runtime/main.c); a count
  -- hook would slow every VM instruction down.
  local limit = opts.test_timeout or 600
  if limit > 0 then
    local function arm() sys.alarm(limit); return nil, true end
    busted.subscribe({ "test", "start" }, arm)
    busted.subscribe({ "file", "start" }, arm)
    busted.subscribe({ "test", "end" }, function() sys.alarm(0); return nil, true end)
  end
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
    local suite = require("mcptest.suite")
    return { match = function() return true end, load = function(b, filename)
      if not suite.is_suite(filename) then return lua_loader.load(b, filename) end
      -- a YAML suite runs as the Lua it compiles to (mcptest.suite)
      local fn, err = suite.chunk(filename)
      if not fn then b.publish({ "error", "file" }, { descriptor = "file", name = filename }, nil, err, {}) end
      return fn, function(_, info)
        local index = info.traceback:find("\n%s*%[C]")
        info.traceback = info.traceback:sub(1, index)
        return info
      end
    end }
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

  require("mcptest.client").close_all()
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
