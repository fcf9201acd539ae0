-- mcptest.runner.reporters.junit: JUnit XML as GitHub Actions, GitLab and
-- Jenkins read it, written when the run ends: one <testsuite> per file
-- (name = the file), a <properties> block with the servers the file
-- talked to, one <testcase> per test (classname = the describe path, name
-- = the test's name without #tags, file, line, time), <failure> or <error>
-- with message (the first line) and type attributes and the full text
-- inside, <skipped/>; a test that passed on a retry holds properties
-- flaky=true and attempts=N. Every character XML 1.0 forbids is shown as \xNN.
local reporters = require("mcptest.runner.reporters")

local ESC = { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;", ["'"] = "&apos;" }
local function x(s) return (reporters.visible(s):gsub("[&<>\"']", ESC)) end
-- attribute values: a newline would be normalised to a space by readers
local function attr(s) return (x(s):gsub("\n", "&#10;"):gsub("\t", "&#9;")) end
local function secs(d) return string.format("%.3f", d or 0) end

local function first_line(s)
  for line in tostring(s):gmatch("[^\n]+") do
    if line:match("%S") then return line end
  end
  return ""
end

return function(write)
  local R = {}
  function R.finish(results)
    local c = results.counts
    local out = { '<?xml version="1.0" encoding="UTF-8"?>\n' }
    out[#out + 1] = string.format('<testsuites name="mcptest" tests="%d" failures="%d" errors="%d" skipped="%d" time="%s">\n',
      #results.tests, c.failed, c.errored, c.skipped, secs(results.duration))
    for _, f in ipairs(results.files) do
      local n = { failed = 0, errored = 0, skipped = 0 }
      for _, t in ipairs(f.tests) do n[t.status] = (n[t.status] or 0) + 1 end
      out[#out + 1] = string.format('  <testsuite name="%s" tests="%d" failures="%d" errors="%d" skipped="%d" time="%s"%s>\n',
        attr(f.name), #f.tests, n.failed, n.errored, n.skipped, secs(f.duration),
        f.timestamp and (' timestamp="' .. f.timestamp .. '"') or "")
      if #f.properties > 0 then
        out[#out + 1] = "    <properties>\n"
        for _, p in ipairs(f.properties) do
          out[#out + 1] = string.format('      <property name="%s" value="%s"/>\n', attr(p.name), attr(p.value))
        end
        out[#out + 1] = "    </properties>\n"
      end
      for _, t in ipairs(f.tests) do
        local classname = #t.path > 0 and table.concat(t.path, " / ") or f.name
        local head = string.format('    <testcase name="%s" classname="%s" file="%s"%s time="%s"',
          attr(t.title ~= "" and t.title or t.name), attr(classname), attr(f.name),
          t.line and (' line="' .. t.line .. '"') or "", secs(t.duration))
        if t.flaky then
          -- passed on a retry: a property readers keep (Jenkins, GitLab,
          -- junit2json); surefire's flakyFailure needs the earlier failure
          out[#out + 1] = head .. ">\n"
          out[#out + 1] = "      <properties>\n"
          out[#out + 1] = '        <property name="flaky" value="true"/>\n'
          out[#out + 1] = string.format('        <property name="attempts" value="%d"/>\n', t.attempts)
          out[#out + 1] = "      </properties>\n"
          out[#out + 1] = "    </testcase>\n"
        elseif t.status == "passed" then
          out[#out + 1] = head .. "/>\n"
        elseif t.status == "skipped" then
          out[#out + 1] = head .. ">\n"
          out[#out + 1] = string.format('      <skipped message="%s"/>\n', attr(first_line(t.message or "pending")))
          out[#out + 1] = "    </testcase>\n"
        else
          local tag = t.status == "failed" and "failure" or "error"
          local msg = t.message or ""
          out[#out + 1] = head .. ">\n"
          out[#out + 1] = string.format('      <%s message="%s" type="%s">%s</%s>\n', tag,
            attr(first_line(msg)), attr(t.type or (tag == "failure" and "AssertionError" or "error")), x(msg), tag)
          out[#out + 1] = "    </testcase>\n"
        end
      end
      if f.not_run then
        out[#out + 1] = "    <system-out>not run: " .. x(f.not_run) .. "</system-out>\n"
      end
      out[#out + 1] = "  </testsuite>\n"
    end
    out[#out + 1] = "</testsuites>\n"
    write(table.concat(out))
  end
  return R
end
