-- spec/transport/http/helpers.lua: start and stop the servers the HTTP specs talk to.
-- Every server listens on 127.0.0.1 (server-everything through
-- spec/lib/loopback.js, its own listen takes every interface), is bounded in
-- time, and is killed by stop() or, failing that, by the process handle's
-- __gc when the run ends.
local process = require("mcptest.core.process")
local poll = require("mcptest.core.poll")
local sys = require("mcptest.core.sys")
local mcp = require("mcptest")

local H = {}
H.SRC = os.getenv("MCPTEST_SRC") or "."
H.SE = H.SRC .. "/.deps/npm/node_modules/@modelcontextprotocol/server-everything/dist/index.js"
H.FAULT = H.SRC .. "/spec/transport/http/fault_server.js"
H.LOOPBACK = H.SRC .. "/spec/lib/loopback.js"

local function env_with(extra)
  local env = sys.environ()
  for k, v in pairs(extra or {}) do env[k] = v end
  local list = {}
  for k, v in pairs(env) do list[#list + 1] = k .. "=" .. v end
  return list
end

-- Read stdout lines until one matches pattern (its capture is returned).
local function wait_line(proc, pattern, seconds)
  local deadline = sys.now() + seconds
  local out = proc:fds()
  while sys.now() < deadline do
    local lines, n, eof = proc:read_lines()
    for i = 1, n or 0 do
      local cap = lines[i]:match(pattern)
      if cap then return cap end
    end
    if eof then break end
    poll.wait({ out }, nil, 0.1)
  end
  return nil
end

-- A free TCP port on 127.0.0.1, found by node itself.
function H.free_port()
  local p = assert(process.spawn{ argv = { "node", "-e",
    "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log('PORT '+s.address().port);s.close()})" } })
  local port = wait_line(p, "^PORT (%d+)", 10)
  p:close(1)
  return assert(tonumber(port), "no free port")
end

-- Wait until url answers anything over HTTP.
function H.wait_http(url, seconds)
  local deadline = sys.now() + (seconds or 15)
  while sys.now() < deadline do
    local r = mcp.http.request{ url = url, timeout = 1 }
    if r then return true end
    sys.sleep(0.1)
  end
  error("server at " .. url .. " did not come up in time")
end

-- server-everything in mode "streamableHttp" or "sse". Returns
-- { url = base, proc = ..., stop = fn }.
function H.start_everything(mode)
  local port = H.free_port()
  local proc = assert(process.spawn{ argv = { "timeout", "300", "node", "-r", H.LOOPBACK, H.SE, mode },
                                     env = env_with{ PORT = tostring(port) } })
  local base = "http://127.0.0.1:" .. port
  local s = { base = base, proc = proc }
  function s.stop() proc:close(1) end
  local ok, err = pcall(H.wait_http, base .. "/", 20)
  if not ok then s.stop(); error(err, 0) end
  return s
end

-- The fault server (optionally TLS). Returns { base =, port =, proc =, stop = }.
function H.start_fault(tls)
  local argv = { "node", H.FAULT, "--max-seconds", "300" }
  if tls then
    argv[#argv + 1] = "--tls"; argv[#argv + 1] = tls.cert; argv[#argv + 1] = tls.key
  end
  local proc = assert(process.spawn{ argv = argv })
  local port = wait_line(proc, "^PORT (%d+)", 15)
  if not port then proc:close(1); error("fault server did not start") end
  local scheme = tls and "https" or "http"
  local s = { port = tonumber(port), base = scheme .. "://127.0.0.1:" .. port, proc = proc }
  function s.stop() proc:close(1) end
  function s.url(scenario) return s.base .. "/" .. scenario .. "/mcp" end
  function s.stats()
    local r = assert(mcp.http.request{ url = s.base .. "/stats", timeout = 5, tls = tls and { ca_file = tls.cert } })
    return mcp.json.decode(r.body)
  end
  return s
end

-- A helper script of spec/data (Python) that prints "PORT <n>" first:
-- { proc =, port =, lines = fn() -> every stdout line so far, stop = fn }.
function H.start_script(argv)
  local proc = assert(process.spawn{ argv = argv })
  local port = wait_line(proc, "^PORT (%d+)", 15)
  if not port then proc:close(0.2); error(argv[2] .. " did not start") end
  local seen = {}
  local s = { proc = proc, port = tonumber(port) }
  function s.lines()
    local lines, n = proc:read_lines()
    for i = 1, n or 0 do seen[#seen + 1] = lines[i] end
    return seen
  end
  function s.stop() proc:close(0.2) end
  return s
end

-- A self-signed certificate for 127.0.0.1 made with the openssl CLI.
function H.make_cert()
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir -p '" .. dir .. "'"))
  local cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1"
    .. " -addext subjectAltName=IP:127.0.0.1 -keyout '" .. dir .. "/key.pem' -out '" .. dir
    .. "/cert.pem' >/dev/null 2>&1"
  assert(os.execute(cmd), "openssl could not make a certificate")
  return { dir = dir, cert = dir .. "/cert.pem", key = dir .. "/key.pem",
           cleanup = function() os.execute("rm -rf '" .. dir .. "'") end }
end

-- Run fn and return the mcptest.Error it raises (fails if it does not).
function H.error_of(fn, ...)
  local ok, err = pcall(fn, ...)
  assert(not ok, "expected an error")
  assert(mcp.is_error(err), "expected an mcptest.Error, got " .. tostring(err))
  return err
end

return H
