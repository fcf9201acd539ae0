-- Every example under examples/ (Lua scripts and YAML suites) runs green
-- with the built binary, from the repository root, as the README and docs
-- promise.
local BIN = os.getenv("MCPTEST_BIN") or "build/mcptest"
local SRC = os.getenv("MCPTEST_SRC") or "."

describe("examples", function()
  local p = io.popen("ls " .. SRC .. "/examples/*.lua " .. SRC .. "/examples/*.test.yaml 2>/dev/null")
  for file in p:lines() do
    it("runs " .. file:match("[^/]+$") .. " green", function()
      local out = os.tmpname()
      local ok, _, code = os.execute(string.format("cd %s && FIXTURE_TOKEN=test-bearer-token %s %s >%s 2>&1", SRC, BIN, file, out))
      local f = io.open(out); local text = f:read("a"); f:close(); os.remove(out)
      assert(ok and code == 0, "exit " .. tostring(code) .. "\n" .. text)
      assert.matches(" 0 failed, 0 errored", text)
    end)
  end
  p:close()
end)
