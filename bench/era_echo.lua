-- bench/era_echo.lua: mcptest's side of the per-era benchmark
-- (bench/era_bench.sh). One connection pinned to a protocol version, a
-- warm-up, then CALLS sequential tools/call echo through the full client
-- (c:call_tool, answer checked against the fixture's echo); prints the
-- same JSON fields as bench/stdio_floor.c and bench/http_floor.c.
-- usage: mcptest bench/era_echo.lua PROTOCOL CALLS WARMUP URL
--        mcptest bench/era_echo.lua PROTOCOL CALLS WARMUP -- SERVER ARGV...
-- (mcptest keeps the "--" for itself: the script sees SERVER ARGV... after WARMUP)
local mcp = require("mcptest")
local sys = require("mcptest.core.sys")

local protocol, calls, warmup = arg[1], tonumber(arg[2]) or 2000, tonumber(arg[3]) or 200
local opts = { protocol = protocol }
if tostring(arg[4]):match("^https?://") then opts.url = arg[4] else opts.command = table.move(arg, 4, #arg, 1, {}) end
local c = mcp.connect(opts)
local args = { message = "hello" }
for _ = 1, warmup do c:call_tool("echo", args) end
local u0, s0 = sys.usage()
local t0 = sys.now()
for _ = 1, calls do
  local r = c:call_tool("echo", args)
  if r.content[1].text ~= "hello" then error("wrong answer: " .. tostring(r.content[1].text)) end
end
local t1 = sys.now()
local u1, s1, rss = sys.usage()
local era = c.era
c:close()
io.write(string.format('{"calls":%d,"seconds":%.4f,"calls_per_s":%.1f,"cpu_us_per_call":%.2f,"user_us_per_call":%.2f,"sys_us_per_call":%.2f,"max_rss_kib":%d,"era":"%s"}\n',
  calls, t1 - t0, calls / (t1 - t0), ((u1 - u0) + (s1 - s0)) * 1e6 / calls,
  (u1 - u0) * 1e6 / calls, (s1 - s0) * 1e6 / calls, rss, era))
