-- mcptest.suite.load: a YAML suite file as Lua values plus the positions
-- the schema and the compiler point at. One document, the YAML 1.2 core
-- schema, nulls kept (so `name:` left empty is reported, not forgotten).
--   load.file(path) -> suite | nil, {error}
--   load.text(text, path) -> suite | nil, {error}
-- suite: { path, text, doc, marks } with methods
--   suite:at(tbl)            the mark of a mapping or list itself
--   suite:value(tbl, key)    the mark of tbl[key] (falls back to tbl's)
--   suite:key(tbl, key)      the mark of the key itself (for unknown keys)
-- An error is { line =, column =, message = } (see mcptest.suite.errors).
local yaml = require("mcptest.yaml")

local M = {}

local Suite = {}
Suite.__index = Suite

local NOWHERE = { line = 1, column = 1 }

function Suite:at(t)
  return type(t) == "table" and yaml.mark(self.marks, t) or NOWHERE
end

function Suite:value(t, k)
  if type(t) ~= "table" then return NOWHERE end
  return yaml.value_mark(self.marks, t, k) or self:at(t)
end

function Suite:key(t, k)
  if type(t) ~= "table" then return NOWHERE end
  return yaml.key_mark(self.marks, t, k) or self:at(t)
end

-- The source line n (1-based), for block scalars' first content line.
function Suite:line_text(n)
  if not self.lines then
    self.lines = {}
    for l in (self.text .. "\n"):gmatch("([^\n]*)\n") do self.lines[#self.lines + 1] = l end
  end
  return self.lines[n] or ""
end

function M.text(text, path)
  local doc, marks = yaml.try_load(text, path, { marks = true, nulls = "keep", single = true })
  if doc == nil and type(marks) == "string" then
    -- "path:line:col: why" from the loader
    local line, col, msg = marks:match(":(%d+):(%d+): (.*)$")
    return nil, { { line = tonumber(line) or 1, column = tonumber(col) or 1, message = msg or marks } }
  end
  return setmetatable({ path = path, text = text, doc = doc, marks = marks or {} }, Suite)
end

function M.file(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, nil, "cannot read " .. path .. ": " .. tostring(err) end
  local text = f:read("a")
  f:close()
  return M.text(text, path)
end

-- Load path and run check (a schema checker: loaded -> list of
-- {line, column, message}); the loaded file, or nil and every problem as
-- a FILE:LINE:COL: line (an unreadable file: the system's reason).
function M.checked(path, check)
  local s, errs, ioerr = M.file(path)
  if ioerr then return nil, ioerr end
  if s then errs = check(s) end
  if #errs == 0 then return s end
  local lines = {}
  for _, e in ipairs(errs) do
    lines[#lines + 1] = string.format("%s:%d:%d: %s", path, e.line, e.column, e.message)
  end
  return nil, table.concat(lines, "\n")
end

return M
