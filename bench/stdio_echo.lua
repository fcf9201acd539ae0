-- bench/stdio_echo.lua: mcptest's side of the stdio benchmark. One
-- connection, a warm-up, then CALLS sequential tools/call echo through the
-- full client (c:call_tool, answer checked); prints the same JSON fields
-- as bench/stdio_floor.c.
-- usage: mcptest bench/stdio_echo.lua CALLS WARMUP -- SERVER ARGV...
local mcp = require("mcptest")
local sys = require("mcptest.core.sys")

local calls, warmup = tonumber(arg[1]) or 2000, tonumber(arg[2]) or 200
local command = table.move(arg, 3, #arg, 1, {})
local c = mcp.connect{ command = command }
local args = { message = "hello" }
for _ = 1, warmup do c:call_tool("echo", args) end
local u0, s0 = sys.usage()
local t0 = sys.now()
for _ = 1, calls do
  local r = c:call_tool("echo", args)
  if r.content[1].text ~= "Echo: hello" then error("wrong answer: " .. tostring(r.content[1].text)) end
end
local t1 = sys.now()
local u1, s1, rss = sys.usage()
c:close()
io.write(string.format('{"calls":%d,"seconds":%.4f,"calls_per_s":%.1f,"cpu_us_per_call":%.2f,"user_us_per_call":%.2f,"sys_us_per_call":%.2f,"max_rss_kib":%d}\n',
  calls, t1 - t0, calls / (t1 - t0), ((u1 - u0) + (s1 - s0)) * 1e6 / calls,
  (u1 - u0) * 1e6 / calls, (s1 - s0) * 1e6 / calls, rss))
