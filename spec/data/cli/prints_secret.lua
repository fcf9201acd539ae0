-- A careless script: connects with a token from an env var, then prints
-- the token and fails an assertion that shows it (spec/runner/secrets_spec.lua).
local mcp = require("mcptest")
local fx = mcp.fixture.start{}
local c = mcp.connect{ url = fx.url .. "/mcp/bearer-token", auth = { bearer_token_env = "SPEC_LEAK_TOKEN" } }
it("prints the token", function()
  print("token is", os.getenv("SPEC_LEAK_TOKEN"))
  io.write("again ", os.getenv("SPEC_LEAK_TOKEN"), "\n")
  c:ping()
  assert.are.equal("x", os.getenv("SPEC_LEAK_TOKEN"))
end)
it("raises an error holding it", function()
  error("server said: " .. os.getenv("SPEC_LEAK_TOKEN"))
end)
