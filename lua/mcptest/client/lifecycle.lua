-- mcptest.client.lifecycle: how a session starts and how a result is
-- read, kept apart from the request plumbing: the era logic of the client
-- is here (reference mcp-2026-07-28.md section 6.4).
--   legacy era (2025-11-25 and older): initialize, then notifications/initialized.
--   modern era (2026-07-28): no handshake; server/discover; every request
--     carries _meta (protocolVersion, clientCapabilities, clientInfo); a
--     result's resultType is read (absent: complete) and input_required
--     results are answered by the script's `on` handlers, then retried.
--   lifecycle.start(c, opts)   the `protocol` option: "auto" probes,
--     a version pins (MCP_CONFORMANCE_PROTOCOL_VERSION pins under "auto")
--   lifecycle.initialize(c, opts [, version])   the legacy handshake
local json = require("mcptest.json")
local errors = require("mcptest.errors")
local protocol = require("mcptest.protocol")
local secrets = require("mcptest.secrets")
local era_cache = require("mcptest.client.era_cache")
local loop = require("mcptest.loop")
local sys = require("mcptest.core.sys")

local M = {}

M.LATEST_LEGACY = protocol.LATEST_LEGACY
M.legacy_versions = protocol.LEGACY_VERSIONS
local known = {}
for _, v in ipairs(M.legacy_versions) do known[v] = true end

-- Handlers given in `on` declare the capability the server checks for.
local handler_capability = {
  ["sampling/createMessage"] = { "sampling", {} },
  ["elicitation/create"] = { "elicitation", {} },
  -- listChanged stays off: mcptest sends notifications/roots/list_changed
  -- only when a script does (c:notify), so declare it in capabilities then
  ["roots/list"] = { "roots", {} },
}

local function merge(into, from)
  for k, v in pairs(from) do
    if type(v) == "table" and type(into[k]) == "table" and not json.is_array(v) then
      merge(into[k], v)
    else
      into[k] = v
    end
  end
  return into
end

function M.client_capabilities(opts)
  local caps = json.object()
  for method in pairs(opts.on or {}) do
    local cap = handler_capability[method]
    if cap then caps[cap[1]] = merge(json.object(), cap[2]) end
  end
  if opts.capabilities then merge(caps, opts.capabilities) end
  -- capabilities are objects all the way down ({} would encode as [])
  local function objects(t)
    for k, v in pairs(t) do
      if type(v) == "table" and next(v) == nil then t[k] = json.object()
      elseif type(v) == "table" and not json.is_array(v) then objects(v) end
    end
  end
  objects(caps)
  return caps
end

M.client_info = protocol.CLIENT_INFO

-- How long the stdio probe waits for an answer to server/discover before
-- deciding the server is legacy (a legacy server may stay silent on a
-- method it does not know before initialize). Option probe_timeout.
M.PROBE_TIMEOUT = 5
-- input_required rounds one request may take (option max_input_rounds).
M.MAX_INPUT_ROUNDS = 10

local function check_version(version)
  if version == "auto" or protocol.ERA[version] then return version end
  errors.raise("usage", "unknown protocol version " .. string.format("%q", tostring(version))
    .. "; known: auto, " .. protocol.MODERN .. ", " .. table.concat(M.legacy_versions, ", "))
end

local function note(c, text)
  if c.verbose then secrets.log("mcptest: protocol: ", text, "\n") end
end

-- Start a legacy-era session on a connected client.
function M.initialize(c, opts, version)
  version = version or opts.protocol
  if version == nil or version == "auto" or protocol.ERA[version] == "modern" then version = M.LATEST_LEGACY end
  check_version(version)
  local result = c:request("initialize", {
    protocolVersion = version,
    capabilities = M.client_capabilities(opts),
    clientInfo = M.client_info,
  })
  if type(result) ~= "table" or type(result.protocolVersion) ~= "string" then
    errors.raise("protocol", "initialize result has no protocolVersion", { method = "initialize" })
  end
  if not known[result.protocolVersion] then
    errors.raise("protocol", "server chose protocol version " .. result.protocolVersion
      .. ", which mcptest does not speak (it offered " .. version .. ")", { method = "initialize" })
  end
  c.initialize_result = result
  c.protocol_version = result.protocolVersion
  c.server_info = result.serverInfo
  c.capabilities = result.capabilities or json.object()
  c.instructions = result.instructions
  c.era = "legacy"
  -- hook: a transport that must know (HTTP: MCP-Protocol-Version, GET stream)
  if c.transport.on_initialized then c.transport:on_initialized(result.protocolVersion) end
  c:notify("notifications/initialized")
  return result
