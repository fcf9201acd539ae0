-- mcptest.runner.results: what a run found, the one model every report
-- format is written from. A run has files (in the order they ran), each
-- with its tests; every test selected appears once, with a status:
--   passed    the test ran and its assertions held
--   failed    an assertion failed inside the test
--   errored   the test raised an error, or never ran because a setup,
--             before_each or lazy_setup above it failed; or an error
--             outside any test (a file's top-level code, a describe body,
--             a teardown), reported as an entry of its own so it is seen
--   skipped   pending, or not run after --fail-fast or Ctrl-C
local select_ = require("mcptest.runner.select")

local M = {}
M.STATUSES = { "passed", "failed", "errored", "skipped" }

function M.new()
  return setmetatable({
    files = {}, tests = {},
    counts = { passed = 0, failed = 0, errored = 0, skipped = 0 },
    duration = 0,
  }, { __index = M })
end

-- A file entry: name, tests, duration, properties (server, protocol),
-- not_run (why the file never started).
function M:file(name)
  local f = { name = name, tests = {}, duration = 0, properties = {} }
  self.files[#self.files + 1] = f
  return f
end

-- Add a test to file f. t: path (describe names), name (as written, with
-- #tags), status, message, type, where, line, duration, pseudo (an entry
-- for an error outside any test). Fills in title, tags and full name.
function M:add(f, t)
  t.file = f.name
  t.path = t.path or {}
  t.title = select_.title_of(t.name)
  t.full = table.concat(t.path, " ") .. (#t.path > 0 and " " or "") .. t.name
  t.tags = select_.tags_of(t.full)
  t.duration = t.duration or 0
  t.index = #self.tests + 1
  f.tests[#f.tests + 1] = t
  self.tests[#self.tests + 1] = t
  self.counts[t.status] = self.counts[t.status] + 1
  return t
end

-- A test's status changes after it was added (an after_each that failed).
function M:restatus(t, status)
  self.counts[t.status] = self.counts[t.status] - 1
  t.status = status
  self.counts[status] = self.counts[status] + 1
end

function M:total() return #self.tests end

-- The exit code of a finished run, and its warnings on stderr: 1 when a
-- test failed or errored, 2 when a report could not be written or the
-- selection (sel: mcptest.runner.select) picked nothing without
-- allow_empty, else 0.
function M:exit_code(sel, allow_empty, wrote, worker)
  -- a -j worker leaves the run-wide warnings to the parent, which sees every file
  if not worker then
    for _, w in ipairs(sel:unmatched_warnings()) do io.stderr:write("mcptest: warning: ", w, "\n") end
  end
  local n = self.counts
  if n.failed + n.errored > 0 then return 1 end
  if not wrote then return 2 end
  local empty = sel:empty_message()
  if empty and not allow_empty then
    io.stderr:write("mcptest: ", empty, "\n")
    return 2
  end
  if #self.tests == 0 and not worker then
    io.stderr:write("mcptest: warning: ", empty and (empty:gsub("; %-%-allow%-empty.*", ")"))
      or "no tests ran (no it blocks); the top-level code ran without errors", "\n")
  end
  return 0
end

-- Read one JSON report (-o json) into results: what mcptest report
-- merge and run -j's parent read back. Returns true, or nil and a
-- message naming the file.
function M.read_into(results, path, seen_files)
  local f, err = io.open(path, "r")
  if not f then return nil, "cannot read the report " .. tostring(err) end
  local text = f:read("a")
  f:close()
  local ok, doc = pcall(require("mcptest.json").decode, text)
  if not ok or type(doc) ~= "table" then
    return nil, path .. " is not JSON (" .. tostring(doc):gsub("\n.*", "") .. "); give the files mcptest's -o json wrote"
  end
  if type(doc.tests) ~= "table" or type(doc.files) ~= "table" then
    return nil, path .. " is not an mcptest JSON report with a tests list (written by -o json of this version)"
  end
  local files = {}
  for _, fe in ipairs(doc.files) do
    if type(fe) ~= "table" or type(fe.name) ~= "string" then
      return nil, path .. ": a files entry without a name"
    end
    if seen_files[fe.name] then
      io.stderr:write("mcptest: warning: ", fe.name, " is in ", seen_files[fe.name], " and in ", path,
        "; both runs are kept\n")
    end
    seen_files[fe.name] = path
    local entry = results:file(fe.name)
    entry.duration = tonumber(fe.duration) or 0
    entry.not_run = fe.not_run
    if type(fe.timestamp) == "string" then entry.timestamp = fe.timestamp end
    local names = {}
    for k in pairs(type(fe.properties) == "table" and fe.properties or {}) do names[#names + 1] = k end
    table.sort(names)
    for _, k in ipairs(names) do
      table.insert(entry.properties, { name = k, value = tostring(fe.properties[k]) })
    end
    files[fe.name] = entry
  end
  local valid = { passed = true, failed = true, errored = true, skipped = true }
  for i, t in ipairs(doc.tests) do
    if type(t) ~= "table" or type(t.name) ~= "string" or not valid[t.status] then
      return nil, path .. ": test " .. i .. " has no name or no valid status"
    end
    local entry = files[t.file]
    if not entry then
      entry = results:file(tostring(t.file or "?"))
      files[t.file or "?"] = entry
    end
    local p = {}
    for j, v in ipairs(type(t.path) == "table" and t.path or {}) do p[j] = tostring(v) end
    results:add(entry, {
      path = p, name = t.name, status = t.status, message = t.message, type = t.type,
      where = t.where, line = math.tointeger(t.line), duration = tonumber(t.duration) or 0,
      attempts = math.tointeger(t.attempts), flaky = t.flaky == true or nil,
    })
  end
  local d = type(doc.summary) == "table" and tonumber(doc.summary.duration) or 0
  results.duration = results.duration + (d or 0)
  return true
end


return M
