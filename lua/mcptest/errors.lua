-- mcptest.errors: the one error type (mcptest.Error) every failure is raised as.
-- Fields: kind ("jsonrpc", "transport", "timeout", "auth", "protocol",
-- "usage"), message, and where they apply code, data, http_status, url,
-- method. tostring() gives one readable line; messages never hold secrets.
local M = {}

local Error = {}
Error.__index = Error
Error.__name = "mcptest.Error"

function Error.__tostring(e)
  local head = e.kind .. " error"
  if e.code ~= nil then head = head .. " " .. tostring(e.code) end
  local s = head .. ": " .. tostring(e.message)
  if e.method then s = s .. " (in " .. e.method .. ")" end
  if e.http_status then s = s .. " [HTTP " .. tostring(e.http_status) .. "]" end
  if e.url and not tostring(e.message):find(e.url, 1, true) then s = s .. " [" .. e.url .. "]" end
  return s
end

-- C modules look the metatable up by this name (runtime/util.c).
debug.getregistry()["mcptest.Error"] = Error
M.Error = Error

function M.new(kind, message, fields)
  local e = fields or {}
  e.kind, e.message = kind, message
  return setmetatable(e, Error)
end

function M.is(v, kind)
  return getmetatable(v) == Error and (kind == nil or v.kind == kind)
end

-- Raise an error object (not a string), so pcall callers and busted see fields.
function M.raise(kind, message, fields)
  error(M.new(kind, message, fields), 0)
end

-- Kinds that mean "the server could not be reached or refused us" (exit 3).
M.unreachable = { transport = true, timeout = true, auth = true }

return M