end

-- ===== the modern era =====

local client_mod -- mcptest.client, for its response reading (required on first use)

-- params plus the envelope: a copy, so a caller's table is never changed.
local function enveloped(c, params)
  local p = {}
  if type(params) == "table" then for k, v in pairs(params) do p[k] = v end end
  if p._meta == nil and not c.log_level then p._meta = c.meta return p end
  local meta = {}
  if type(p._meta) == "table" then for k, v in pairs(p._meta) do meta[k] = v end end
  for k, v in pairs(c.meta) do meta[k] = v end
  if c.log_level then meta[protocol.META_LOG_LEVEL] = c.log_level end
  p._meta = meta
  return p
end

-- Only these may answer input_required (reference section 5.2).
local MRTR_METHODS = { ["tools/call"] = true, ["prompts/get"] = true, ["resources/read"] = true }

-- Answer every input request with the script's handler.
local function answer_inputs(c, method, requests, round)
  if type(requests) ~= "table" then
    errors.raise("protocol", method .. " returned input_required without inputRequests", { method = method })
  end
  local answers = json.object()
  for key, req in pairs(requests) do
    local m = type(req) == "table" and req.method
    if type(m) ~= "string" then
      errors.raise("protocol", method .. " returned an input request " .. string.format("%q", tostring(key))
        .. " without a method", { method = method })
    end
    local handler = c.handlers[m]
    if not handler then
      local cap = protocol.INPUT_CAPABILITY[m]
      local declared = cap and c.meta[protocol.META_CAPABILITIES][cap] ~= nil
      errors.raise(declared and "usage" or "protocol", "the server asked for " .. m .. " (input_required, round "
        .. round .. " of " .. method .. ")" .. (declared
          and " but the script gave no handler for it: give one in connect{on = {...}} or c:on()"
          or (", which mcptest did not declare" .. (cap and (" (no " .. cap .. " capability)") or ""))),
        { method = method })
    end
    local res = handler(type(req.params) == "table" and req.params or json.object(), c)
    answers[key] = res == nil and json.object() or res
  end
  return answers
end

-- Send and wait; a response stream cut before the response (HTTP) is
-- lost with its request in this era (no resumption): send it once more,
-- with a new id, and report it (verbose, and c.events: mcptest/streamCut;
-- a non-idempotent tool may run twice).
local function start_await(c, method, p, timeout) return c:await(c:start(method, p), method, timeout) end
local function await_resent(c, method, p, timeout)
  local ok, msg = pcall(start_await, c, method, p, timeout)
  if ok then return msg end
  if not (errors.is(msg) and msg.stream_cut) then error(msg, 0) end
  local text = method .. ": the response stream was cut before the response (" .. tostring(msg.message)
    .. "); sent again with a new id"
  note(c, text)
  if c.transport.record_event then
    c.transport:record_event("streamCut", { method = method, message = text })
  end
  return c:await(c:start(method, p), method, timeout)
end

-- c:request in the modern era: the envelope on every request; a result's
-- resultType read (absent: complete); input_required answered and the
-- request retried (new id, inputResponses, the exact requestState) for at
-- most max_input_rounds rounds. c.input_rounds: the rounds of the last
-- request that had any ({inputRequests, inputResponses} each), else {}.
local modern_request
function M.modern_request(c, method, params, opts)
  client_mod = client_mod or require("mcptest.client")
  if client_mod.observer == nil then return modern_request(c, method, params, opts) end
  return client_mod.observed(modern_request, c, method, params, opts)
end

