-- Careless scripts and hostile stdio servers: a batch answer, a 100k-level
-- nesting, a partial line before exit, a request with no method, an
-- infinite timeout; each gets a message naming what went wrong, at once.
local client = require("mcptest.client")
local stdio = require("mcptest.transport.stdio")
local sys = require("mcptest.core.sys")
local BIN = os.getenv("MCPTEST_BIN") or "build/mcptest"

local function raw(script, timeout)
  return client.new(stdio.open{ command = { "sh", "-c", script } }, { timeout = timeout or 5 })
end

local function failure(c, ...)
  local ok, err = pcall(c.request, c, ...)
  assert.is_false(ok)
  return err
end

describe("a hostile stdio server", function()
  it("answering with a JSON-RPC batch is understood at once, as over HTTP", function()
    local c = raw([[read l; echo '[{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"x"}},{"jsonrpc":"2.0","id":1,"result":{"ok":true}}]'; sleep 10]])
    local t0 = sys.now()
    assert.is_true(c:request("ping").ok)
    assert.is_true(sys.now() - t0 < 2)
    assert.are.equal("notifications/message", c.notifications[1].method)
    c:close()
  end)

  it("nesting 100k levels deep gets a message naming the nesting limit", function()
    local c = raw([[read l; python3 -c "print('['*100000 + ']'*100000)"; sleep 10]])
    local err = failure(c, "ping")
    assert.are.equal("protocol", err.kind)
    assert.matches("nesting deeper than 1000 levels (mcptest's JSON nesting limit)", err.message, 1, true)
    assert.matches("(200000 bytes)", err.message, 1, true)
    c:close()
  end)

  it("exiting in the middle of a line is said to have exited", function()
    local c = raw([[read l; printf '{"jsonrpc":"2.0","id":1,"res'; exit 0]])
    local err = failure(c, "ping")
    assert.are.equal("transport", err.kind)
    assert.matches("exited with code 0 in the middle of a line", err.message, 1, true)
    c:close()
  end)
end)

describe("a careless script", function()
  it("calling c:request(nil) gets a usage error, not a timeout", function()
    local c = raw([[read l; sleep 10]], 1)
    local err = failure(c, nil)
    assert.are.equal("usage", err.kind)
    assert.matches("method must be a non-empty string", err.message, 1, true)
    c:close()
  end)

  it("giving --timeout 1e999 or --test-timeout 1e999 is refused by the CLI", function()
    for _, cmd in ipairs({ " tools --url http://127.0.0.1:9/mcp --timeout 1e999",
                           " run x.lua --test-timeout 1e999" }) do
      local p = io.popen(BIN .. cmd .. " 2>&1; echo rc=$?")
      local out = p:read("a")
      p:close()
      assert.matches("rc=2", out, 1, true)
      assert.matches("finite number of seconds", out, 1, true)
    end
  end)
end)
