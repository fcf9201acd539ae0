-- Parallel runs share the token cache: 16 processes start at once with one
-- expired access token; exactly one refreshes (the others wait for the
-- lock, then find the fresh token), all succeed, the cache stays valid.
local mcp = require("mcptest")
local sys = require("mcptest.core.sys")
local process = require("mcptest.core.process")
local poll = require("mcptest.core.poll")
local secrets = require("mcptest.secrets")
local SRC = os.getenv("MCPTEST_SRC") or "."
local BIN = os.getenv("MCPTEST_BIN") or (SRC .. "/build/mcptest")


local run_many = dofile((os.getenv("MCPTEST_SRC") or ".") .. "/spec/lib/run.lua").run_many

describe("the token cache under parallel runs", function()
  local fx, url, home
  setup(function()
    fx = mcp.fixture.start{ auto_approve = true }
    url = fx.url .. "/mcp/oauth"
    home = os.tmpname(); os.remove(home)
    sys.setenv("MCPTEST_HOME", home)
    sys.setenv("BROWSER", SRC .. "/spec/data/browser.sh")
    sys.setenv("MCPTEST_SPEC_CC_SECRET", "dev-confidential-secret")
  end)
  teardown(function() if fx then fx:stop() end end)

  -- token responses the fixture issued, per grant type
  local function issued(grant)
    local r = assert(mcp.http.request{ url = fx.url .. "/", timeout = 5 })
    return (mcp.json.decode(r.body).token_requests or {})[grant] or 0
  end

  local function check_all(results, before)
    local seen
    for i, r in ipairs(results) do
      assert.are.equal("exited", r.status, "run " .. i .. ": " .. r.out)
      assert.are.equal(0, r.code, "run " .. i .. ": " .. r.out)
      local fp = r.out:match("TOKEN (%S+)")
      assert.is_string(fp, r.out)
      seen = seen or fp
      assert.are.equal(seen, fp, "runs used different tokens: more than one renewal")
    end
    assert.are_not.equal(secrets.fingerprint(before), seen)
    local t = mcp.tokens.get(url) -- still valid
    assert.are.equal(seen, secrets.fingerprint(t.access_token))
  end

  it("refreshes once for 16 runs with an expired login token", function()
    local t = mcp.oauth.login{ url = url, grant = "authorization_code", say = function() end }
    mcp.tokens.expire(url)
    local refreshes = issued("refresh_token")
    local results = run_many(16, SRC .. "/spec/data/auth/cached_call.lua", { URL = url })
    check_all(results, t.access_token)
    assert.are.equal(refreshes + 1, issued("refresh_token")) -- exactly one refresh request
    -- the refresh token rotated once: the old one was never used twice
    -- (the fixture revokes the grant on reuse, which would fail runs)
    assert.are_not.equal(t.refresh_token, mcp.tokens.get(url).refresh_token)
  end)

  it("mints one new client-credentials token for 16 runs", function()
    local t = mcp.oauth.login{ url = url, grant = "client_credentials", client_id = "dev-confidential-client",
                               client_secret_env = "MCPTEST_SPEC_CC_SECRET" }
    mcp.tokens.expire(url)
    local minted = issued("client_credentials")
    check_all(run_many(16, SRC .. "/spec/data/auth/cached_call.lua", { URL = url }), t.access_token)
    assert.are.equal(minted + 1, issued("client_credentials")) -- exactly one new token request
  end)

  it("goes on when a run holding the lock is killed", function()
    local t = mcp.oauth.login{ url = url, grant = "authorization_code", say = function() end }
    mcp.tokens.expire(url)
    local envl = {}
    for k, v in pairs(sys.environ()) do envl[#envl + 1] = k .. "=" .. v end
    envl[#envl + 1] = "URL=" .. url
    local holder = assert(process.spawn{ argv = { BIN, SRC .. "/spec/data/auth/hold_lock.lua" }, env = envl })
    local out = holder:fds()
    local got = ""
    local deadline = sys.now() + 10
    while not got:find("HOLDING") and sys.now() < deadline do
      poll.wait({ out }, nil, 0.2)
      local lines = holder:read_lines()
      got = got .. table.concat(lines, "\n")
    end
    assert.matches("HOLDING", got)
    os.execute("kill -9 " .. holder:pid())
    holder:close(1)
    check_all(run_many(4, SRC .. "/spec/data/auth/cached_call.lua", { URL = url }), t.access_token)
  end)
end)
