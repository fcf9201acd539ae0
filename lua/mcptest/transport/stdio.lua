-- mcptest.transport.stdio: MCP over a child process's stdin/stdout,
-- newline-delimited JSON-RPC (MCP 2025-11-25 "stdio" transport).
-- The transport interface every transport offers the client core:
--   t:send(message_table)          queue one message (raises on a dead peer)
--   t.on_message = function(msg)   called for each message received
--   t:stderr_text()                what the server wrote on stderr (stdio only)
--   t.on_wake = function(id)       set by the client: the transport failed
--                                  (id nil) or request id failed or needs
--                                  the client's service(): wake its waiter
--   t:failure()                    nil, or the Error that ended the transport
--   t:close()                      stop the server, bounded in time
--   t.description                  a short name for messages
local process = require("mcptest.core.process")
local json = require("mcptest.json")
local loop = require("mcptest.loop")
local errors = require("mcptest.errors")

local M = {}
local Stdio = {}
Stdio.__index = Stdio

-- Split "node server.js --flag" on blanks, honouring simple quotes.
local function split_command(s)
  local argv, cur, quote = {}, nil, nil
  for ch in s:gmatch(".") do
    if quote then
      if ch == quote then quote = nil else cur = (cur or "") .. ch end
    elseif ch == "'" or ch == '"' then
      quote = ch; cur = cur or ""
    elseif ch:match("%s") then
      if cur then argv[#argv + 1] = cur; cur = nil end
    else
      cur = (cur or "") .. ch
    end
  end
  if cur then argv[#argv + 1] = cur end
  return argv
end
M.split_command = split_command

local function build_env(extra)
  if not extra then return nil end
  local env = require("mcptest.core.sys").environ()
  for k, v in pairs(extra) do
    if v == false then env[k] = nil else env[k] = tostring(v) end
  end
  local list = {}
  for k, v in pairs(env) do list[#list + 1] = k .. "=" .. v end
  return list
end

local function tail_lines(s, n)
  local lines = {}
  for line in s:gmatch("[^\n]+") do lines[#lines + 1] = line end
  local from = math.max(1, #lines - n + 1)
  return table.concat(lines, "\n", from)
end
M.tail_lines = tail_lines

-- How errors name the server: the program and its first argument only, so
-- a secret passed as a later argument never reaches a message or report.
local function describe(argv)
  local s = argv[1]
  if argv[2] and not argv[2]:match("^%-") then s = s .. " " .. argv[2] end
  if #argv > (s == argv[1] and 1 or 2) then s = s .. " ..." end
  return "stdio server '" .. s .. "'"
end

-- Open: spawn the server. opts: command (array or string), env, cwd.
function M.open(opts)
  local argv = opts.command
  if type(argv) == "string" then argv = split_command(argv) end
  if type(argv) ~= "table" or #argv == 0 then
    errors.raise("usage", "command must be a non-empty array, e.g. {\"node\", \"server.js\"}")
  end
  local words = {}
  for i, a in ipairs(argv) do
    if type(a) ~= "string" and type(a) ~= "number" then
      errors.raise("usage", "command[" .. i .. "] is a " .. type(a) .. "; command words must be strings")
    end
    words[i] = tostring(a)
  end
  argv = words
  local mm = opts.max_message_size
  if mm ~= nil and (math.type(mm) ~= "integer" or mm < 1) then
    errors.raise("usage", "max_message_size must be a positive integer (bytes), got " .. tostring(mm))
  end
  local proc, err = process.spawn{ argv = argv, env = build_env(opts.env), cwd = opts.cwd, max_line = mm }
  if not proc then
    err.message = err.message .. "; check that the command is installed and on PATH"
    error(err, 0)
  end
  local t = setmetatable({
    proc = proc,
    argv = argv,
    description = describe(argv),
    kind = "stdio",
    stderr_chunks = {},  -- what the server wrote on stderr, the last stderr_max bytes
    stderr_size = 0,
    stderr_max = opts.stderr_max or 1024 * 1024,
    failed = false,      -- the Error that ended the transport (false, not nil: see client.lua)
    closing = false,
    closed = false,
  }, Stdio)
  -- the methods the request path calls (send, failure, on_ready, take)
  -- copied into the transport, as the client does: no metatable miss per
  -- call; needs_service is false, not nil, for the same reason
  for name, fn in pairs(Stdio) do
    if type(fn) == "function" then t[name] = fn end
  end
  t.needs_service = false
  t.out_fd, t.err_fd, t.in_fd = proc:fds()
  t.read_fds = { t.out_fd, t.err_fd }
  t.msgs = {} -- reused by every read: read_messages fills 1..n
  loop.register(t)
  return t
end

function Stdio:fds()
  local pending = select(4, self.proc:fds())
  if pending > 0 then return self.read_fds, { self.in_fd } end
  return self.read_fds
end

-- Everything kept of stderr, as one string (joined on demand).
function Stdio:stderr_text()
  return table.concat(self.stderr_chunks)
end

function Stdio:last_stderr(n)
  local s = tail_lines(self:stderr_text(), n or 10)
  if s == "" then return "" end
  return "\nlast stderr lines:\n  " .. s:gsub("\n", "\n  ")
end

-- The transport ended: remember why, stop watching it.
function Stdio:fail(kind, message)
  if self.failed then return end
  self:drain_stderr()
  self.failed = errors.new(kind, message .. self:last_stderr(), { server = self.description })
  loop.unregister(self)
  if self.on_wake then self.on_wake(nil) end
end

function Stdio:failure() return self.failed or nil end

function Stdio:drain_stderr()
  if self.err_fd < 0 then return end
  local chunk, eof = self.proc:read_stderr()
  if #chunk > 0 then
    local chunks = self.stderr_chunks
    chunks[#chunks + 1] = chunk
    self.stderr_size = self.stderr_size + #chunk
    while self.stderr_size > self.stderr_max do -- keep the tail only
      local first = chunks[1]
      local excess = self.stderr_size - self.stderr_max
      if #first <= excess then
        table.remove(chunks, 1)
        self.stderr_size = self.stderr_size - #first
      else
        chunks[1] = first:sub(excess + 1)
        self.stderr_size = self.stderr_max
      end
    end
  end
  if eof then
    self.err_fd = -1
    self.read_fds = { self.out_fd }
    loop.changed()
  end
end

-- proc:status() in words, nil while running.
local function exit_words(st, code)
  if st == "exited" then return "exited with code " .. code end
  if st == "signaled" then return "was killed by signal " .. code end
end

local function exit_description(proc)
  -- give the child a moment to be reaped after closing its stdout
  local sys = require("mcptest.core.sys")
  for _ = 1, 20 do
    local words = exit_words(proc:status())
    if words then return words end
    sys.sleep(0.005)
  end
  return "closed its stdout"
end

-- The transport ends on a stdout line that is not a JSON-RPC message
-- (eof: it was the last, unfinished line before stdout ended).
function Stdio:not_jsonrpc(line, eof)
  local shown = #line > 120 and (line:sub(1, 120) .. "... (" .. #line .. " bytes)") or line
  local _, jerr = json.try_decode(line)
  local why = jerr and (" (" .. tostring(jerr.message or jerr) .. ")") or ""
  if eof then
    self:drain_stderr()
    self:fail("transport", self.description .. " " .. exit_description(self.proc)
      .. " in the middle of a line (no newline after " .. string.format("%q", shown) .. ")")
    return false
  end
  self:fail("protocol", self.description .. " wrote a line that is not JSON-RPC on stdout: "
    .. string.format("%q", shown) .. why .. "; a stdio MCP server must write only JSON-RPC messages"
    .. " to stdout (logs go to stderr)")
  return false
end

-- Stdout ended: keep the last stderr, and say how the server went.
function Stdio:ended()
  self:drain_stderr()
  if not self.closing then
    self:fail("transport", self.description .. " " .. exit_description(self.proc))
  end
end

-- What one read gave, as proc:read_messages returns it: hand each message
-- to the client, end the transport on a line that is not JSON-RPC or at
-- stdout's end. Returns true when it delivered or ended.
function Stdio:take(msgs, n, eof, bad_line)
  if not msgs then -- nil, err: a line over the size limit
    self:fail(n.kind, self.description .. ": " .. n.message)
    return true
  end
  if n > 0 then
    -- msgs is reused by every read; a handler run below may nest a request
    -- that reads again, so more than one message is copied out first
    if n > 1 then msgs = table.move(msgs, 1, n, 1, {}) end
    for i = 1, n do
      local msg = msgs[i]
      if type(msg) ~= "table" then self:not_jsonrpc(json.encode(msg)); return true end
      self.on_message(msg)
      if self.failed then return true end
    end
  end
  if bad_line then self:not_jsonrpc(bad_line, eof); return true end
  if eof then self:ended(); return true end
  return n > 0
end

function Stdio:on_ready(fd)
  if fd == self.out_fd then
    self:take(self.proc:read_messages(self.msgs))
    return
  end
  if fd == self.err_fd then return self:drain_stderr() end
  if fd == self.in_fd then
    local pending, err = self.proc:flush()
    if not pending then return self:fail("transport", self:write_failure(err)) end
    if pending == 0 then loop.changed() end
  end
end

-- A write failed: say the server exited when it did (EPIPE is a symptom).
function Stdio:write_failure(err)
  if self.proc:status() ~= "running" then
    return self.description .. " " .. exit_description(self.proc)
  end
  return self.description .. ": " .. err.message
end

function Stdio:send(msg)
  if self.failed then error(self.failed, 0) end
  local pending, err = self.proc:send(msg) -- encoded in C straight into the stdin queue
  if not pending then
    -- the server stopped reading (it exited): this message is lost, but
    -- what it wrote before may still be in the stdout pipe, so the
    -- transport ends at stdout's end (ended()), not here
    error(errors.new("transport", self:write_failure(err), { server = self.description }), 0)
  end
  if pending > 0 then loop.changed() end
end

-- Called by a client whose wait has been idle for a while: a server that
-- exited while a process it started still holds its stdout sends no EOF.
function Stdio:check()
  if self.failed or self.closing then return end
  local st, code = self.proc:status()
  if st == "running" then return end
  -- exited: what it wrote before exiting may still be in the pipe (read
  -- without writing stdin first: that would only fail); only a stdout that
  -- stays open with nothing in it means a helper holds it
  self:drain_stderr()
  local msgs, n, eof, bad_line, _, read_any = self.proc:read_messages(self.msgs)
  if self:take(msgs, n, eof, bad_line) or read_any then return end
  self:fail("transport", self.description .. " " .. exit_words(st, code)
    .. " (a process it started still holds its stdout open)")
end

local GRACE = 0.5

function Stdio:close()
  if self.closed then return end
  self.closed, self.closing = true, true
  loop.unregister(self)
  -- end of input, then keep reading while the server shuts down, so what it
  -- writes on stderr on its way out is kept
  self.proc:close_stdin()
  local sys = require("mcptest.core.sys")
  local poll = require("mcptest.core.poll")
  local deadline = sys.now() + GRACE
  local out_open = true
  while self.proc:status() == "running" and sys.now() < deadline do
    local fds = {}
    if out_open then fds[1] = self.out_fd end
    if self.err_fd >= 0 then fds[#fds + 1] = self.err_fd end
    poll.wait(fds, nil, math.max(0, math.min(0.05, deadline - sys.now())))
    self:drain_stderr()
    if out_open then -- discard: nobody waits for answers any more
      local _, _, eof = self.proc:read_lines()
      if eof then out_open = false end
    end
  end
  for _ = 1, 64 do -- what is left in the pipe after the exit
    if self.err_fd < 0 then break end
    local before = self.stderr_size
    self:drain_stderr()
    if self.stderr_size == before then break end
  end
  self.proc:close(GRACE, true) -- the first grace is spent: SIGTERM now if still running
  self:drain_stderr()
end

-- A collected client's transport: SIGKILL the server's process group at
-- once, wait for nothing (a finalizer must not block nor run the loop).
function Stdio:release()
  if self.closed then return end
  self.closed, self.closing = true, true
  self.proc:kill()
end

function Stdio:pid() return self.proc:pid() end

return M
