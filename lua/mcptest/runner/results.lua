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

return M
