-- mcptest.runner.reporters: the report formats (`-o FORMAT[:PATH]`,
-- repeatable) and where each report goes. Every format is mcptest's own,
-- written from one model (mcptest.runner.results), so the reports of one
-- run agree: each format is a module beside this file returning
-- function(write, opts) -> { test = fn(t, results), finish = fn(results) }.
-- busted's output handlers are not used: they dropped tests under a failed
-- setup, counted none of them in JSON and wrote invalid XML for a message
-- holding a control character.
local secrets = require("mcptest.secrets")

local M = {}

-- The formats, in the order the help lists them.
M.names = { "terminal", "plain", "utf", "tap", "junit", "json" }
local modules = {
  terminal = "mcptest.runner.reporters.terminal", plain = "mcptest.runner.reporters.terminal",
  utf = "mcptest.runner.reporters.terminal", tap = "mcptest.runner.reporters.tap",
  junit = "mcptest.runner.reporters.junit", json = "mcptest.runner.reporters.json",
}
-- Formats a program reads: with one of them on stdout, what a test prints
-- goes to stderr, so stdout holds the report alone.
M.machine = { tap = true, junit = true, json = true }

local function unknown(name)
  return "unknown output format " .. tostring(name) .. " (valid: " .. table.concat(M.names, ", ")
    .. "; FORMAT:PATH writes to a file)"
end

-- The reports asked for: specs are the -o values ("FORMAT" or
-- "FORMAT:PATH"), output_file the --output-file value. Returns a list of
-- { format =, path = (nil: stdout) }, or nil and a usage message.
function M.plan(specs, output_file)
  local list, bare = {}, {}
  for _, s in ipairs(specs or {}) do
    local name, path = s:match("^([^:]*):(.*)$")
    name = name or s
    if not modules[name] then return nil, unknown(name) end
    if path == "" then return nil, "-o " .. s .. ": the PATH after ':' is empty" end
    list[#list + 1] = { format = name, path = path }
    if not path then bare[#bare + 1] = list[#list] end
  end
  if #list == 0 then
    list[1] = { format = "terminal" }
    bare[1] = list[1]
  end
  if output_file then
    if #bare ~= 1 then
      return nil, "--output-file names the file of one report; with several, give each its own file as -o FORMAT:PATH"
    end
    bare[1].path = output_file
    bare = {}
  end
  if #bare > 1 then
    local names = {}
    for _, r in ipairs(bare) do names[#names + 1] = r.format end
    return nil, "two reports would go to stdout (" .. table.concat(names, " and ")
      .. "); give all but one a file: -o FORMAT:PATH"
  end
  local seen = {}
  for _, r in ipairs(list) do
    if r.path then
      if seen[r.path] then return nil, "two reports would be written to " .. r.path end
      seen[r.path] = true
    end
  end
  return list
end

-- Does a machine format go to stdout in this plan?
function M.machine_on_stdout(list)
  for _, r in ipairs(list) do if not r.path and M.machine[r.format] then return true end end
  return false
end

-- Open every report's destination (a file that cannot be written is
-- refused now, with the system's reason) and load its format. opts: color
-- ("auto", "always", "never"), quiet, verbose. Returns a set with
-- test(t, results), finish(results) -> ok | nil, message; or nil, message.
function M.open(list, opts)
  local fwrite = getmetatable(io.stdout).__index.write -- before the runner scrubs f:write
  local set = { reports = {} }
  for _, r in ipairs(list) do
    local fh, isatty = io.stdout, nil
    if r.path then
      local err
      fh, err = io.open(r.path, "w")
      if not fh then
        for _, o in ipairs(set.reports) do if o.fh ~= io.stdout then o.fh:close() end end
        return nil, "cannot write the report to " .. err
      end
      isatty = false
    else
      isatty = require("mcptest.core.sys").isatty(1)
    end
    local rep = { fh = fh, path = r.path, format = r.format }
    local function write(s)
      if rep.failed then return end
      local ok, err = fwrite(fh, secrets.scrub(s))
      if not ok then rep.failed = err end
    end
    rep.impl = require(modules[r.format])(write, {
      format = r.format, isatty = isatty, color = opts.color or "auto",
      quiet = opts.quiet, verbose = opts.verbose,
    })
    set.reports[#set.reports + 1] = rep
  end

  function set.test(t, results)
    for _, rep in ipairs(set.reports) do
      if rep.impl.test then rep.impl.test(t, results) end
    end
  end

  -- Write the end of every report and close the files. A write that
  -- failed (a full disk) is reported with the system's reason.
  function set.finish(results)
    local problems = {}
    for _, rep in ipairs(set.reports) do
      if rep.impl.finish then rep.impl.finish(results) end
      if rep.fh ~= io.stdout then
        local ok, err = rep.fh:close()
        if not ok and not rep.failed then rep.failed = err end
      else
        io.stdout:flush()
      end
      if rep.failed then
        problems[#problems + 1] = "could not write the " .. rep.format .. " report to "
          .. (rep.path or "stdout") .. ": " .. tostring(rep.failed)
      end
    end
    if #problems > 0 then return nil, table.concat(problems, "\n") end
    return true
  end

  return set
end

-- Text with every character a terminal or an XML 1.0 document would not
-- show as itself made visible: C0 controls but tab and newline, DEL, and
-- the bytes of invalid UTF-8 become \xNN; U+FFFE and U+FFFF become \u{...}.
-- A server message holding ANSI colour codes then reads "\x1b[31m".
function M.visible(s)
  s = tostring(s)
  if not s:find("[%z\1-\8\11-\31\127-\255]") then return s end
  local function hex(c) return string.format("\\x%02x", c:byte()) end
  s = s:gsub("[%z\1-\8\11-\31\127]", hex)
  if not utf8.len(s) then
    local out, i, n = {}, 1, #s
    while i <= n do
      if utf8.len(s, i, i) then
        local j = utf8.offset(s, 2, i) or (n + 1)
        out[#out + 1] = s:sub(i, j - 1)
        i = j
      else
        out[#out + 1] = hex(s:sub(i, i))
        i = i + 1
      end
    end
    s = table.concat(out)
  end
  return (s:gsub("\239\191[\190\191]", function(c) return string.format("\\u{%X}", utf8.codepoint(c)) end))
end

-- Seconds as a person reads them: "12 ms", "1.25 s".
function M.seconds(d)
  d = d or 0
  if d < 1 then return string.format("%d ms", math.floor(d * 1000 + 0.5)) end
  return string.format("%.2f s", d)
end

return M
