-- mcptest.regex: PCRE2 regular expressions (Debian's libpcre2-8, through
-- mcptest.core.regex), as YAML suites' `matches:` and JSON Schema's
-- `pattern` use them. UTF-8 patterns and subjects; a search, not anchored
-- unless the pattern says so (^, $, \A, \z).
--   regex.compile(pattern) -> re (raises a usage error naming the character)
--   regex.find(pattern, subject) -> start, end | nil   (1-based; compiled once)
--   regex.test(pattern, subject) -> boolean
local core = require("mcptest.core.regex")
local errors = require("mcptest.errors")

local M = {}

local cache = setmetatable({}, { __mode = "v" })

function M.compile(pattern)
  if type(pattern) ~= "string" then errors.raise("usage", "a regular expression is a string") end
  local re = cache[pattern]
  if re then return re end
  local err
  re, err = core.compile(pattern)
  if not re then errors.raise("usage", tostring(err.message or err)) end
  cache[pattern] = re
  return re
end

function M.find(pattern, subject)
  return M.compile(pattern):find(subject)
end

function M.test(pattern, subject)
  return type(subject) == "string" and M.compile(pattern):find(subject) ~= nil
end

return M
