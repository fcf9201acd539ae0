-- Helpers the specs share for running mcptest (or any command) as a
-- process and reading what it wrote:
--   local R = dofile(os.getenv("MCPTEST_SRC") .. "/spec/lib/run.lua")
--   R.slurp(path)                  -> the file's text, or nil
--   R.sh(cmd)                      -> exit code, stdout, stderr of a shell command
--   R.run(args[, env])             -> the same for `mcptest ARGS` (env: "K=V " prefix)
--   R.run_many(n, script, env)     -> n copies of `mcptest SCRIPT` at once:
--                                     { out =, status =, code = } each
local sys = require("mcptest.core.sys")
local poll = require("mcptest.core.poll")
local process = require("mcptest.core.process")

local M = {}
M.SRC = os.getenv("MCPTEST_SRC") or "."
M.BIN = os.getenv("MCPTEST_BIN") or (M.SRC .. "/build/mcptest")

function M.slurp(p)
  local f = io.open(p)
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

function M.sh(cmd)
  local out, err = os.tmpname(), os.tmpname()
  local _, _, code = os.execute(string.format("%s >%s 2>%s", cmd, out, err))
  local o, e = M.slurp(out), M.slurp(err)
  os.remove(out); os.remove(err)
  return code, o, e
end

function M.run(args, env) return M.sh((env or "") .. M.BIN .. " " .. args) end

function M.run_many(n, script, env)
  local procs, envl = {}, {}
  for k, v in pairs(sys.environ()) do envl[#envl + 1] = k .. "=" .. v end
  for k, v in pairs(env or {}) do envl[#envl + 1] = k .. "=" .. v end
  for i = 1, n do procs[i] = { p = assert(process.spawn{ argv = { M.BIN, script }, env = envl }), out = "" } end
  local deadline = sys.now() + 60
  local results = {}
  for i, pr in ipairs(procs) do
    local out_fd = pr.p:fds()
    repeat
      poll.wait({ out_fd }, nil, 0.2)
      local lines, _, eof = pr.p:read_lines()
      for _, l in ipairs(lines) do pr.out = pr.out .. l .. "\n" end
    until eof or sys.now() > deadline
    pr.p:close(5)
    local st, code = pr.p:status()
    results[i] = { out = pr.out, status = st, code = code }
  end
  return results
end

return M
