-- An authorization server that does not list S256 in
-- code_challenge_methods_supported: mcptest refuses to authorize there
-- (MCP requires PKCE with S256), before any registration or browser. The
-- server is a few lines on mcptest.core.httpd in this process: a 401 with
-- resource_metadata, the PRM, and AS metadata with only "plain".
local mcp = require("mcptest")
local httpd = require("mcptest.core.httpd")
local loop = require("mcptest.loop")
local sys = require("mcptest.core.sys")

describe("PKCE S256", function()
  local d, base, seen
  setup(function()
    local home = os.tmpname(); os.remove(home)
    sys.setenv("MCPTEST_HOME", home)
    d = assert(httpd.start{ port = 0 })
    base = "http://127.0.0.1:" .. d:port()
    seen = {}
    -- served as the fixture's daemon is: after every poll (on_timeout)
    local fd = d:fd()
    loop.register({
      fds = function() return { fd } end,
      on_ready = function() end,
      timeout = function() return math.min(d:timeout() or 0.05, 0.05) end,
      on_timeout = function()
        for _, req in ipairs(d:run()) do
          seen[#seen + 1] = req.method .. " " .. req.path
          local json = { ["Content-Type"] = "application/json" }
          if req.path == "/mcp" then
            d:respond(req.id, 401, { ["WWW-Authenticate"] = 'Bearer resource_metadata="' .. base
              .. '/.well-known/oauth-protected-resource/mcp"' }, "")
          elseif req.path == "/.well-known/oauth-protected-resource/mcp" then
            d:respond(req.id, 200, json, mcp.json.encode({ resource = base .. "/mcp", authorization_servers = { base } }))
          elseif req.path == "/.well-known/oauth-authorization-server" then
            d:respond(req.id, 200, json, mcp.json.encode({ issuer = base, authorization_endpoint = base .. "/authorize",
              token_endpoint = base .. "/token", registration_endpoint = base .. "/register",
              response_types_supported = { "code" }, code_challenge_methods_supported = { "plain" } }))
          else
            d:respond(req.id, 404, json, "{}")
          end
        end
      end,
    })
  end)

  it("is required: an AS offering only plain is refused before registration", function()
    sys.setenv("BROWSER", "false")
    local ok, err = pcall(mcp.oauth.login, { url = base .. "/mcp", client_id = "some-client", say = function() end,
      callback_timeout = 5 })
    assert.is_false(ok)
    assert.matches("does not list S256 in code_challenge_methods_supported", err.message, 1, true)
    assert.are.equal("GET /.well-known/oauth-authorization-server", seen[#seen])
    for _, r in ipairs(seen) do
      assert.is_nil(r:find("/authorize", 1, true))
      assert.is_nil(r:find("/register", 1, true))
      assert.is_nil(r:find("/token", 1, true))
    end
  end)
end)
