-- mcptest.server.tasks: the tasks extension (io.modelcontextprotocol/tasks,
-- SEP-2663) of the 2026-07-28 era, server side. A tool answers with a
-- task handle (resultType "task") only to a modern request whose
-- clientCapabilities declare the extension; the client polls tasks/get,
-- which inlines the final result (or error) once the task is terminal.
-- There is no tasks/result or tasks/list in this era.
--   tasks.declared(ctx) -> bool      did this request declare the extension?
--   tasks.start(ctx, seconds, fn) -> the CreateTaskResult: fn(ctx) runs
--     at the first poll after `seconds`, its result becomes the task's
--   tasks.methods   tasks/get, tasks/cancel (added when the catalog has tasks)
local json = require("mcptest.json")
local sys = require("mcptest.core.sys")
local protocol = require("mcptest.protocol")
local crypto = require("mcptest.core.crypto")
local context = require("mcptest.server.context")

local M = {}

M.EXTENSION = protocol.TASKS_EXTENSION
M.POLL_MS = 50 -- the pollIntervalMs the fixture suggests
M.TTL_MS = 60000

function M.declared(ctx)
  local s = ctx.session
  if s.era ~= "modern" then return false end
  local ext = type(s.client_capabilities) == "table" and s.client_capabilities.extensions
  return type(ext) == "table" and type(ext[M.EXTENSION]) == "table"
end

local function stamp() return os.date("!%Y-%m-%dT%H:%M:%SZ") end

-- the public view of a task (what CreateTaskResult and tasks/get carry)
local function view(t)
  local v = { taskId = t.taskId, status = t.status, statusMessage = t.statusMessage,
              createdAt = t.createdAt, lastUpdatedAt = t.lastUpdatedAt, ttl = M.TTL_MS,
              pollIntervalMs = M.POLL_MS }
  if t.status == "completed" then v.result = t.result end
  if t.status == "failed" then v.error = t.error end
  return v
end

function M.start(ctx, seconds, fn)
  local srv = ctx.server
  srv.tasks = srv.tasks or {}
  local now = stamp()
  local t = { taskId = crypto.base64url_encode(crypto.random_bytes(18)), status = "working",
              statusMessage = "working", createdAt = now, lastUpdatedAt = now }
  -- it finishes when polled after `seconds` (no timer: a stdio server
  -- serving requests one by one runs none between them)
  t.due, t.fn, t.ctx = sys.now() + seconds, fn, ctx
  for id, old in pairs(srv.tasks) do -- past their ttl: forgotten
    if old.due + M.TTL_MS / 1000 < sys.now() then srv.tasks[id] = nil end
  end
  srv.tasks[t.taskId] = t
  local v = view(t)
  v.resultType = "task"
  return v
end

local function fail(code, message) error(context.rpc_error(code, message), 0) end

local function find(ctx, p)
  if not M.declared(ctx) then
    fail(protocol.METHOD_NOT_FOUND, "Method not found: tasks/* needs the " .. M.EXTENSION .. " extension declared")
  end
  local t = type(p) == "table" and type(p.taskId) == "string" and (ctx.server.tasks or {})[p.taskId]
  if not t then fail(protocol.INVALID_PARAMS, "Unknown task: " .. tostring(type(p) == "table" and p.taskId)) end
  if t.status == "working" and sys.now() >= t.due then
    local ok, r = pcall(t.fn, t.ctx)
    if ok then
      t.status, t.result, t.statusMessage = "completed", r, "done"
    else
      t.status, t.statusMessage = "failed", "failed"
      t.error = { code = protocol.INTERNAL_ERROR, message = tostring(type(r) == "table" and r.message or r) }
    end
    t.fn, t.ctx, t.lastUpdatedAt = nil, nil, stamp()
  end
  return t
end

M.methods = {
  ["tasks/get"] = function(ctx, p) return view(find(ctx, p)) end,
  ["tasks/cancel"] = function(ctx, p)
    local t = find(ctx, p)
    if t.status == "working" then
      t.status, t.statusMessage, t.lastUpdatedAt = "cancelled", "cancelled by the client", stamp()
    end
    return view(t)
  end,
}

return M
