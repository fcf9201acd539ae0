-- mcptest.server.tasks: the tasks extension (io.modelcontextprotocol/tasks,
-- SEP-2663) of the 2026-07-28 era, server side. A tool answers with a
-- task handle (resultType "task") only to a modern request whose
-- clientCapabilities declare the extension; the client polls tasks/get,
-- which inlines the final result (or error) once the task is terminal,
-- or the task's pending inputRequests while it is input_required; the
-- client answers those with tasks/update. There is no tasks/result or
-- tasks/list in this era (-32601).
--   tasks.declared(ctx) -> bool      did this request declare the extension?
--   tasks.require(ctx)   raises -32021 (naming the extension in
--     data.requiredCapabilities) unless it did: for tools that only run as tasks
--   tasks.start(ctx, seconds, fn [, inputs]) -> the CreateTaskResult: fn(ctx,
--     answers) runs at the first poll after `seconds`, its result becomes the
--     task's. inputs {{key=, method=, params=}, ...}: the task starts
--     input_required with these questions; `seconds` counts from the last answer
--   tasks.methods   tasks/get, tasks/update, tasks/cancel (added when the catalog has tasks)
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
              createdAt = t.createdAt, lastUpdatedAt = t.lastUpdatedAt, ttlMs = M.TTL_MS,
              pollIntervalMs = M.POLL_MS }
  if t.status == "input_required" then
    local reqs = {}
    for k, q in pairs(t.pending) do reqs[k] = q end
    v.inputRequests = reqs
  end
  if t.status == "completed" then v.result = t.result end
  if t.status == "failed" then v.error = t.error end
  return v
end

local function fail(code, message, data) error(context.rpc_error(code, message, data), 0) end

local function missing(what)
  fail(protocol.MISSING_CLIENT_CAPABILITY, "Missing required client capability: " .. what .. " needs the "
    .. M.EXTENSION .. " extension declared in _meta " .. protocol.META_CAPABILITIES,
    { requiredCapabilities = { extensions = { [M.EXTENSION] = json.object() } } })
end

function M.require(ctx)
  if not M.declared(ctx) then missing(tostring(ctx.method) .. " of " .. tostring(ctx.params and ctx.params.name)) end
end

function M.start(ctx, seconds, fn, inputs)
  local srv = ctx.server
  srv.tasks = srv.tasks or {}
  local now = stamp()
  local t = { taskId = crypto.base64url_encode(crypto.random_bytes(18)), status = "working",
              statusMessage = "working", createdAt = now, lastUpdatedAt = now }
  -- it finishes when polled after `seconds` (no timer: a stdio server
  -- serving requests one by one runs none between them)
  t.due, t.fn, t.ctx, t.seconds, t.answers = sys.now() + seconds, fn, ctx, seconds, {}
  if inputs and #inputs > 0 then
    t.status, t.statusMessage, t.pending = "input_required", "waiting for the client's input", {}
    for _, q in ipairs(inputs) do t.pending[q.key] = { method = q.method, params = q.params } end
  end
  for id, old in pairs(srv.tasks) do -- past their ttl: forgotten
    if old.due + M.TTL_MS / 1000 < sys.now() then srv.tasks[id] = nil end
  end
  srv.tasks[t.taskId] = t
  local v = view(t)
  v.resultType = "task"
  return v
end

local function find(ctx, p)
  if not M.declared(ctx) then
    -- a legacy request has no tasks/* at all; a modern one lacks the capability
    if ctx.session.era ~= "modern" then fail(protocol.METHOD_NOT_FOUND, "Method not found: " .. tostring(ctx.method)) end
    missing(tostring(ctx.method))
  end
  local t = type(p) == "table" and type(p.taskId) == "string" and (ctx.server.tasks or {})[p.taskId]
  if not t then fail(protocol.INVALID_PARAMS, "Unknown task: " .. tostring(type(p) == "table" and p.taskId)) end
  if t.status == "working" and sys.now() >= t.due then
    local ok, r = pcall(t.fn, t.ctx, t.answers)
    if ok then
      t.status, t.result, t.statusMessage = "completed", r, "done"
    else
      t.status, t.statusMessage = "failed", "failed"
      t.error = { code = protocol.INTERNAL_ERROR, message = tostring(type(r) == "table" and r.message or r) }
    end
    t.fn, t.ctx, t.answers, t.lastUpdatedAt = nil, nil, nil, stamp()
  end
  return t
end

local function finished(st) return st == "completed" or st == "failed" or st == "cancelled" end

-- tasks/update and tasks/cancel answer with an empty ack: the task's new
-- state is what the next tasks/get says
M.methods = {
  ["tasks/get"] = function(ctx, p) return view(find(ctx, p)) end,
  ["tasks/update"] = function(ctx, p)
    local t = find(ctx, p)
    if type(p.inputResponses) ~= "table" or json.is_array(p.inputResponses) and next(p.inputResponses) ~= nil then
      fail(protocol.INVALID_PARAMS, "Invalid params: tasks/update needs inputResponses, an object keyed by the task's inputRequests")
    end
    if t.status == "input_required" then
      -- answers to keys the task did not ask (or asked and got) are ignored
      for k, v in pairs(p.inputResponses) do
        if t.pending[k] then t.answers[k], t.pending[k] = v, nil end
      end
      if next(t.pending) == nil then
        t.status, t.statusMessage, t.pending, t.due = "working", "working", nil, sys.now() + t.seconds
      end
      t.lastUpdatedAt = stamp()
    end
    return json.object()
  end,
  ["tasks/cancel"] = function(ctx, p)
    local t = find(ctx, p)
    if not finished(t.status) then
      t.status, t.statusMessage, t.lastUpdatedAt = "cancelled", "cancelled by the client", stamp()
      t.fn, t.ctx, t.answers, t.pending = nil, nil, nil, nil
    end
    return json.object()
  end,
}

return M
