-- The login commands against the fixture, as a person or a CI job runs
-- them: discover, login (client credentials, device, code), the cached
-- token used by tools, auth status/refresh/set, logout; exit codes; no
-- secret in any output.
local mcp = require("mcptest")
local BIN = os.getenv("MCPTEST_BIN") or "build/mcptest"
local SRC = os.getenv("MCPTEST_SRC") or "."

local home
local function run(args)
  local out, err = os.tmpname(), os.tmpname()
  local cmd = string.format("MCPTEST_HOME=%s CC_SECRET=dev-confidential-secret BROWSER=%s/spec/data/browser.sh %s %s >%s 2>%s </dev/null",
    home, SRC, BIN, args, out, err)
  local _, _, code = os.execute(cmd)
  local function slurp(p) local f = io.open(p); local s = f:read("a"); f:close(); os.remove(p); return s end
  return code, slurp(out), slurp(err)
end

describe("mcptest login, logout, auth, discover", function()
  local fx, url
  setup(function()
    fx = mcp.fixture.start{ auto_approve = true, device_interval = 1 }
    url = fx.url .. "/mcp/oauth"
  end)
  teardown(function() if fx then fx:stop() end end)
  before_each(function() home = os.tmpname(); os.remove(home) end)

  local function no_secret(s)
    assert.is_nil(s:find("dev-confidential-secret", 1, true), "a secret reached the output")
    assert.is_nil(s:find("mcp_at_", 1, true), "an access token reached the output")
    assert.is_nil(s:find("mcp_rt_", 1, true), "a refresh token reached the output")
  end

  it("discover walks the metadata and names the logins that work", function()
    local code, out = run("discover " .. url)
    assert.are.equal(0, code)
    assert.matches("1%. challenge: " .. url:gsub("%p", "%%%0") .. " %-> HTTP 401", out)
    assert.matches("protected resource metadata: .-/%.well%-known/oauth%-protected%-resource/mcp/oauth %-> HTTP 200", out)
    assert.matches("grants: authorization_code, refresh_token, client_credentials", out)
    assert.matches("mcptest login " .. url:gsub("%p", "%%%0") .. " %-%-device", out)
  end)

  it("discover exits 3 for a server it cannot reach", function()
    local code, out = run("discover http://127.0.0.1:9/mcp")
    assert.are.equal(3, code)
    assert.matches("problem: cannot reach", out)
  end)

  it("logs in with client credentials; tools then sends the cached token; status shows it without secrets", function()
    local code, out, err = run("login " .. url .. " --client-credentials --client-id dev-confidential-client --client-secret-env CC_SECRET")
    assert.are.equal(0, code, err)
    assert.matches("logged in to .- %(client_credentials, scope mcp:read mcp:write, expires in %d+ s; token sha256:%x+; in the file cache%)", out)
    no_secret(out .. err)
    code, out = run("tools --url " .. url)
    assert.are.equal(0, code)
    assert.matches("whoami", out)
    code, out = run("auth status --json")
    assert.are.equal(0, code)
    local list = mcp.json.decode(out)
    assert.are.equal(1, #list)
    assert.are.equal("client_credentials", list[1].grant)
    assert.is_true(list[1].authenticated)
    no_secret(out)
    code, out = run("auth refresh " .. url)
    assert.are.equal(0, code)
    assert.matches("refreshed", out)
  end)

  it("logs in with the device flow and the browser flow", function()
    local code, out, err = run("login --url " .. url .. " --device --client-id dev-public-client")
    assert.are.equal(0, code, err)
    assert.matches("enter the code", err)
    assert.matches("device_code", out)
    code, out, err = run("login " .. url .. " --register")
    assert.are.equal(0, code, err)
    assert.matches("authorization_code, .-refreshable", out)
    no_secret(out .. err)
  end)

  it("logout revokes and forgets without asking when there is no terminal", function()
    run("login " .. url .. " --client-credentials --client-id dev-confidential-client --client-secret-env CC_SECRET")
    local code, out = run("logout " .. url)
    assert.are.equal(0, code)
    assert.matches("logged out of .- %(access_token revoked%)", out)
    code, out = run("auth status " .. url)
    assert.are.equal(1, code)
    assert.matches("not authenticated", out)
  end)

  it("logout revokes the tokens of a registered client and of an authorization-code login", function()
    run("login " .. url .. " --client-credentials --register")
    local code, out = run("logout " .. url)
    assert.are.equal(0, code)
    assert.matches("logged out of .- %(access_token revoked%)", out)
    run("login " .. url)
    code, out = run("logout " .. url)
    assert.are.equal(0, code, out)
    assert.matches("logged out of .- %(refresh_token revoked, access_token revoked%)", out)
  end)

  it("logout asks in a terminal, and keeps the token on a no", function()
    run("login " .. url .. " --client-credentials --client-id dev-confidential-client --client-secret-env CC_SECRET")
    local function in_terminal(answer)
      local out = os.tmpname()
      os.execute(string.format("(sleep 1; printf '%s\\n') | env -u CI MCPTEST_HOME=%s script -qec '%s logout %s' /dev/null >%s 2>&1",
        answer, home, BIN, url, out))
      local f = io.open(out); local s = f:read("a"); f:close(); os.remove(out)
      return s
    end
    local s = in_terminal("n")
    assert.matches("forget the token for " .. url, s, 1, true)
    assert.matches("kept", s, 1, true)
    assert.are.equal(0, (run("auth status " .. url)))
    s = in_terminal("y")
    assert.matches("logged out of", s, 1, true)
    assert.are.equal(1, (run("auth status " .. url)))
  end)

  it("auth set keeps a static token from an env var", function()
    local code, out = run("auth set " .. url .. " --token-env CC_SECRET")
    assert.are.equal(0, code)
    assert.matches("stored the token from CC_SECRET", out)
    no_secret(out)
  end)

  it("exits 2 for usage mistakes and 3 for a login the server refuses", function()
    assert.are.equal(2, (run("login")))
    assert.are.equal(2, (run("login " .. url .. " --store vault")))
    assert.are.equal(2, (run("login " .. url .. " --device --client-credentials")))
    assert.are.equal(2, (run("login " .. url .. " --scpoe x")))
    local code, _, err = run("login " .. url .. " --client-credentials --client-id dev-confidential-client --client-secret-env NO_SUCH_VAR_X")
    assert.are.equal(3, code)
    assert.matches("NO_SUCH_VAR_X", err)
    code, _, err = run("login " .. url .. " --client-credentials --client-id nobody --client-secret-env CC_SECRET")
    assert.are.equal(3, code)
    assert.matches("invalid_client", err)
    no_secret(err)
  end)
end)

describe("mcptest login --verbose", function()
  it("shows each exchange with credentials redacted", function()
    local fx = mcp.fixture.start{}
    home = os.tmpname(); os.remove(home)
    local code, out, err = run("login " .. fx.url .. "/mcp/oauth --client-credentials --client-id dev-confidential-client"
      .. " --client-secret-env CC_SECRET --verbose")
    fx:stop()
    assert.are.equal(0, code, err)
    assert.matches("mcptest: http: POST " .. fx.url .. "/token", err, 1, true)
    assert.matches("Authorization: Basic <redacted>", err, 1, true)
    assert.matches("-> HTTP 200", err, 1, true)
    assert.is_nil((out .. err):find("dev-confidential-secret", 1, true))
    assert.is_nil((out .. err):find("mcp_at_", 1, true))
  end)
end)
