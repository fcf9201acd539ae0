-- A script that writes a registered token into files of its own (the
-- config of a second fixture, a file it reads back): those keep it as
-- written, while what it prints is scrubbed (spec/runner/secrets_spec.lua).
local mcp = require("mcptest")
local TOKEN = os.getenv("SPEC_LEAK_TOKEN")
local fx = mcp.fixture.start{}
local c = mcp.connect{ url = fx.url .. "/mcp/bearer-token", auth = { bearer_token_env = "SPEC_LEAK_TOKEN" } }
c:ping() -- the token is registered with the scrubber from here on

it("a file written with f:write or io.write keeps the token as written", function()
  local path = os.tmpname()
  local f = assert(io.open(path, "w"))
  f:write("token=", TOKEN, "\n")
  f:close()
  local out = io.output()
  io.output(path .. ".2")
  io.write("token=", TOKEN, "\n")
  io.close()
  io.output(out)
  for _, p in ipairs({ path, path .. ".2" }) do
    local r = assert(io.open(p))
    local s = r:read("a")
    r:close()
    os.remove(p)
    assert.is_true(s == "token=" .. TOKEN .. "\n", "the file was changed")
  end
end)

it("a fixture configured with a token that contains the registered one accepts it", function()
  local long = "pre-" .. TOKEN .. "-post"
  local fx2 = mcp.fixture.start{ bearer_token = long }
  local r = mcp.http.request{ url = fx2.url .. "/mcp/bearer-token", method = "POST", body = "{}",
    headers = { Authorization = "Bearer " .. long, ["Content-Type"] = "application/json",
                Accept = "application/json, text/event-stream" } }
  fx2:stop()
  assert.is_true(r.status ~= 401, "the fixture refused its own token: HTTP " .. r.status)
end)

it("prints the token, scrubbed", function()
  print("printed", TOKEN)
  io.stdout:write("stdout ", TOKEN, "\n")
  io.stderr:write("stderr ", TOKEN, "\n")
  io.write("io.write ", TOKEN, "\n")
end)
