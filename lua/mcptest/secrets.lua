-- mcptest.secrets: every value mcptest sends as a credential (tokens,
-- client secrets, codes, verifiers, keys, assertions, DPoP proofs) is
-- registered here once, and every string that leaves mcptest for a person
-- or a report (error messages, reports, verbose traces, logs, generated
-- Lua) passes through scrub(), which replaces each registered value with
-- a label such as "[secret: token from MCP_TOKEN]". Only names travel.
--   secrets.register(value, label[, ephemeral])   remember a secret (label: what it is,
--                                    never the value); ephemeral ones (a DPoP proof
--                                    per request) are kept only while among the
--                                    last MAX_EPHEMERAL, so the list stays short
--   secrets.scrub(s) -> s            a string with every registered secret replaced
--   secrets.fingerprint(value) -> "sha256:1a2b3c4d"   a short, one-way name for a token
--   secrets.log(...)                 write the pieces to stderr, scrubbed (verbose traces)
--   secrets.count() -> n             how many are registered (tests)
--   secrets.hidden(class, {name = true, ...}) -> H   instances of class keep those
--                                    fields in a weak-keyed side table, as H(obj).name,
--                                    where printing or walking the instance cannot reach them
--   secrets.fields(obj) -> t         those fields of obj (tests; its class's own code uses H)
local M = {}

-- Values shorter than this are not registered: replacing a 3-letter
-- "secret" everywhere would garble output and protect nothing.
M.MIN_LENGTH = 6

M.MAX_EPHEMERAL = 32

local known = {}   -- value -> label
local ordered = {} -- values, longest first (a secret containing another is replaced whole)
local n = 0
local ephemeral = {} -- ephemeral values, oldest first

local function longest_first(a, b) return #a > #b end

local function forget(value)
  known[value] = nil
  n = n - 1
  for i = 1, #ordered do
    if ordered[i] == value then table.remove(ordered, i); break end
  end
end

function M.register(value, label, is_ephemeral)
  if type(value) ~= "string" or #value < M.MIN_LENGTH or known[value] then return value end
  known[value] = label or "secret"
  n = n + 1
  ordered[#ordered + 1] = value
  table.sort(ordered, longest_first)
  if is_ephemeral then
    ephemeral[#ephemeral + 1] = value
    if #ephemeral > M.MAX_EPHEMERAL then forget(table.remove(ephemeral, 1)) end
  end
  return value
end

function M.count() return n end

-- Forget every registered value (tests only: a process keeps its secrets).
function M.reset()
  known, ordered, n, ephemeral = {}, {}, 0, {}
end

function M.scrub(s)
  if n == 0 or type(s) ~= "string" then return s end
  for i = 1, #ordered do
    local v = ordered[i]
    local at = s:find(v, 1, true)
    if at then
      local label = "[secret: " .. known[v] .. "]"
      local parts, pos = {}, 1
      while at do
        parts[#parts + 1] = s:sub(pos, at - 1)
        parts[#parts + 1] = label
        pos = at + #v
        at = s:find(v, pos, true)
      end
      parts[#parts + 1] = s:sub(pos)
      s = table.concat(parts)
    end
  end
  return s
end

-- Fields that hold credentials (header lines, tokens, keys) live in this
-- weak-keyed table, keyed by their owner, not in the owner itself: a
-- script that prints a client (assert.are.same({}, c)) or walks it with
-- pairs never meets them, whatever the scrubber knows.
local vault = setmetatable({}, { __mode = "k" })

-- class.__index is class itself, so a method lookup stays a plain table
-- read (the request path makes several per request); setting one of the
-- names on an instance directly is an error, so none lands in it.
local function fields(obj)
  local v = vault[obj]
  if not v then v = {}; vault[obj] = v end
  return v
end
function M.hidden(class, names)
  class.__index = class
  class.__newindex = function(obj, k, value)
    if names[k] then error("mcptest: " .. tostring(k) .. " is kept in secrets' side table: use H(obj)." .. tostring(k), 2) end
    rawset(obj, k, value)
  end
  return fields
end
-- The hidden fields of obj, for code (and tests) that hold obj but not
-- its class's H.
M.fields = fields
-- What verbose trace lines are about: the runner sets the test running
-- (its full name), so a trace line says which test made the exchange.
M.context = nil

function M.log(...)
  local s = table.concat({ ... })
  if M.context then s = "[" .. M.context .. "] " .. s end
  io.stderr:write(M.scrub(s))
end

-- A short one-way name for a token ("sha256:" and 8 hex digits), for
-- status output that must tell tokens apart without showing them.
function M.fingerprint(value)
  local digest = require("mcptest.core.crypto").sha256(tostring(value))
  return "sha256:" .. digest:sub(1, 4):gsub(".", function(c) return string.format("%02x", c:byte()) end)
end

return M
