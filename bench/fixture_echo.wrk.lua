-- bench/fixture_echo.wrk.lua: a wrk script that POSTs MCP tools/call echo
-- to a Streamable HTTP endpoint and checks every answer.
--   wrk -s bench/fixture_echo.wrk.lua URL -- SESSION_ID MODE [sse]
-- MODE "fixture": echo {message, uppercase} -> text "M<n>" (the fixture)
-- MODE "everything": echo {message} -> text "Echo: m<n>" (server-everything)
-- With "sse" the fixture is asked to answer as an SSE stream
-- (X-Mcptest-Response: sse), the way server-everything always answers.
-- Each request carries its own id n and message m<n>; an answer counts as
-- right only when it is 200 and its id and text both name the same n, so a
-- mixed-up, lost or garbled answer is caught. done() prints the counts and
-- "answers wrong: 0" when all were right.
local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  sid = args[1]
  mode = args[2] or "fixture"
  n = tid * 100000000
  right, wrong, non200 = 0, 0, 0
  headers = { ["Content-Type"] = "application/json", ["Accept"] = "application/json, text/event-stream",
              ["Mcp-Session-Id"] = sid, ["MCP-Protocol-Version"] = "2025-11-25" }
  if args[3] == "sse" then headers["X-Mcptest-Response"] = "sse" end
end

function request()
  n = n + 1
  local args
  if mode == "fixture" then
    args = '{"message":"m' .. n .. '","uppercase":true}'
  else
    args = '{"message":"m' .. n .. '"}'
  end
  return wrk.format("POST", nil, headers,
    '{"jsonrpc":"2.0","id":' .. n .. ',"method":"tools/call","params":{"name":"echo","arguments":' .. args .. '}}')
end

function response(status, hdrs, body)
  if status ~= 200 then non200 = non200 + 1; wrong = wrong + 1; return end
  local id = body:match('"id":(%d+)')
  local text
  if mode == "fixture" then text = body:match('"text":"M(%d+)"')
  else text = body:match('"text":"Echo: m(%d+)"') end
  if id and id == text then right = right + 1 else wrong = wrong + 1 end
end

function done(summary, latency, requests)
  local r, w, e = 0, 0, 0
  for _, t in ipairs(threads) do
    r = r + t:get("right"); w = w + t:get("wrong"); e = e + t:get("non200")
  end
  local errs = summary.errors
  io.write(string.format("answers right: %d\nanswers wrong: %d (non-200: %d)\n", r, w, e))
  io.write(string.format("socket errors: connect %d, read %d, write %d, timeout %d\n",
    errs.connect, errs.read, errs.write, errs.timeout))
  io.write(string.format("requests/s: %.0f\n", summary.requests / (summary.duration / 1e6)))
end
