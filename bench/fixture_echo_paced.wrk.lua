-- bench/fixture_echo_paced.wrk.lua: bench/fixture_echo.wrk.lua at a low,
-- fixed pace: each connection waits DELAY_MS before every request.
--   wrk -t1 -c1 --latency -s bench/fixture_echo_paced.wrk.lua URL -- SESSION_ID fixture DELAY_MS
-- (run from the repository root: the echo script is loaded by its path)
dofile("bench/fixture_echo.wrk.lua")
local echo_init = init
function init(args)
  echo_init({ args[1], args[2] })
  delay_ms = tonumber(args[3]) or 10
end
function delay() return delay_ms end
