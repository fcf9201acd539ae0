-- No secret reaches output or a report, even when a script prints it or an
-- error carries it: every format, the token registered by the auth chain.
local BIN = os.getenv("MCPTEST_BIN") or "build/mcptest"
local SRC = os.getenv("MCPTEST_SRC") or "."

local function run(args)
  local out = os.tmpname()
  local cmd = string.format("SPEC_LEAK_TOKEN=test-bearer-token %s %s/spec/data/cli/prints_secret.lua %s >%s 2>&1",
    BIN, SRC, args, out)
  local _, _, code = os.execute(cmd)
  local f = io.open(out); local s = f:read("a"); f:close(); os.remove(out)
  return code, s
end

describe("secrets in output", function()
  for _, fmt in ipairs({ "terminal", "tap", "junit", "json", "plain" }) do
    it("never shows a registered token in " .. fmt .. " output", function()
      local code, s = run("-o " .. fmt)
      assert.are.equal(1, code) -- the tests fail, as written
      assert.is_nil(s:find("test-bearer-token", 1, true), s)
      assert.matches("[secret: token from SPEC_LEAK_TOKEN]", s, 1, true)
    end)
  end

  for _, fmt in ipairs({ "terminal", "json" }) do
    it("never shows OAuth secrets (tokens, refresh token, DPoP key, client secret) in " .. fmt .. " output", function()
      local out, values = os.tmpname(), os.tmpname()
      local cmd = string.format("BROWSER=%s/spec/data/browser.sh SPEC_SECRETS_OUT=%s MCPTEST_HOME=%s.home %s %s/spec/data/cli/prints_oauth_secrets.lua -o %s >%s 2>&1",
        SRC, values, out, BIN, SRC, fmt, out)
      local _, _, code = os.execute(cmd)
      local f = io.open(out); local s = f:read("a"); f:close()
      os.remove(out); os.execute("rm -rf '" .. out .. ".home'")
      assert.are.equal(1, code, s)
      local n = 0
      for hex in io.lines(values) do
        local v = hex:gsub("%x%x", function(h) return string.char(tonumber(h, 16)) end)
        n = n + 1
        assert.is_true(#v > 16)
        assert.is_nil(s:find(v, 1, true), "a secret in the output")
        -- a PEM key is scrubbed as a whole and line by line
        for line in v:gmatch("[^\n]+") do
          if #line > 16 and not line:find("-----", 1, true) then assert.is_nil(s:find(line, 1, true), "a line of a secret in the output") end
        end
      end
      os.remove(values)
      assert.are.equal(4, n)
      assert.matches("[secret: access token]", s, 1, true)
      assert.matches("[secret: refresh token]", s, 1, true)
    end)
  end

  it("leaves a file the script writes as written, and scrubs what it prints", function()
    local out = os.tmpname()
    local _, _, code = os.execute(string.format("SPEC_LEAK_TOKEN=test-bearer-token %s %s/spec/data/cli/writes_secret_file.lua -o tap >%s 2>&1",
      BIN, SRC, out))
    local f = io.open(out); local s = f:read("a"); f:close(); os.remove(out)
    assert.are.equal(0, code, s)
    assert.is_nil(s:find("test-bearer-token", 1, true), s)
    for _, what in ipairs({ "printed", "stdout", "stderr", "io.write" }) do
      assert.matches(what .. "%s+%[secret: token from SPEC_LEAK_TOKEN%]", s)
    end
  end)

  it("never shows it in a report file", function()
    local file = os.tmpname()
    local code = run("-o junit --output-file " .. file)
    assert.are.equal(1, code)
    local f = io.open(file); local s = f:read("a"); f:close(); os.remove(file)
    assert.is_nil(s:find("test-bearer-token", 1, true), s)
    assert.matches("prints the token", s, 1, true)
  end)
end)
