-- mcptest.errors: the one error type (mcptest.Error) every failure is raised as.
-- Fields: kind ("jsonrpc", "transport", "timeout", "auth", "protocol",
-- "usage"), message, and where they apply code, data, http_status, url,
-- method; `where` is "file:line" of the script line that made the call
-- which failed (the first frame outside mcptest's own code), so reports
-- point at the test, not at lua/mcptest/. tostring() gives one readable
-- line; messages pass through the secrets scrubber, so they never hold a
-- registered secret.
local M = {}

-- A JSON-RPC error message longer than this is cut when an error is shown.
M.MAX_SERVER_MESSAGE = 2000

-- The metatable is shared with the C modules, which make errors too: the
-- host creates it when the state opens its modules (runtime/util.c, with
-- __name and a plain __tostring); this module fills it in, and its
-- __tostring (secrets scrubbed) replaces the C one. The `or {}` serves a
-- state without mcptest's C side.
local registry = debug.getregistry()
local Error = registry["mcptest.Error"] or {}
registry["mcptest.Error"] = Error
Error.__index = Error
Error.__name = "mcptest.Error"

local secrets -- mcptest.secrets, set on first use (it requires nothing of ours)

function Error.__tostring(e)
  local head = e.kind .. " error"
  if e.code ~= nil then head = head .. " " .. tostring(e.code) end
  local m = tostring(e.message)
  if e.kind == "jsonrpc" and #m > M.MAX_SERVER_MESSAGE then
    -- the server's own words: a 60 KB message makes no 60 KB report line
    -- (scrubbed first, so no cut splits a secret)
    secrets = secrets or require("mcptest.secrets")
    m = secrets.scrub(m)
    if #m > M.MAX_SERVER_MESSAGE then
      m = m:sub(1, M.MAX_SERVER_MESSAGE) .. "... (" .. #m .. " bytes in all; err.message holds them)"
    end
  end
  local s = head .. ": " .. m
  if e.method then s = s .. " (in " .. e.method .. ")" end
  if e.http_status then s = s .. " [HTTP " .. tostring(e.http_status) .. "]" end
  if e.url and not tostring(e.message):find(e.url, 1, true) then s = s .. " [" .. e.url .. "]" end
  secrets = secrets or require("mcptest.secrets")
  return secrets.scrub(s)
end
M.Error = Error

-- Is this chunk one of mcptest's own (embedded, or loaded from a checkout
-- with MCPTEST_LUA_DIR)?
local function ours(source)
  return source:find("^@lua/mcptest/") or source:find("^@stdlib/mcptest/")
      or source:find("/lua/mcptest/[^/]+") or source:find("/stdlib/mcptest/[^/]+")
end

-- "file:line" of the first Lua frame above `level` that is not mcptest's.
function M.caller(level)
  level = (level or 1) + 1
  while true do
    local info = debug.getinfo(level, "Sl")
    if not info then return nil end
    if info.what ~= "C" and info.currentline > 0 and not ours(info.source) then
      -- busted's own frames: the script's frame was lost to a tail call
      if info.source:find("/busted/", 1, true) then return nil end
      return info.short_src .. ":" .. info.currentline
    end
    level = level + 1
  end
end

-- A string a server sent, as a message may show it: quoted (control
-- characters escaped), runs of white space folded, cut to n bytes (default
-- 200) with its full length said, so a 60 KB realm makes no 60 KB message.
function M.snippet(s, n)
  n = n or 200
  -- scrubbed before it is cut: a cut through a secret would leave a
  -- piece the scrubber no longer recognises
  secrets = secrets or require("mcptest.secrets")
  s = secrets.scrub(tostring(s))
  local len = #s
  s = s:gsub("%s+", " ")
  if #s > n then return string.format("%q", s:sub(1, n)) .. "... (" .. len .. " bytes)" end
  return string.format("%q", s)
end

function M.new(kind, message, fields)
  local e = fields or {}
  e.kind, e.message = kind, message
  if e.where == nil then e.where = M.caller(2) end
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
