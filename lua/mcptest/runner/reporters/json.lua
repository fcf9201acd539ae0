-- mcptest.runner.reporters.json: one JSON document on one line, written
-- when the run ends. "tests" lists every test once with its status
-- (passed, failed, errored, skipped); "files" each file run; "summary"
-- counts them all. A test run with retry has "attempts"; one that passed
-- on a retry has "flaky": true (status "passed"), counted in summary.flaky. "successes", "failures", "errors" and "pendings" are
-- the lists of the first version of this format, kept for the scripts
-- that read them. Strings are kept as they are (JSON escapes controls).
local json = require("mcptest.json")

local function legacy(list)
  local out = json.array()
  for _, t in ipairs(list) do
    out[#out + 1] = { name = t.full, file = t.file, line = t.line, duration = t.duration,
                      message = t.message }
  end
  return out
end

return function(write)
  local R = {}
  function R.finish(results)
    local tests, files = json.array(), json.array()
    local by = { passed = {}, failed = {}, errored = {}, skipped = {} }
    for _, t in ipairs(results.tests) do
      local path = json.array()
      for i, p in ipairs(t.path) do path[i] = p end
      local tags = json.array()
      for i, g in ipairs(t.tags) do tags[i] = g end
      tests[#tests + 1] = {
        file = t.file, path = path, name = t.name, title = t.title, tags = tags,
        status = t.status, message = t.message, type = t.type, where = t.where,
        line = t.line, duration = t.duration, attempts = t.attempts, flaky = t.flaky,
      }
      table.insert(by[t.status], t)
    end
    for _, f in ipairs(results.files) do
      local props = json.object()
      for _, p in ipairs(f.properties) do props[p.name] = p.value end
      files[#files + 1] = { name = f.name, tests = #f.tests, duration = f.duration,
                            properties = props, not_run = f.not_run,
                            timestamp = f.timestamp }
    end
    local c = results.counts
    local flaky = 0
    for _, t in ipairs(results.tests) do if t.flaky then flaky = flaky + 1 end end
    write(json.encode({
      summary = {
        tests = #results.tests, passed = c.passed, failed = c.failed, errored = c.errored,
        skipped = c.skipped, files = #results.files, duration = results.duration, seed = results.seed,
        errors = c.errored, pending = c.skipped, flaky = flaky,
      },
      tests = tests, files = files,
      successes = legacy(by.passed), failures = legacy(by.failed),
      errors = legacy(by.errored), pendings = legacy(by.skipped),
    }) .. "\n")
  end
  return R
end
