-- Named servers (issue 15 parts 1-3): the registry files, `server
-- add|list|show|remove`, a NAME wherever a URL goes, a YAML suite naming a
-- registered server, `test NAME|--all`, `auth login-all`, `auth status`
-- for every registered server, `auth revoke`. Against the fixture.
local mcp = require("mcptest")
local BIN = os.getenv("MCPTEST_BIN") or "build/mcptest"
local SRC = os.getenv("MCPTEST_SRC") or "."

local home, work -- MCPTEST_HOME, and a project folder to run in
local function run(args, dir, env)
  local out, err = os.tmpname(), os.tmpname()
  local cmd = string.format("cd %s && MCPTEST_HOME=%s CI= CC_SECRET=dev-confidential-secret"
    .. " FX_TOKEN=test-bearer-token BAD_TOKEN=not-the-token BROWSER=%s/spec/data/browser.sh %s %s %s >%s 2>%s </dev/null",
    dir or work, home, SRC, env or "", BIN, args, out, err)
  local _, _, code = os.execute(cmd)
  local function slurp(p) local f = io.open(p); local s = f:read("a"); f:close(); os.remove(p); return s end
  return code, slurp(out), slurp(err)
end

local function write(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

local read = dofile(SRC .. "/spec/lib/run.lua").slurp

local function no_secret(s)
  assert.is_nil(s:find("dev-confidential-secret", 1, true), "a secret reached the output")
  assert.is_nil(s:find("test-bearer-token", 1, true), "a bearer token reached the output")
  assert.is_nil(s:find("mcp_at_", 1, true), "an access token reached the output")
  assert.is_nil(s:find("mcp_rt_", 1, true), "a refresh token reached the output")
end

describe("named servers", function()
  local fx
  setup(function() fx = mcp.fixture.start{ auto_approve = true } end)
  teardown(function() if fx then fx:stop() end end)
  before_each(function()
    home = os.tmpname(); os.remove(home)
    work = os.tmpname(); os.remove(work)
    os.execute("mkdir -p " .. home .. " " .. work .. "/a/b")
  end)
  after_each(function() os.execute("rm -rf " .. home .. " " .. work) end)

  it("server add, list, show and remove round-trip through ~/.mcptest/servers.yaml", function()
    local code, out, err = run("server add api --url " .. fx.url .. "/mcp/bearer-token --bearer-token-env FX_TOKEN"
      .. " --header 'X-Team: qa' --protocol 2025-11-25")
    assert.are.equal(0, code, err)
    assert.matches("registered api: .-/mcp/bearer%-token, bearer token from %$FX_TOKEN", out)
    code, _, err = run("server add oa --url " .. fx.url .. "/mcp/oauth --client-credentials"
      .. " --client-id dev-confidential-client --client-secret-env CC_SECRET --scope mcp:read --store keychain")
    assert.are.equal(0, code, err)
    code, _, err = run("server add local --stdio 'node server.js --port \"8 9\"'")
    assert.are.equal(0, code, err)
    -- the file reads back as a registry (and as YAML a person can edit)
    local text = read(home .. "/servers.yaml")
    assert.matches("bearer_token_env: FX_TOKEN", text, 1, true)
    assert.matches("store: keychain", text, 1, true)
    code, out = run("server list --json")
    assert.are.equal(0, code)
    local list = mcp.json.decode(out)
    assert.are.same({ "api", "local", "oa" }, { list[1].name, list[2].name, list[3].name })
    assert.are.equal("bearer $FX_TOKEN", list[1].auth)
    assert.are.same({ "node", "server.js", "--port", "8 9" }, list[2].command)
    assert.are.equal("oauth client_credentials", list[3].auth)
    assert.are.equal("keychain", list[3].store)
    assert.are.equal("file", list[1].store)
    code, out = run("server show oa --json")
    assert.are.equal(0, code)
    local shown = mcp.json.decode(out)
    assert.are.same({ grant = "client_credentials", client_id = "dev-confidential-client",
                      client_secret_env = "CC_SECRET", scope = "mcp:read" }, shown.entry.auth.oauth)
    assert.are.equal("keychain", shown.entry.auth.store) -- handed to the auth layer as store =
    code, out = run("server show api")
    assert.are.equal(0, code)
    assert.matches("X%-Team: qa", out)
    -- a second add of the same name is refused without --force
    code, _, err = run("server add api --url " .. fx.url .. "/mcp/open")
    assert.are.equal(2, code)
    assert.matches("already registered", err)
    code = run("server add api --url " .. fx.url .. "/mcp/open --force")
    assert.are.equal(0, code)
    code, out = run("server remove local")
    assert.are.equal(0, code)
    assert.matches("removed local", out)
    code, out = run("server list")
    assert.are.equal(0, code)
    assert.is_nil(out:find("local", 1, true))
    assert.matches("api%s+http://.-/mcp/open", out)
    code, _, err = run("server remove local")
    assert.are.equal(1, code)
    assert.matches("no server named local", err)
  end)

  it("refuses a secret where an env-var name goes, without showing it", function()
    local code, out, err = run("server add api --url " .. fx.url .. "/mcp/open --bearer-token-env ghp_abcdefghijklmnopqrstuvwxyz0123")
    assert.are.equal(2, code)
    assert.matches("names an environment variable", err)
    assert.is_nil((out .. err):find("ghp_abc", 1, true))
    assert.is_nil(read(home .. "/servers.yaml"))
  end)

  it("a NAME works in tools, call, doctor, discover, login, auth status/refresh/set/revoke and logout", function()
    assert.are.equal(0, (run("server add open --url " .. fx.url .. "/mcp/open")))
    assert.are.equal(0, (run("server add bt --url " .. fx.url .. "/mcp/bearer-token --bearer-token-env FX_TOKEN")))
    assert.are.equal(0, (run("server add oa --url " .. fx.url .. "/mcp/oauth --client-credentials"
      .. " --client-id dev-confidential-client --client-secret-env CC_SECRET")))
    local code, out, err = run("tools --url bt")
    assert.are.equal(0, code, err)
    assert.matches("whoami", out)
    code, out, err = run("call --url open --tool echo --args '{\"message\":\"hi\",\"uppercase\":true}'")
    assert.are.equal(0, code, err)
    assert.matches("HI", out)
    code, out = run("doctor bt")
    assert.are.equal(0, code, out)
    assert.matches("AUTH%s+OK", out)
    code, out = run("discover oa")
    assert.are.equal(0, code)
    assert.matches("authorization server: ", out)
    -- login takes the grant and client from the entry
    code, out, err = run("login oa")
    assert.are.equal(0, code, err)
    assert.matches("logged in to .-/mcp/oauth %(client_credentials", out)
    code, out = run("tools --url oa")
    assert.are.equal(0, code)
    assert.matches("whoami", out)
    code, out = run("auth status oa")
    assert.are.equal(0, code)
    assert.matches("oa %(.-/mcp/oauth%): authenticated", out)
    code, out = run("auth refresh oa")
    assert.are.equal(0, code)
    assert.matches("refreshed", out)
    code, out = run("auth revoke oa")
    assert.are.equal(0, code)
    assert.matches("logged out of .-/mcp/oauth %(access_token revoked", out)
    code, out = run("auth status oa")
    assert.are.equal(1, code)
    assert.matches("not authenticated", out)
    code, out, err = run("auth set bt --token-env FX_TOKEN")
    assert.are.equal(0, code, err)
    assert.matches("stored the token from FX_TOKEN for .-/mcp/bearer%-token", out)
    code, out = run("logout bt")
    assert.are.equal(0, code)
    assert.matches("logged out of .-/mcp/bearer%-token", out)
    no_secret(out .. err)
    -- an unknown name: a usage error with a suggestion, on every verb
    for _, args in ipairs({ "tools --url opn", "login opn", "doctor opn", "auth status opn", "test opn" }) do
      code, out, err = run(args)
      assert.are.equal(2, code, args)
      assert.matches("unknown server opn %(did you mean open%?%)", err, nil, args)
    end
  end)

  it("the project's mcptest.yaml is found from a subdirectory and wins over the home file", function()
    assert.are.equal(0, (run("server add api --url " .. fx.url .. "/mcp/bearer-token --bearer-token-env FX_TOKEN")))
    write(work .. "/mcptest.yaml", "servers:\n  api:\n    url: " .. fx.url .. "/mcp/open\n  proj:\n    url: "
      .. fx.url .. "/mcp/open\n")
    local code, out = run("server list --json", work .. "/a/b")
    assert.are.equal(0, code)
    local list = mcp.json.decode(out)
    assert.are.equal(2, #list)
    assert.are.equal(fx.url .. "/mcp/open", list[1].url)
    assert.are.equal(work .. "/mcptest.yaml", list[1].source)
    local err
    code, out = run("test proj", work .. "/a/b")
    assert.are.equal(0, code, out)
    -- the registry is never run as a suite, named or in a directory run
    code, _, err = run("run mcptest.yaml", work)
    assert.are.equal(2, code)
    assert.matches("mcptest.yaml is a project's server configuration", err, 1, true)
    write(work .. "/a/ok.test.yaml", "servers:\n  p: proj\ntests:\n  - name: t\n    list: tools\n")
    code, out, err = run("run .", work)
    assert.are.equal(0, code, out .. err)
    assert.matches("1 passed", out)
    -- outside the project only the home file counts
    code, out = run("server list --json", home)
    assert.are.equal(1, #mcp.json.decode(out))
    assert.matches("/mcp/bearer%-token", out)
  end)

  it("a bad registry file is reported as FILE:LINE:COL with the suite schema's messages", function()
    write(work .. "/mcptest.yaml", table.concat({
      "servers:",                                   -- 1
      "  api:",                                     -- 2
      "    ulr: http://127.0.0.1:1/mcp",            -- 3
      "  tok:",                                     -- 4
      "    url: http://127.0.0.1:1/mcp",            -- 5
      "    auth: { token: abc }",                   -- 6
      "  pro:",                                     -- 7
      "    url: http://127.0.0.1:1/mcp",            -- 8
      "    protocol: 2099-01-01",                   -- 9
      "    store: vault",                           -- 10
      "", }, "\n"))
    local f = work .. "/mcptest.yaml"
    for _, args in ipairs({ "server list", "tools --url api", "test --all", "auth status" }) do
      local code, out, err = run(args, work .. "/a")
      assert.are.equal(2, code, args)
      assert.are.equal("", out)
      assert.matches(f .. ":3:5: unknown key `ulr` in servers.api; did you mean `url`?", err, 1, true)
      assert.matches(f .. ":3:5: servers.api needs exactly one of `url`, `command` (a list)", err, 1, true)
      assert.matches(f .. ":6:13: `token` in servers.tok.auth would hold a secret", err, 1, true)
      assert.matches(f .. ":9:15: unknown protocol `2099-01-01` in servers.pro", err, 1, true)
      assert.matches(f .. ":10:12: unknown store `vault` in servers.pro (file or keychain)", err, 1, true)
    end
    write(f, "servers:\n  api: [1, 2\n")
    local code, _, err = run("server list", work)
    assert.are.equal(2, code)
    assert.matches(f:gsub("%p", "%%%0") .. ":%d+:%d+: ", err)
  end)

  it("a YAML suite names a registered server (in a test's server: and in servers:)", function()
    assert.are.equal(0, (run("server add bt --url " .. fx.url .. "/mcp/bearer-token --bearer-token-env FX_TOKEN")))
    write(work .. "/reg.test.yaml", table.concat({
      "servers:",
      "  mine: bt",
      "tests:",
      "  - name: by test server",
      "    server: bt",
      "    tool: whoami",
      "    expect: { contains: bearer }",
      "  - name: by suite alias",
      "    server: mine",
      "    tool: echo",
      "    args: { message: hi, uppercase: true }",
      "    expect: { text: HI }",
      "", }, "\n"))
    local code, out, err = run("compile reg.test.yaml")
    assert.are.equal(0, code, err)
    assert.matches("the registered server bt %(", out)
    assert.matches('bearer_token_env = "FX_TOKEN"', out, 1, true)
    no_secret(out)
    code, out, err = run("run reg.test.yaml")
    assert.are.equal(0, code, out .. err)
    assert.matches("2 passed", out)
    -- a name that is neither the suite's nor registered: FILE:LINE:COL
    write(work .. "/bad.test.yaml", "servers:\n  mine: nope\ntests:\n  - name: t\n    server: bt2\n    list: tools\n")
    code, _, err = run("compile bad.test.yaml")
    assert.are.equal(2, code)
    assert.matches("bad.test.yaml:2:9: servers.mine names the registered server `nope`, but it is not registered", err, 1, true)
    assert.matches("bad.test.yaml:5:13: unknown server `bt2` in tests[1] (t); did you mean `bt`?", err, 1, true)
  end)

  it("test --all checks every registered server at once; a failing auth prints its message and exits 1", function()
    assert.are.equal(0, (run("server add open --url " .. fx.url .. "/mcp/open")))
    assert.are.equal(0, (run("server add good --url " .. fx.url .. "/mcp/bearer-token --bearer-token-env FX_TOKEN")))
    assert.are.equal(0, (run("server add wrong --url " .. fx.url .. "/mcp/bearer-token --bearer-token-env BAD_TOKEN")))
    local code, out, err = run("test --all")
    assert.are.equal(1, code, err)
    assert.matches("✔ good: %d+ tools, [%d-]+, %d+ ms\n", out)
    assert.matches("✔ open: %d+ tools, [%d-]+, %d+ ms\n", out)
    assert.matches("✘ wrong: 401 Unauthorized\n    auth failed: HTTP 401 from .-/mcp/bearer%-token", out)
    assert.matches("the token from env var `BAD_TOKEN` was rejected", out, 1, true)
    assert.matches("2 of 3 servers OK", out, 1, true)
    no_secret(out .. err)
    code, out = run("test --all --json --jobs 2")
    assert.are.equal(1, code)
    local r = mcp.json.decode(out)
    assert.is_false(r.ok)
    assert.are.same({ "good", "open", "wrong" }, { r.servers[1].name, r.servers[2].name, r.servers[3].name })
    assert.are.equal(401, r.servers[3].status)
    -- scaffold from a name: the suite names the registered server and runs green
    code, out, err = run("scaffold --url good")
    assert.are.equal(0, code, err)
    assert.matches("\n  server: good ", out)
    write(work .. "/scaffolded.test.yaml", out)
    code, out, err = run("run scaffolded.test.yaml")
    assert.are.equal(0, code, out .. err)
    code, out = run("test good")
    assert.are.equal(0, code)
    assert.matches("^✔ good: ", out)
    code, out = run("test " .. fx.url .. "/mcp/open")
    assert.are.equal(0, code)
    -- a server we did not write, registered as a stdio command
    local se = SRC .. "/.deps/npm/node_modules/@modelcontextprotocol/server-everything/dist/index.js"
    assert.are.equal(0, (run("server add everything --stdio 'node " .. se .. " stdio'")))
    code, out, err = run("test everything")
    assert.are.equal(0, code, out .. err)
    assert.matches("^✔ everything: %d+ tools, 2025%-", out)
  end)

  it("test --all checks servers at once, --jobs of them at a time", function()
    -- four stdio servers that log when they start and when they end: the
    -- order of the log says how many ran at once (no timing)
    local log = work .. "/jobs.log"
    local wrapper = work .. "/logged_server.sh"
    write(wrapper, "#!/bin/sh\necho start >>" .. log .. "\n" .. BIN .. " serve --stdio\necho end >>" .. log .. "\n")
    os.execute("chmod +x " .. wrapper)
    for i = 1, 4 do assert.are.equal(0, (run("server add s" .. i .. " --stdio " .. wrapper))) end
    local function most_at_once()
      local now, most = 0, 0
      for w in read(log):gmatch("%a+") do
        now = now + (w == "start" and 1 or -1)
        most = math.max(most, now)
      end
      os.remove(log)
      return most
    end
    assert.are.equal(0, (run("test --all --jobs 1")))
    assert.are.equal(1, most_at_once())
    assert.are.equal(0, (run("test --all --jobs 4")))
    assert.is_true(most_at_once() >= 2)
  end)

  it("auth login-all logs in to the OAuth servers without a valid token and skips the rest", function()
    -- nothing registered yet: a mistake, not a pass
    local code0, _, err0 = run("auth login-all")
    assert.are.equal(2, code0)
    assert.matches("no servers registered", err0)
    assert.are.equal(0, (run("server add cc --url " .. fx.url .. "/mcp/oauth --client-credentials"
      .. " --client-id dev-confidential-client --client-secret-env CC_SECRET")))
    -- a second OAuth server (its own fixture), logged in with the device
    -- flow, which --no-browser leaves alone (the fixture auto-approves)
    local fx2 = mcp.fixture.start{ auto_approve = true, device_interval = 1 }
    finally(function() fx2:stop() end)
    assert.are.equal(0, (run("server add code --url " .. fx2.url .. "/mcp/oauth --device --client-id dev-public-client")))
    assert.are.equal(0, (run("server add bt --url " .. fx.url .. "/mcp/bearer-token --bearer-token-env FX_TOKEN")))
    local code, out = run("auth status")
    assert.are.equal(1, code) -- OAuth servers without a token
    assert.matches("bt %(.-%): bearer token from %$FX_TOKEN %(set; nothing to log in%)", out)
    assert.matches("cc %(.-%): not authenticated", out)
    assert.matches("code %(.-%): not authenticated", out)
    local err
    code, out, err = run("auth login-all --no-browser")
    assert.are.equal(0, code, out .. err)
    assert.matches("%- bt: skipped %(bearer token from %$FX_TOKEN%)", out)
    assert.matches("✔ cc: logged in to .-/mcp/oauth %(client_credentials", out)
    assert.matches("✔ code: logged in to .-/mcp/oauth %(device_code", out)
    no_secret(out .. err)
    code, out = run("auth status --json")
    assert.are.equal(0, code)
    local by = {}
    for _, d in ipairs(mcp.json.decode(out)) do by[d.name] = d end
    assert.is_true(by.cc.authenticated)
    assert.is_true(by.code.authenticated)
    assert.are.equal("bearer", by.bt.auth)
    -- a second run has nothing to do
    code, out = run("auth login-all")
    assert.are.equal(0, code)
    assert.matches("%- cc: skipped %(authenticated", out)
    assert.matches("%- code: skipped %(authenticated", out)
    assert.is_nil(out:find("✔", 1, true))
  end)
end)
