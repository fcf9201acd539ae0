-- The auth seam: the HTTP transport asks the auth object for its headers
-- and hands it each 401/403; a renewal retries the request once, a second
-- refusal ends it with the chain's message. Against the fault server's
-- "auth" scenario (401 unless "Authorization: Bearer good-token").
local mcp = require("mcptest")
local sys = require("mcptest.core.sys")
local auth = require("mcptest.auth")
local secrets = require("mcptest.secrets")
local H = dofile(os.getenv("MCPTEST_SRC") .. "/spec/transport/http/helpers.lua")

-- A client over the HTTP transport with a given auth object (what
-- mcp.connect does, with the chain replaced).
local function connect_with(a, url)
  local t = require("mcptest.transport.http").open({ url = url, timeout = 3 }, a)
  local c = require("mcptest.client").new(t, { timeout = 3 })
  local ok, err = pcall(require("mcptest.client.lifecycle").initialize, c, {})
  if not ok then c:close(); error(err, 0) end
  return c
end

describe("the auth seam", function()
  local srv
  setup(function() srv = H.start_fault() end)
  teardown(function() if srv then srv.stop() end end)

  it("retries a refused request once after the auth object renewed its credentials", function()
    local a = auth.for_server({}, srv.url("auth"))
    secrets.fields(a).lines = { "Authorization: Bearer stale-token" }
    local calls = {}
    function a:on_challenge(ctx)
      calls[#calls + 1] = ctx
      secrets.fields(self).lines = { "Authorization: Bearer good-token" }
      return true
    end
    local c = connect_with(a, srv.url("auth"))
    assert.text_equals(c:call_tool("echo", { message = "in" }), "Echo: in")
    assert.are.equal(1, #calls)
    assert.are.equal(401, calls[1].status)
    assert.matches('realm="mcp"', calls[1].www_authenticate, 1, true)
    assert.are.equal("initialize (id 1)", calls[1].method_desc)
    c:close()
  end)

  it("gives up after one retry, with the chain's message, when renewal does not help", function()
    local a = auth.for_server({}, srv.url("auth"))
    local calls = 0
    function a:on_challenge(ctx)
      calls = calls + 1
      if ctx.retried then return nil, auth.failure(ctx, self) end
      return true -- claims a renewal that changes nothing
    end
    local err = H.error_of(connect_with, a, srv.url("auth"))
    assert.are.equal("auth", err.kind)
    assert.are.equal(401, err.http_status)
    assert.matches("no credentials were supplied", err.message, 1, true)
    assert.are.equal(2, calls)
  end)

  it("renews for requests in flight at once, each retried once", function()
    sys.setenv("MCPTEST_SEAM_TOKEN", "good-token")
    local c = mcp.connect{ url = srv.url("auth"), auth = { bearer_token_env = "MCPTEST_SEAM_TOKEN" }, timeout = 3 }
    local a = c.transport.auth
    secrets.fields(a).lines = { "Authorization: Bearer expired-token" } -- as if the token had expired
    c.transport:rebuild_headers()
    local renewals = 0
    function a:on_challenge()
      renewals = renewals + 1
      secrets.fields(self).lines = { "Authorization: Bearer good-token" }
      return true
    end
    local tasks = {}
    for i = 1, 5 do
      tasks[i] = mcp.spawn(function() return mcp.text(c:call_tool("echo", { message = "m" .. i })) end)
    end
    local t0 = sys.now()
    mcp.join(tasks, 10)
    assert.is_true(sys.now() - t0 < 0.4, "took " .. (sys.now() - t0) .. " s") -- no idle tick waited
    for i = 1, 5 do assert.are.equal("Echo: m" .. i, tasks[i].results[1]) end
    assert.are.equal(1, renewals) -- one renewal for the five refusals
    c:close()
  end)
end)

describe("the credential chain", function()
  it("prefers bearer_token_env over an Authorization header and registers the token as a secret", function()
    sys.setenv("MCPTEST_CHAIN_TOKEN", "chain-secret-value-1")
    local a = auth.for_server({ auth = { bearer_token_env = "MCPTEST_CHAIN_TOKEN" },
                                headers = { Authorization = "Bearer header-secret-value" } }, "http://x/mcp")
    assert.are.same({ "Authorization: Bearer chain-secret-value-1" }, a:headers())
    assert.are.equal("env", a.source)
    assert.are.equal("[secret: token from MCPTEST_CHAIN_TOKEN]", secrets.scrub("chain-secret-value-1"))
  end)

  it("takes the user's Authorization header, and drops a Bearer ${VAR} whose variable is empty", function()
    sys.setenv("MCPTEST_CHAIN_EMPTY", "")
    local a = auth.for_server({ headers = { Authorization = "Bearer ${MCPTEST_CHAIN_EMPTY}" } }, "http://x/mcp")
    assert.are.equal("none", a.source)
    assert.are.same({}, a:headers())
    sys.setenv("MCPTEST_CHAIN_SET", "header-secret-value-2")
    a = auth.for_server({ headers = { "Authorization: Bearer ${MCPTEST_CHAIN_SET}" } }, "http://x/mcp")
    assert.are.equal("header", a.source)
    assert.are.equal("x [secret: token in the Authorization header] y", secrets.scrub("x header-secret-value-2 y"))
  end)

  it("a token given where the variable's name belongs is refused without being shown", function()
    local ok, err = pcall(auth.for_server, { auth = { bearer_token_env = "eyJhbGciOi.pasted-token-value" } }, "http://x/mcp")
    assert.is_false(ok)
    assert.are.equal("usage", err.kind)
    assert.matches("takes the NAME of an environment variable", err.message, 1, true)
    assert.is_nil(tostring(err):find("pasted-token-value", 1, true))
  end)

  it("a bearer_token_env naming an unset variable sends nothing, and is an error either way", function()
    local a = auth.for_server({ auth = { bearer_token_env = "MCPTEST_CHAIN_UNSET_XYZ" } }, "http://x/mcp")
    assert.are.equal("env_unset", a.source)
    assert.are.equal("MCPTEST_CHAIN_UNSET_XYZ", a.token_env)
    assert.are.same({}, a:headers())
    local fx = mcp.fixture.start{}
    -- a server that wants a token: the message says what it advertised (seed 000)
    local ok, err = pcall(mcp.connect, { url = fx.url .. "/mcp/bearer-token", auth = { bearer_token_env = "MCPTEST_CHAIN_UNSET_XYZ" } })
    assert.is_false(ok)
    assert.are.equal("auth", err.kind)
    local lines = {}
    for l in err.message:gmatch("[^\n]+") do lines[#lines + 1] = l end
    assert.are.equal("auth failed: HTTP 401 from " .. fx.url .. "/mcp/bearer-token, server advertises Bearer (realm=\"mcp\").", lines[1])
    assert.are.equal("  env var `MCPTEST_CHAIN_UNSET_XYZ` (named by `bearer_token_env`) is not set or is empty in this process; export a valid token into it.", lines[2])
    assert.are.equal("Diagnose with: mcptest doctor --url " .. fx.url .. "/mcp/bearer-token --bearer-token-env MCPTEST_CHAIN_UNSET_XYZ", lines[3])
    -- a server that needs none: still an error, saying so
    ok, err = pcall(mcp.connect, { url = fx.url .. "/mcp/open", auth = { bearer_token_env = "MCPTEST_CHAIN_UNSET_XYZ" } })
    fx:stop()
    assert.is_false(ok)
    assert.are.equal("auth", err.kind)
    assert.matches("env var `MCPTEST_CHAIN_UNSET_XYZ` (named by `bearer_token_env`) is not set or is empty", err.message, 1, true)
    assert.matches("answered without credentials: if it needs none, drop bearer_token_env", err.message, 1, true)
  end)
end)

describe("secrets", function()
  it("scrubs every registered value from error text, longest first", function()
    secrets.register("abcdef123456", "token A")
    secrets.register("abcdef123456-longer", "token B")
    assert.are.equal("[secret: token B] and [secret: token A]",
      secrets.scrub("abcdef123456-longer and abcdef123456"))
    local e = mcp.Error and setmetatable({ kind = "transport", message = "server said abcdef123456" }, mcp.Error)
    assert.are.equal("transport error: server said [secret: token A]", tostring(e))
  end)

  it("does not register short values, and fingerprints without showing the value", function()
    local before = secrets.count()
    secrets.register("abc", "short")
    assert.are.equal(before, secrets.count())
    local fp = secrets.fingerprint("some-token-value")
    assert.matches("^sha256:%x%x%x%x%x%x%x%x$", fp)
    assert.is_nil(fp:find("some", 1, true))
  end)

  it("keeps hidden fields out of the object: walking it finds none, setting one directly is refused", function()
    local Class = {}
    function Class:get() return secrets.fields(self).key end
    local H = secrets.hidden(Class, { key = true })
    local obj = setmetatable({ name = "x" }, Class)
    H(obj).key = "hidden-value-123"
    assert.are.equal("hidden-value-123", obj:get()) -- methods still found through __index
    for k, v in pairs(obj) do assert.are_not.equal("hidden-value-123", v, k) end
    assert.is_nil(rawget(obj, "key"))
    local ok, err = pcall(function() obj.key = "leak" end)
    assert.is_false(ok)
    assert.matches("kept in secrets' side table", tostring(err), 1, true)
    obj.other = 1 -- other fields are set as usual
    assert.are.equal(1, rawget(obj, "other"))
  end)
end)
