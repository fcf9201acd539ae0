-- bench/stdio_minimal.lua: a bound, not a product path. The same calls as
-- stdio_echo.lua with no client and no event loop: the C calls the stdio
-- transport makes (proc:send encodes into the stdin queue, poll.wait,
-- proc:read_messages decodes from the stdout buffer), straight on
-- mcptest's C modules. What the full client costs beyond this is the
-- Lua of the client, the loop and the transport.
-- usage: mcptest bench/stdio_minimal.lua CALLS WARMUP -- SERVER ARGV...
local process = require("mcptest.core.process")
local poll = require("mcptest.core.poll")
local json = require("mcptest.core.json")
local sys = require("mcptest.core.sys")

local calls, warmup = tonumber(arg[1]) or 2000, tonumber(arg[2]) or 200
local p = assert(process.spawn{ argv = table.move(arg, 3, #arg, 1, {}) })
local rfds, msgs = { (p:fds()) }, {}
local function rpc(msg)
  assert(p:send(msg) == 0, "stdin full")
  while true do
    if not poll.wait(rfds, nil, 30) then error("no answer in 30 s") end
    local _, n, eof = p:read_messages(msgs)
    if n == 0 and eof then error("the server closed its stdout") end
    for i = 1, n do -- a notification may come before the answer
      if msgs[i].id == msg.id then return msgs[i] end
    end
  end
end
rpc{ jsonrpc = "2.0", id = 0, method = "initialize", params = { protocolVersion = "2025-11-25",
     capabilities = json.object(), clientInfo = { name = "minimal", version = "0" } } }
p:send({ jsonrpc = "2.0", method = "notifications/initialized" })
local env = { jsonrpc = "2.0", method = "tools/call", params = { name = "echo", arguments = { message = "hello" } } }
for i = 1, warmup do env.id = i; rpc(env) end
local u0, s0 = sys.usage()
local t0 = sys.now()
for i = 1, calls do
  env.id = warmup + i
  local r = rpc(env)
  if r.result.content[1].text ~= "Echo: hello" then error("wrong answer") end
end
local t1 = sys.now()
local u1, s1, rss = sys.usage()
p:close()
io.write(string.format('{"calls":%d,"seconds":%.4f,"calls_per_s":%.1f,"cpu_us_per_call":%.2f,"user_us_per_call":%.2f,"sys_us_per_call":%.2f,"max_rss_kib":%d}\n',
  calls, t1 - t0, calls / (t1 - t0), ((u1 - u0) + (s1 - s0)) * 1e6 / calls,
  (u1 - u0) * 1e6 / calls, (s1 - s0) * 1e6 / calls, rss))
