-- mcptest: the module test scripts require.
--   local mcp = require("mcptest")
--   local c = mcp.connect{ command = {"node", "server.js"} }
-- See docs/lua-api.md for every function and field.
local errors = require("mcptest.errors")
local json = require("mcptest.json")

local M = {
  json = json,
  Error = errors.Error,
  is_error = errors.is,
  null = json.null,
}

-- Seconds on a monotonic clock (for durations: mcp.now() - started).
function M.now() return require("mcptest.core.sys").now() end

-- Concatenated text of a tool result's (or prompt message's) text content.
function M.text(result)
  if type(result) ~= "table" then return nil end
  local content = result.content
  if type(content) ~= "table" then return nil end
  if content.type then content = { content } end
  local parts = {}
  for _, item in ipairs(content) do
    if type(item) == "table" and item.type == "text" then parts[#parts + 1] = tostring(item.text) end
  end
  return table.concat(parts)
end

local function check_options(opts)
  if type(opts) ~= "table" then
    errors.raise("usage", "mcp.connect expects a table, e.g. mcp.connect{command = {\"node\", \"server.js\"}}")
  end
  if (opts.command == nil) == (opts.url == nil) then
    errors.raise("usage", "mcp.connect needs exactly one of command (stdio) or url (HTTP)")
  end
end

-- Connect and start a session. Raises mcptest.Error on failure.
function M.connect(opts)
  check_options(opts)
  local client = require("mcptest.client")
  local lifecycle = require("mcptest.client.lifecycle")
  -- the transports see the run's defaults (--timeout, --verbose) too
  local topts = setmetatable({ timeout = opts.timeout or client.default_timeout,
                               verbose = opts.verbose or client.default_verbose }, { __index = opts })
  local transport
  if opts.command then
    transport = require("mcptest.transport.stdio").open(topts)
  else
    local auth = require("mcptest.auth").for_server(opts, require("mcptest.url").shown(opts.url))
    transport = require("mcptest.transport.http").open(topts, auth)
  end
  local c = client.new(transport, opts)
  local function http_hooks(t) -- HTTP: session events, and how to start a new session after a 404
    c.events = t.events
    t.restart_session = function()
      lifecycle.initialize(c, opts, c.protocol_version)
      c.session_id = t.session_id
    end
  end
  if opts.url then http_hooks(transport) end
  -- stdio: a server that exits on the era probe is started again; both:
  -- a fresh transport after a cached era verdict failed
  local respawn = function()
    c.transport:close()
    if opts.command then
      client.attach(c, require("mcptest.transport.stdio").open(topts))
    else
      client.attach(c, require("mcptest.transport.http").open(topts, transport.auth))
      http_hooks(c.transport)
    end
  end
  local ok, err = pcall(lifecycle.start, c, opts, respawn)
  if not ok then
    c:close()
    if errors.is(err) and err.kind ~= "usage" and err.kind ~= "auth"
       and not tostring(err.message):find(transport.description, 1, true) then
      err.message = "cannot start an MCP session with " .. transport.description .. ": " .. err.message
    end
    error(err, 0)
  end
  c.session_id = c.transport.session_id
  local auth = c.transport.auth
  if auth and auth.source == "env_unset" then
    -- the server took a request without credentials, but the script named
    -- a variable that holds none: an error all the same (DESIGN.md)
    c:close()
    errors.raise("auth", require("mcptest.auth").unset_env_message(auth.token_env)
      .. " (" .. transport.description .. " answered without credentials: if it needs none, drop bearer_token_env)",
      { url = require("mcptest.url").shown(opts.url) })
  end
  return c
end

-- mcp.spawn(fn, ...) -> task: run fn(...) as a task. A request made in a
-- task suspends it until the answer comes, so the other tasks and the
-- main script go on: many requests in flight at once, on one client or
-- across clients. mcp.join waits for tasks.
function M.spawn(fn, ...)
  if type(fn) ~= "function" then errors.raise("usage", "mcp.spawn expects a function", nil, 2) end
  return require("mcptest.loop").spawn(fn, ...)
end

-- mcp.join(task_or_tasks[, timeout_s]) -> the results of a single task,
-- or true for a list. Raises the first error a task raised (its test
-- fails as if the error were its own), or a timeout error.
function M.join(tasks, timeout)
  local loop = require("mcptest.loop")
  local list = tasks
  if loop.is_task(tasks) then list = { tasks } end
  if type(list) ~= "table" then errors.raise("usage", "mcp.join expects a task or a list of tasks", nil, 2) end
  for i, t in ipairs(list) do
    if not loop.is_task(t) then
      errors.raise("usage", "mcp.join: item " .. i .. " is a " .. type(t) .. ", not a task from mcp.spawn", nil, 2)
    end
  end
  local sys = require("mcptest.core.sys")
  if not loop.join(list, timeout and sys.now() + timeout) then
    errors.raise("timeout", string.format("mcp.join: tasks still running after %g s", timeout), nil, 2)
  end
  for _, t in ipairs(list) do loop.unjoined[t] = nil end
  for _, t in ipairs(list) do
    if t.error ~= nil then
      -- a task whose function ended in a tail call lost the script's frame:
      -- the join line is where the script meets the error
      if errors.is(t.error) and t.error.where == nil then t.error.where = errors.caller(2) end
      error(t.error, 0)
    end
  end
  if list ~= tasks then return table.unpack(tasks.results, 1, tasks.results.n) end
  return true
end

-- mcp.oauth: the OAuth client's steps, so a suite can test a server's auth
-- itself (docs/auth.md): discover, register, login (any grant), refresh.
M.oauth = {
  discover = function(url, opts)
    local d, err = require("mcptest.auth.discovery").discover(url, opts)
    if not d then error(err, 0) end
    return d
  end,
  register = function(as_metadata, client_metadata, opts)
    local reg, err = require("mcptest.auth.oauth").register(as_metadata, client_metadata, opts)
    if not reg then error(err, 0) end
    return reg
  end,
  login = function(cfg) return require("mcptest.auth.session").login(cfg) end,
  refresh = function(url, opts) return require("mcptest.auth.session").refresh(url, opts) end,
}

-- mcp.tokens: the token cache (~/.mcptest/auth/, MCPTEST_HOME moves it),
-- filed by server URL.
M.tokens = {
  get = function(url)
    return require("mcptest.auth.cache").tokens(require("mcptest.auth.cache").url_key(url))
  end,
  list = function() return require("mcptest.auth.cache").list() end,
  put = function(url, t)
    if type(t) ~= "table" or type(t.access_token) ~= "string" then
      errors.raise("usage", "mcp.tokens.put(url, t): t needs an access_token")
    end
    local cache = require("mcptest.auth.cache")
    local key = require("mcptest.auth.cache").url_key(url)
    require("mcptest.secrets").register(t.access_token, "access token")
    if t.refresh_token then require("mcptest.secrets").register(t.refresh_token, "refresh token") end
    return cache.with_lock(key, function() return cache.put_tokens(key, t) end)
  end,
  -- mark the cached token expired (its refresh token kept): the next
  -- connect refreshes it
  expire = function(url)
    local cache = require("mcptest.auth.cache")
    local key = require("mcptest.auth.cache").url_key(url)
    return cache.with_lock(key, function()
      local t = cache.tokens(key)
      if not t then return nil end
      t.expires_at = os.time() - 1
      return cache.put_tokens(key, t)
    end)
  end,
  remove = function(url)
    return require("mcptest.auth.cache").remove_tokens(require("mcptest.auth.cache").url_key(url))
  end,
}

-- mcp.http.request{ method=, url=, headers=, body=, timeout=, tls= }: raw HTTP
-- (lower-case response header names), loaded on first use.
M.http = setmetatable({}, { __index = function(_, k) return require("mcptest.http")[k] end })

-- mcp.fixture.start{...}: the fixture server (lua/mcptest/fixture/init.lua),
-- loaded on first use so scripts that do not need it start fast.
M.fixture = setmetatable({}, { __index = function(_, k)
  return require("mcptest.fixture")[k]
end })

return M
