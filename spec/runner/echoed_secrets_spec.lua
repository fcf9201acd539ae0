-- No token in any output: credentials a hostile server echoes back (a 500
-- body, a JSON-RPC error, a 401 challenge, an HTML body, a redirect's
-- Location) are scrubbed from failure messages, every report format and
-- --verbose logs; a printed client holds no credential; a --header with no
-- colon is not echoed.
local process = require("mcptest.core.process")
local poll = require("mcptest.core.poll")
local sys = require("mcptest.core.sys")
local mcp = require("mcptest")
local BIN = os.getenv("MCPTEST_BIN") or "build/mcptest"
local SRC = os.getenv("MCPTEST_SRC") or "."

local TOKEN, KEY, QKEY = "tok-ECHOED-5f2a91", "key-ECHOED-77c3d0", "qkey-ECHOED-0b8e44"
local ENV = string.format("SPEC_ECHO_TOKEN=%s SPEC_ECHO_KEY=%s SPEC_QUERY_KEY=%s ", TOKEN, KEY, QKEY)

local function start_server()
  local p = assert(process.spawn{ argv = { "python3", SRC .. "/spec/data/echo_secret_server.py", "--max-seconds", "120" } })
  local deadline = sys.now() + 10
  while sys.now() < deadline do
    local lines, n = p:read_lines()
    for i = 1, n or 0 do
      local port = lines[i]:match("^PORT (%d+)")
      if port then return p, "http://127.0.0.1:" .. port end
    end
    poll.wait({ (p:fds()) }, nil, 0.1)
  end
  p:close(0.2)
  error("echo_secret_server.py did not start")
end

local function sh(cmd)
  local p = io.popen(ENV .. cmd .. " 2>&1")
  local out = p:read("a")
  p:close()
  return out
end

local function assert_clean(out)
  for _, s in ipairs({ TOKEN, KEY, QKEY }) do
    assert.is_nil(out:find(s, 1, true), "found " .. s .. " in:\n" .. out)
  end
end

describe("credentials a server echoes back", function()
  local proc, base
  setup(function() proc, base = start_server() end)
  teardown(function() proc:close(0.2) end)

  for _, fmt in ipairs({ "terminal", "tap", "junit", "json", "plain" }) do
    it("are scrubbed from " .. fmt .. " output with --verbose", function()
      local out = sh(string.format("SPEC_BASE=%s %s run %s/spec/data/cli/echoed_secrets.lua -o %s --verbose",
        base, BIN, SRC, fmt))
      assert_clean(out)
      -- the server did echo them: the labels show where
      assert.matches("[secret: value of the X-Api-Key header]", out, 1, true)
      assert.matches("[secret: token in the Authorization header]", out, 1, true)
    end)
  end

  it("are scrubbed from a report file", function()
    local file = os.tmpname()
    sh(string.format("SPEC_BASE=%s %s run %s/spec/data/cli/echoed_secrets.lua -o junit --output-file %s",
      base, BIN, SRC, file))
    local f = io.open(file); local s = f:read("a"); f:close(); os.remove(file)
    assert_clean(s)
    assert.matches("meets the 500 echo", s, 1, true)
  end)

  it("are scrubbed before a long body is cut, so no piece of one shows", function()
    local out = sh(string.format("%s call --url '%s/500cut/mcp' --header 'Authorization: Bearer ${SPEC_ECHO_TOKEN}'"
      .. " echo '{}'", BIN, base))
    assert.is_nil(out:find(TOKEN:sub(1, 8), 1, true), out)
    assert.matches('x[secret: t"... (', out, 1, true) -- the label is what was cut
  end)

  for _, scenario in ipairs({ "500", "jsonrpc", "401", "html", "redirect" }) do
    it("are scrubbed from mcptest call --verbose (" .. scenario .. ")", function()
      local out = sh(string.format("%s call --url '%s/%s/mcp?api_key=%s' --header 'Authorization: Bearer ${SPEC_ECHO_TOKEN}'"
        .. " --header 'X-Api-Key: ${SPEC_ECHO_KEY}' echo '{\"message\":\"hi\"}' --verbose", BIN, base, scenario, QKEY))
      assert_clean(out)
      assert.matches("mcptest: ", out, 1, true)
    end)
  end
end)

describe("a printed client", function()
  it("holds no credential a walk of its tables can reach", function()
    local fx = mcp.fixture.start{}
    local secret = "walk-SECRET-" .. tostring(os.time())
    local c = mcp.connect{ url = fx.url .. "/mcp/open", headers = { Authorization = "Bearer " .. secret,
      ["X-Api-Key"] = "key-" .. secret } }
    c:ping()
    local seen = {}
    local function walk(v, path)
      if type(v) == "string" then
        assert.is_nil(v:find(secret, 1, true), "credential reachable at " .. path)
      elseif type(v) == "table" and not seen[v] then
        seen[v] = true
        for k, x in pairs(v) do walk(x, path .. "." .. tostring(k)) end
      end
    end
    walk(c, "c")
    c:close()
    fx:stop()
  end)
end)

describe("a --header with no colon", function()
  it("is refused without echoing its value", function()
    local out = sh(BIN .. " tools --url http://127.0.0.1:9/mcp --header 'bare-TOKEN-value-1234'")
    assert.is_nil(out:find("bare-TOKEN-value-1234", 1, true), out)
    assert.matches("no colon", out, 1, true)
  end)
end)
