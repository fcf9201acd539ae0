-- mcptest.suite: YAML suites (DESIGN.md "YAML suites"; docs/yaml.md).
--   suite.read(path) -> suite | nil, text   load + schema; text: every
--       error as FILE:LINE:COL: message, one a line, sorted by position
--   suite.lua(path) -> readable Lua | nil, text     what `mcptest compile` prints
--   suite.chunk(path) -> function | nil, text       the suite compiled for the
--       runner, its chunk named after the YAML file and each statement on
--       its YAML line, so failures point at FILE.yaml:LINE (compiled once:
--       the second call for a path returns the first call's function)
--   suite.is_suite(path) -> true for *.yaml / *.yml
local loader = require("mcptest.suite.load")
local schema = require("mcptest.suite.schema")
local compile = require("mcptest.suite.compile")

local M = {}

function M.is_suite(path)
  return type(path) == "string" and (path:match("%.ya?ml$") ~= nil)
end

function M.read(path)
  return loader.checked(path, schema.check)
end

function M.lua(path)
  local s, err = M.read(path)
  if not s then return nil, err end
  return compile.readable(compile.entries(s))
end

-- chunks compiled by the runner's preflight, taken by its file loader,
-- so a suite is compiled once per run
local compiled = {}

function M.chunk(path)
  if compiled[path] then
    local fn = compiled[path]
    compiled[path] = nil
    return fn
  end
  local fn, err = M.compile_chunk(path)
  if fn then compiled[path] = fn end
  return fn, err
end

function M.compile_chunk(path)
  local s, err = M.read(path)
  if not s then return nil, err end
  local src = compile.aligned(compile.entries(s))
  local fn, lerr = load(src, "@" .. path, "t")
  if not fn then
    -- a `lua:` snippet that does not parse: its line is the YAML line
    return nil, tostring(lerr):gsub("^" .. path:gsub("%p", "%%%0") .. ":", path .. ":", 1)
  end
  return fn
end

return M