modern_request = function(c, method, params, opts)
  local timeout = opts and opts.timeout
  client_mod = client_mod or require("mcptest.client")
  if timeout then client_mod.check_timeout(timeout, method) end
  local p = enveloped(c, params)
  local rounds = json.array()
  local relisted = false
  local max = c.max_input_rounds
  for round = 0, max do
    local msg = await_resent(c, method, p, timeout)
    local ok, r = client_mod.outcome(msg, method)
    if not ok and r.code == protocol.HEADER_MISMATCH and method == "tools/call" and not relisted
       and c.transport.set_modern then
      -- the server's view of the tool's x-mcp-header arguments differs from
      -- ours (or we never listed it): list tools again, send once more
      relisted = true
      note(c, "tools/call got -32020 (" .. tostring(r.message) .. "); listing tools again and retrying once")
      c:list_tools()
      msg = await_resent(c, method, p, timeout)
      ok, r = client_mod.outcome(msg, method)
    end
    if not ok then error(r, 0) end
    local rt = type(r) == "table" and r.resultType or nil
    if rt == nil or rt == "complete" then
      c.input_rounds = rounds
      return r
    end
    if rt == "task" then
      if not M.tasks_declared(c) then
        errors.raise("protocol", method .. " returned resultType \"task\", which belongs to the "
          .. protocol.TASKS_EXTENSION .. " extension; the script did not declare it (connect{capabilities ="
          .. " {extensions = {[\"" .. protocol.TASKS_EXTENSION .. "\"] = {}}}} declares it)", { method = method })
      end
      if type(r.taskId) ~= "string" or type(r.status) ~= "string" then
        errors.raise("protocol", method .. " returned resultType \"task\" without a taskId and status",
          { method = method })
      end
      c.input_rounds = rounds
      return r -- the raw task: c:call_tool follows it (follow_task)
    end
    if rt ~= "input_required" then
      errors.raise("protocol", method .. " returned resultType " .. string.format("%q", tostring(rt))
        .. ", which mcptest does not know (it knows complete and input_required)", { method = method })
    end
    if not MRTR_METHODS[method] then
      errors.raise("protocol", method .. " returned resultType \"input_required\", which only tools/call,"
        .. " prompts/get and resources/read may return", { method = method })
    end
    if round == max then
      c.input_rounds = rounds
      errors.raise("protocol", method .. " still returned input_required after " .. max
        .. " rounds of answers (max_input_rounds = " .. max .. "): the server never completes", { method = method })
    end
    local answers = answer_inputs(c, method, r.inputRequests, round + 1)
    rounds[#rounds + 1] = { inputRequests = r.inputRequests, inputResponses = answers }
    note(c, string.format("%s: input_required round %d answered (%s)", method, round + 1,
      table.concat((function() local k = {} for key in pairs(answers) do k[#k + 1] = key end
        table.sort(k) return k end)(), ", ")))
    p = enveloped(c, params)
    p.inputResponses = answers
    if r.requestState ~= nil then p.requestState = r.requestState end
  end
end

local function modern_ping(c) return c:request("server/discover") end

-- ===== the tasks extension (io.modelcontextprotocol/tasks, SEP-2663) =====

function M.tasks_declared(c)
  local caps = c.meta and c.meta[protocol.META_CAPABILITIES]
  local ext = type(caps) == "table" and caps.extensions
  return type(ext) == "table" and ext[protocol.TASKS_EXTENSION] ~= nil
end

-- Wait `seconds` with the event loop running (other tasks go on).
local function pause(seconds)
  if loop.task() then return loop.suspend(seconds) end
  local deadline = sys.now() + seconds
  while true do
    local left = deadline - sys.now()
    if left <= 0 then return end
    loop.step(left)
  end
end

M.TASK_POLL_DEFAULT = 0.2 -- seconds between tasks/get when the task suggests none
M.TASK_POLL_MAX = 2       -- at most this long between polls, whatever it suggests

-- Poll tasks/get until the task is terminal (the request's timeout is the
-- limit for the whole task); completed: its inlined result; failed: its
-- error raised as a JSON-RPC error; input_required: its inputRequests
-- answered by the `on` handlers through tasks/update. c.last_task: the
-- final task (c.last_task.polls: how many tasks/get it took).
local function follow_task(c, method, task, opts)
  local limit = opts and opts.timeout or c.timeout
  local deadline = sys.now() + limit
  local id, t, polls, round = task.taskId, task, 0, 0
  while true do
    local interval = tonumber(t.pollIntervalMs) and t.pollIntervalMs / 1000
      or tonumber(t.pollInterval) and t.pollInterval / 1000 or M.TASK_POLL_DEFAULT
    interval = math.max(0.005, math.min(interval, M.TASK_POLL_MAX))
    if sys.now() + interval > deadline then
      errors.raise("timeout", method .. ": task " .. id .. " was still " .. tostring(t.status) .. " after " .. limit
        .. " s (" .. polls .. " polls of tasks/get)", { method = method })
    end
    pause(interval)
    t = c:request("tasks/get", { taskId = id }, opts)
    polls = polls + 1
    if type(t) ~= "table" then errors.raise("protocol", "tasks/get returned no task", { method = "tasks/get" }) end
    local st = t.status
    if st == "completed" or st == "failed" or st == "cancelled" then
      t.polls = polls
      c.last_task = t
      if st == "completed" then
        if type(t.result) ~= "table" then
          errors.raise("protocol", "task " .. id .. " completed but tasks/get inlined no result", { method = method })
        end
        return t.result
      end
      if st == "cancelled" then
        errors.raise("protocol", method .. ": task " .. id .. " was cancelled (" .. tostring(t.statusMessage) .. ")",
          { method = method })
      end
      local e = type(t.error) == "table" and t.error or {}
      errors.raise("jsonrpc", tostring(e.message or ("task " .. id .. " failed")),
        { code = e.code, data = e.data, method = method })
    elseif st == "input_required" then
      round = round + 1
      if round > c.max_input_rounds then
        errors.raise("protocol", method .. ": task " .. id .. " still asked for input after " .. c.max_input_rounds
          .. " rounds (max_input_rounds)", { method = method })
      end
      c:request("tasks/update", { taskId = id, inputResponses = answer_inputs(c, method, t.inputRequests, round) }, opts)
    elseif st ~= "working" then
      errors.raise("protocol", "tasks/get: task " .. id .. " has unknown status " .. string.format("%q", tostring(st)),
        { method = "tasks/get" })
    end
  end
end

-- c:call_tool in the modern era: a task handle is followed to its result.
local function modern_call_tool(c, name, args, opts)
  local r = client_mod.Client.call_tool(c, name, args, opts)
  if type(r) == "table" and r.resultType == "task" then
    note(c, "tools/call " .. tostring(name) .. " answered with task " .. r.taskId .. "; polling tasks/get")
    return follow_task(c, "tools/call", r, opts)
  end
  return r
end

-- tools/list in the modern era: a tool whose x-mcp-header annotations
-- break the rules is left out, with a warning naming the tool and the
-- rule (c.invalid_tools keeps them; c:request("tools/list") the raw
-- list); the valid annotations are kept for mirroring arguments into
-- Mcp-Param-* headers.
local function modern_list_tools(c)
  local tools = client_mod.Client.list_tools(c)
  local kept, invalid = json.array(), {}
  local params = c.param_headers
  for k in pairs(params) do params[k] = nil end
  for _, t in ipairs(tools) do
    local list, why = protocol.header_params(type(t) == "table" and t.inputSchema)
    if list then
      kept[#kept + 1] = t
      if #list > 0 then params[t.name] = list end
    else
      invalid[#invalid + 1] = { name = t.name, reason = why }
      io.stderr:write("mcptest: warning: tool ", tostring(t.name), " left out of c:list_tools(): ", why,
        " (x-mcp-header rules of 2026-07-28; c:request(\"tools/list\") has the raw list)\n")
    end
  end
  c.invalid_tools = invalid
  return kept
end
local function modern_set_log_level(c, level)
  if not protocol.LOG_LEVEL_RANK[level] then
    errors.raise("usage", "unknown log level " .. string.format("%q", tostring(level)) .. "; known: "
      .. table.concat(protocol.LOG_LEVELS, ", "))
  end
  c.log_level = level -- sent in every request's _meta from now on
  return json.object()
end
-- ===== subscriptions/listen (the modern era's notifications) =====
-- One listen request at a time, its filter every list-changed kind plus
-- the subscribed URIs; a new filter closes the old listen (HTTP: the
-- stream is closed; stdio: notifications/cancelled) and opens another.
-- Its notifications land in c.notifications like any other.

local ACK = "notifications/subscriptions/acknowledged"

local function stop_listen(c)
  local id = c.listen_id
  if not id then return end
  c.listen_id = nil
  c.waiting[id] = nil
  c.responses[id] = nil
  c.sent_at[id], c.wire[id] = nil, nil
  if c.transport.abandon and c.transport.kind ~= "stdio" then c.transport:abandon(id)
  else pcall(c.notify, c, "notifications/cancelled", { requestId = id, reason = "mcptest: listen replaced" }) end
end

-- Open a listen with the current filter; wait for its acknowledgement
-- (the first message on it), which is returned.
local function open_listen(c, opts)
  stop_listen(c)
  local filter = { toolsListChanged = true, promptsListChanged = true, resourcesListChanged = true }
  local uris = {}
  for u in pairs(c.subscribed) do uris[#uris + 1] = u end
  table.sort(uris)
  if #uris > 0 then filter.resourceSubscriptions = json.array(uris) end
  local from = #c.notifications
  local id = c:start("subscriptions/listen", enveloped(c, { notifications = filter }))
  c.listen_id = id
  local timeout = opts and opts.timeout or c.timeout
  local deadline = sys.now() + timeout
  while true do
    local notes = c.notifications
    for i = from + 1, #notes do
      local n = notes[i]
      local meta = n.method == ACK and type(n.params) == "table" and n.params._meta
      if type(meta) == "table" and meta[protocol.META_SUBSCRIPTION_ID] == id then
        c.listen_ack = n.params
        note(c, "subscriptions/listen " .. id .. " acknowledged")
        return n.params
      end
    end
    from = #notes
    if c.responses[id] then -- it ended (an error, or a result) before any acknowledgement
      local msg = c.responses[id]
      c.responses[id], c.listen_id = nil, nil
      local ok, r = client_mod.outcome(msg, "subscriptions/listen")
      if not ok then error(r, 0) end
      errors.raise("protocol", "subscriptions/listen ended before notifications/subscriptions/acknowledged",
        { method = "subscriptions/listen" })
    end
    local failed = c.transport:failure(id)
    if failed then
      stop_listen(c)
      errors.raise(failed.kind, failed.message, { method = "subscriptions/listen" })
    end
    if sys.now() >= deadline then
      stop_listen(c)
      errors.raise("timeout", "no notifications/subscriptions/acknowledged for subscriptions/listen within "
        .. timeout .. " s", { method = "subscriptions/listen" })
    end
    pause(math.min(0.05, deadline - sys.now()))
  end
end

local function modern_subscribe(c, uri)
  if uri ~= nil then
    if type(uri) ~= "string" then errors.raise("usage", "c:subscribe(uri): uri must be a string") end
    c.subscribed[uri] = true
  end
  return open_listen(c)
end
local function modern_unsubscribe(c, uri)
  c.subscribed[uri] = nil
  return open_listen(c)
end
local function modern_close(c)
  if c.listen_id and not c.closed then stop_listen(c) end
  return client_mod.Client.close(c)
end

-- Speak the modern era on c (version), or stop (version nil).
local MODERN_METHODS = { request = M.modern_request, ping = modern_ping, set_log_level = modern_set_log_level,
                         call_tool = modern_call_tool, listen = function(c) return open_listen(c) end,
                         close = modern_close,
                         list_tools = modern_list_tools,
                         subscribe = modern_subscribe, unsubscribe = modern_unsubscribe }
local function set_modern(c, opts, version)
  local Client = client_mod.Client
  for name, fn in pairs(MODERN_METHODS) do rawset(c, name, version and fn or Client[name]) end
  if version then
    c.meta = { [protocol.META_VERSION] = version, [protocol.META_CAPABILITIES] = M.client_capabilities(opts),
               [protocol.META_CLIENT_INFO] = M.client_info }
    c.max_input_rounds = opts.max_input_rounds or M.MAX_INPUT_ROUNDS
    c.input_rounds = json.array()
    c.param_headers = c.param_headers or {}
    c.invalid_tools = {}
    c.subscribed = c.subscribed or {}
  else
    c.meta = nil
  end
  if c.transport.set_modern then c.transport:set_modern(version, version and c.param_headers) end
end

-- A modern verdict: what server/discover said.
local function adopt(c, version, d)
  c.era = "modern"
  c.protocol_version = version
  c.discover_result = d
  local meta = type(d._meta) == "table" and d._meta or {}
  c.server_info = meta[protocol.META_SERVER_INFO] or d.serverInfo
  c.capabilities = type(d.capabilities) == "table" and d.capabilities or json.object()
  c.instructions = d.instructions
  c.supported_versions = d.supportedVersions
  return d
end

local function speaks(list)
  if type(list) ~= "table" then return nil, false end
  local legacy = false
  for _, v in ipairs(list) do
    if protocol.ERA[v] == "modern" then return v, true end
    if protocol.ERA[v] == "legacy" then legacy = true end
  end
  return nil, legacy
end

-- One probe: server/discover in the envelope of version. Returns "modern",
-- result | "legacy", why | "retry", version | raises.
local function probe(c, opts, version, stdio)
  set_modern(c, opts, version)
  local ok, res = pcall(c.request, c, "server/discover", nil,
    stdio and { timeout = opts.probe_timeout or M.PROBE_TIMEOUT } or nil)
  if ok then
    if type(res) ~= "table" then return "legacy", "server/discover returned no object" end
    local v = speaks(res.supportedVersions)
    if v then return "modern", res end
    return "legacy", "server/discover listed no version mcptest speaks in the 2026-07-28 era"
  end
  local e = res
  if not errors.is(e) then error(e, 0) end
  if e.kind == "jsonrpc" then
    if e.code == protocol.UNSUPPORTED_PROTOCOL_VERSION then
      local data = type(e.data) == "table" and e.data or {}
      local v, legacy = speaks(data.supported)
      if v then return "retry", v end
      if legacy then return "legacy", "server/discover got -32022 naming only legacy versions" end
      return "legacy", "server/discover got -32022 without a usable data.supported"
    end
    if not stdio and (e.code == protocol.HEADER_MISMATCH or e.code == protocol.MISSING_CLIENT_CAPABILITY) then
      errors.raise("protocol", "a 2026-07-28 server rejected mcptest's envelope on server/discover ("
        .. tostring(e.code) .. ": " .. tostring(e.message) .. "); this is a bug in mcptest or the server,"
        .. " so mcptest does not fall back", { method = "server/discover", code = e.code })
    end
    return "legacy", "server/discover got JSON-RPC error " .. tostring(e.code) .. " (" .. tostring(e.message) .. ")"
  end
  if stdio then
    if e.kind == "timeout" then return "legacy", "no answer to server/discover within "
      .. tostring(opts.probe_timeout or M.PROBE_TIMEOUT) .. " s (probe_timeout)" end
    if e.kind == "protocol" then return "legacy", "server/discover: " .. tostring(e.message) end
    if e.kind == "transport" then -- it exited on the probe (some legacy servers do): start it again
      return "respawn", "the server exited on server/discover (" .. tostring(e.message) .. ")"
    end
    error(e, 0)
  end
  local st = e.http_status
  if e.kind == "transport" and st and st >= 400 and st < 500 and st ~= 401 and st ~= 403 then
    return "legacy", "server/discover got HTTP " .. st .. " without a JSON-RPC error body"
  end
  if e.kind == "protocol" and st and st < 300 then
    return "legacy", "server/discover: " .. tostring(e.message)
  end
  error(e, 0) -- 5xx, timeout, network, auth: an error, never an era verdict
end

local function modern_pinned(c, opts, version, how)
  local stdio = c.transport.kind == "stdio"
  local verdict, res = probe(c, opts, version, stdio)
  if verdict == "retry" then
    note(c, "server/discover got -32022; probing once more with " .. res)
    version = res
    verdict, res = probe(c, opts, version, stdio)
    if verdict == "retry" then
      errors.raise("protocol", "server/discover got -32022 twice (the second time with " .. version
        .. ", a version the server listed)", { method = "server/discover" })
    end
  end
  if verdict == "respawn" then return nil, res, true end
  if verdict == "modern" then
    c.era_reason = how
    note(c, "era modern (" .. version .. "): " .. how)
    return adopt(c, version, res)
  end
  return nil, res
end

-- Start from a cached verdict (era_cache): the result, or nil and why it
-- failed (the caller forgets it and probes again, once). Auth and usage
-- errors are no verdict on the era: raised as they are.
local function from_cache(c, opts, hit, respawn)
  local how = "cached verdict of " .. os.date("!%Y-%m-%dT%H:%M:%SZ", hit.at) .. " (" .. tostring(hit.reason) .. ")"
  note(c, "era " .. hit.era .. " (" .. hit.version .. "): " .. how)
  local ok, r, why
  if hit.era == "modern" then
    ok, r, why = pcall(modern_pinned, c, opts, hit.version, how)
    if ok and r then return r end
  else
    ok, r = pcall(M.initialize, c, opts, M.LATEST_LEGACY)
    if ok then
      c.era_reason = how
      return r
    end
  end
  if not ok then
    if errors.is(r) and (r.kind == "auth" or r.kind == "usage") then error(r, 0) end
    why = errors.is(r) and r.message or tostring(r)
  end
  set_modern(c, opts, nil)
  -- a fresh transport: a stdio server may have exited on the request it
  -- did not expect, an HTTP one may have moved to legacy HTTP+SSE
  if respawn then respawn() end
  return nil, tostring(why)
end

-- The `protocol` option: "auto" (default) probes, else a pinned version.
-- respawn (stdio): starts the server again after it exited on the probe.
function M.start(c, opts, respawn)
  client_mod = client_mod or require("mcptest.client")
  local want = opts.protocol
  if want == nil then want = client_mod.default_protocol or "auto" end
  check_version(want)
  local env = os.getenv("MCP_CONFORMANCE_PROTOCOL_VERSION")
  if want == "auto" and env and env ~= "" then
    want = check_version(env)
    note(c, "MCP_CONFORMANCE_PROTOCOL_VERSION pins " .. env)
  end
  if want == "auto" then
    local server = era_cache.enabled(opts) and era_cache.server(opts) or nil
    local hit = server and era_cache.get(server)
    if hit then
      local r, failed = from_cache(c, opts, hit, respawn)
      if r then return r end
      era_cache.forget(server)
      note(c, "the cached verdict (" .. hit.era .. ", " .. hit.version .. ") failed: " .. failed
        .. "; probing again")
    end
    local d, why, exited = modern_pinned(c, opts, protocol.MODERN, "server/discover answered")
    if d then
      era_cache.put(server, "modern", c.protocol_version, c.era_reason)
      return d
    end
    set_modern(c, opts, nil)
    if exited then
      if not respawn then errors.raise("transport", why, { method = "server/discover" }) end
      note(c, why .. "; starting it again")
      respawn()
      why = why .. "; started again"
    end
    c.era_reason = why
    note(c, "falling back to initialize (legacy era): " .. why)
    local r = M.initialize(c, opts, M.LATEST_LEGACY)
    era_cache.put(server, "legacy", c.protocol_version, why)
    return r
  end
  if protocol.ERA[want] == "modern" then
    local d, why = modern_pinned(c, opts, want, "pinned to " .. want) -- an exit is no verdict here
    if d then return d end
    set_modern(c, opts, nil)
    errors.raise("protocol", "protocol " .. want .. " is pinned but the server does not speak it: " .. why,
      { method = "server/discover" })
  end
  c.era_reason = "pinned to " .. want
  return M.initialize(c, opts, want)
end

return M
