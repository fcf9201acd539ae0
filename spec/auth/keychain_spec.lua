-- The keychain store (auth/cache.lua, runtime/keychain.c) against a real
-- Secret Service: gnome-keyring-daemon on a D-Bus session of its own
-- (dbus-run-session), its login keyring unlocked with a password on stdin,
-- in a HOME of its own; started here and killed at the end. secret-tool
-- (libsecret-tools) reads the items independently of mcptest. Then the
-- parallel-refresh test of spec/auth/parallel_spec.lua on this store, and
-- the fallback to the file cache when no Secret Service can be reached.
local mcp = require("mcptest")
local sys = require("mcptest.core.sys")
local process = require("mcptest.core.process")
local poll = require("mcptest.core.poll")
local secrets = require("mcptest.secrets")
local cache = require("mcptest.auth.cache")
local SRC = os.getenv("MCPTEST_SRC") or "."
local BIN = os.getenv("MCPTEST_BIN") or (SRC .. "/build/mcptest")

local function have(cmd) return os.execute("command -v " .. cmd .. " >/dev/null 2>&1") == true end
local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end
local function slurp(p) local f = io.open(p); if not f then return "" end local s = f:read("a"); f:close(); return s end

-- A shell command with output captured: code, stdout, stderr.
local function sh(cmd)
  local out, err = os.tmpname(), os.tmpname()
  local _, _, code = os.execute(cmd .. " >" .. out .. " 2>" .. err .. " </dev/null")
  local o, e = slurp(out), slurp(err)
  os.remove(out); os.remove(err)
  return code, o, e
end


-- The Secret Service: nil, why when it cannot start at all.
local function start_keyring(dir)
  for _, cmd in ipairs({ "dbus-run-session", "gnome-keyring-daemon", "secret-tool", "dbus-send" }) do
    if not have(cmd) then return nil, cmd .. " is not installed (scripts/deps.sh installs it)" end
  end
  local script = "echo \"ADDR $DBUS_SESSION_BUS_ADDRESS\"; printf kc-spec-password | gnome-keyring-daemon --unlock"
    .. " --components=secrets >/dev/null && echo READY; exec sleep 600"
  local envl = {}
  for k, v in pairs(sys.environ()) do
    if k ~= "HOME" and k ~= "DBUS_SESSION_BUS_ADDRESS" and not k:match("^XDG_") then envl[#envl + 1] = k .. "=" .. v end
  end
  envl[#envl + 1] = "HOME=" .. dir
  local p = assert(process.spawn{ argv = { "dbus-run-session", "--", "sh", "-c", script }, env = envl })
  local addr, ready = nil, false
  local deadline = sys.now() + 15
  local got = ""
  while not ready and sys.now() < deadline do
    poll.wait({ (p:fds()) }, nil, 0.2)
    local lines, _, eof = p:read_lines()
    for _, l in ipairs(lines) do
      got = got .. l .. "\n"
      addr = addr or l:match("^ADDR (%S+)")
      if l == "READY" then ready = true end
    end
    if eof then break end
  end
  if not (ready and addr) then
    p:close(1)
    return nil, "gnome-keyring-daemon did not start under dbus-run-session within 15 s: " .. got
  end
  -- the daemon detaches from the session's process group: its pid, to kill it
  local _, out = sh("DBUS_SESSION_BUS_ADDRESS=" .. q(addr) .. " dbus-send --session --print-reply"
    .. " --dest=org.freedesktop.DBus / org.freedesktop.DBus.GetConnectionUnixProcessID string:org.freedesktop.secrets")
  return { proc = p, addr = addr, daemon_pid = tonumber(out:match("uint32 (%d+)")) }
end

local run_many = dofile((os.getenv("MCPTEST_SRC") or ".") .. "/spec/lib/run.lua").run_many

describe("the keychain store (Secret Service)", function()
  local fx, url, home, kr, kr_dir, saved_bus
  local function secret_tool(args)
    return sh("DBUS_SESSION_BUS_ADDRESS=" .. q(kr.addr) .. " secret-tool " .. args)
  end
  -- the mcptest binary; bus: the D-Bus address to give it (false: none)
  local function cli(args, bus, env)
    local prefix = "MCPTEST_HOME=" .. q(home) .. " " .. (env or "")
    if bus then prefix = prefix .. " DBUS_SESSION_BUS_ADDRESS=" .. q(bus) else prefix = "env -u DBUS_SESSION_BUS_ADDRESS " .. prefix end
    return sh(prefix .. " " .. q(BIN) .. " " .. args)
  end
  local function token_file(u) return cache.dir() .. "/tokens/" .. cache.key(cache.url_key(u)) .. ".json" end

  setup(function()
    kr_dir = os.tmpname(); os.remove(kr_dir)
    assert(os.execute("mkdir -m 700 -p " .. q(kr_dir)))
    local why
    kr, why = start_keyring(kr_dir)
    if not kr then
      io.stderr:write("keychain_spec: SKIPPED, no Secret Service: ", why, "\n")
      return
    end
    saved_bus = os.getenv("DBUS_SESSION_BUS_ADDRESS")
    sys.setenv("DBUS_SESSION_BUS_ADDRESS", kr.addr)
    fx = mcp.fixture.start{ auto_approve = true }
    url = fx.url .. "/mcp/oauth"
    sys.setenv("BROWSER", SRC .. "/spec/data/browser.sh")
    sys.setenv("MCPTEST_SPEC_CC_SECRET", "dev-confidential-secret")
  end)
  teardown(function()
    if fx then fx:stop() end
    sys.setenv("DBUS_SESSION_BUS_ADDRESS", saved_bus)
    if kr then
      if kr.daemon_pid then os.execute("kill " .. kr.daemon_pid .. " 2>/dev/null") end
      kr.proc:close(1) -- the sleep, then dbus-run-session and its bus
    end
    if kr_dir then os.execute("rm -rf " .. q(kr_dir)) end
  end)
  before_each(function()
    if not kr then return end
    home = os.tmpname(); os.remove(home)
    sys.setenv("MCPTEST_HOME", home)
  end)
  local function need()
    if not kr then pending("no Secret Service could start here (see stderr)") end
    return kr ~= nil
  end

  it("keeps a login's tokens in the keychain and only metadata in the file", function()
    if not need() then return end
    local t = mcp.oauth.login{ url = url, grant = "authorization_code", say = function() end, store = "keychain" }
    assert.are.equal("keychain", t.store)
    local text = slurp(token_file(url))
    assert.is_nil(text:find(t.access_token, 1, true), "the access token is in the file")
    assert.is_nil(text:find(t.refresh_token, 1, true), "the refresh token is in the file")
    local meta = mcp.json.decode(text)
    assert.are.equal("keychain", meta.store)
    assert.is_number(meta.expires_at)
    -- secret-tool, not mcptest, finds the item by its attributes
    local code, out = secret_tool("lookup application mcptest kind token url " .. q(cache.url_key(url)))
    assert.are.equal(0, code, out)
    local item = mcp.json.decode(out)
    assert.are.equal(t.access_token, item.access_token)
    assert.are.equal(t.refresh_token, item.refresh_token)
    local _, found, found_err = secret_tool("search --all application mcptest kind token")
    -- (secret-tool prints the attributes on stderr)
    assert.matches("attribute.key = " .. cache.key(cache.url_key(url)), found .. found_err, 1, true)
    -- read back through mcptest; a run sends it
    assert.are.equal(t.access_token, mcp.tokens.get(url).access_token)
    local c = mcp.connect{ url = url }
    assert.is_table(c:call_tool("whoami", {}))
    c:close()
  end)

  it("a registered server's store: keychain reaches mcptest login NAME and a run by name", function()
    if not need() then return end
    local code, _, err = cli("server add kc --url " .. url .. " --client-credentials --client-id dev-confidential-client"
      .. " --client-secret-env MCPTEST_SPEC_CC_SECRET --store keychain", kr.addr)
    assert.are.equal(0, code, err)
    local out
    code, out, err = cli("login kc", kr.addr)
    assert.are.equal(0, code, err)
    assert.matches("in the keychain", out, 1, true)
    local meta = mcp.json.decode(slurp(token_file(url)))
    assert.are.equal("keychain", meta.store)
    assert.is_nil(meta.access_token)
    code, out = secret_tool("lookup application mcptest kind token url " .. q(cache.url_key(url)))
    assert.are.equal(0, code, out)
    code, out, err = cli("call --url kc --tool whoami", kr.addr)
    assert.are.equal(0, code, err)
    assert.matches("dev-confidential-client", out, 1, true)
  end)

  it("auth status names the store and unlocks nothing (works with no D-Bus at all)", function()
    if not need() then return end
    local code, out, err = cli("auth set " .. url .. " --token-env MCPTEST_SPEC_CC_SECRET --store keychain", kr.addr)
    assert.are.equal(0, code, err)
    assert.matches("in the keychain", out, 1, true)
    assert.is_nil(slurp(token_file(url)):find("dev-confidential-secret", 1, true))
    code, out, err = cli("auth status " .. url, false)
    assert.are.equal(0, code, err)
    assert.matches("in the keychain", out, 1, true)
    assert.matches(secrets.fingerprint("dev-confidential-secret"), out, 1, true)
    assert.are.equal("", err)
    code, out = cli("auth status --json", false)
    assert.are.equal(0, code)
    assert.are.equal("keychain", mcp.json.decode(out)[1].store)
    -- a run that needs the token and cannot reach the keychain says why
    code, out, err = cli("tools --url " .. url, false)
    assert.are_not.equal(0, code)
    assert.matches("the tokens for " .. cache.url_key(url) .. " are in the keychain, but no D-Bus session", err, 1, true)
  end)

  it("refreshes once for 16 parallel runs, the rotated refresh token kept in the keychain", function()
    if not need() then return end
    local t = mcp.oauth.login{ url = url, grant = "authorization_code", say = function() end, store = "keychain" }
    mcp.tokens.expire(url)
    local r0 = mcp.http.request{ url = fx.url .. "/", timeout = 5 }
    local refreshes = (mcp.json.decode(r0.body).token_requests or {}).refresh_token or 0
    local results = run_many(16, SRC .. "/spec/data/auth/cached_call.lua", { URL = url })
    local seen
    for i, r in ipairs(results) do
      assert.are.equal("exited", r.status, "run " .. i .. ": " .. r.out)
      assert.are.equal(0, r.code, "run " .. i .. ": " .. r.out)
      local fp = r.out:match("TOKEN (%S+)")
      assert.is_string(fp, r.out)
      seen = seen or fp
      assert.are.equal(seen, fp, "runs used different tokens: more than one renewal")
    end
    assert.are_not.equal(secrets.fingerprint(t.access_token), seen)
    local r1 = mcp.http.request{ url = fx.url .. "/", timeout = 5 }
    assert.are.equal(refreshes + 1, mcp.json.decode(r1.body).token_requests.refresh_token)
    -- the keychain, read by secret-tool, holds the new set; the file none of it
    local _, out = secret_tool("lookup application mcptest kind token url " .. q(cache.url_key(url)))
    local item = mcp.json.decode(out)
    assert.are.equal(seen, secrets.fingerprint(item.access_token))
    assert.are_not.equal(t.refresh_token, item.refresh_token)
    local text = slurp(token_file(url))
    assert.is_nil(text:find(item.access_token, 1, true))
    assert.is_nil(text:find(item.refresh_token, 1, true))
    assert.are.equal("keychain", mcp.json.decode(text).store)
  end)

  it("keeps a registered client's secret in the keychain", function()
    if not need() then return end
    local t = mcp.oauth.login{ url = url, grant = "client_credentials", store = "keychain" }
    local dir = cache.dir() .. "/clients/"
    local names = require("mcptest.core.fs").list(dir)
    assert.are.equal(1, #names)
    local meta = mcp.json.decode(slurp(dir .. names[1]))
    assert.are.equal("keychain", meta.store)
    assert.is_nil(meta.client_secret)
    assert.are.equal(t.client_id, meta.client_id)
    local code, out = secret_tool("lookup application mcptest kind client url " .. q(t.issuer))
    assert.are.equal(0, code)
    assert.is_string(mcp.json.decode(out).client_secret)
  end)

  it("auth.store in mcp.connect keeps a DPoP key in the keychain; a later run proves possession with it", function()
    if not need() then return end
    local c = mcp.connect{ url = url, auth = { store = "keychain", oauth = { grant = "client_credentials", dpop = true,
      client_id = "dev-confidential-client", client_secret_env = "MCPTEST_SPEC_CC_SECRET" } } }
    c:call_tool("whoami", {})
    c:close()
    local meta = mcp.json.decode(slurp(token_file(url)))
    assert.are.equal("keychain", meta.store)
    assert.are.equal("DPoP", meta.token_type)
    assert.is_nil(meta.dpop_key)
    assert.is_nil(meta.access_token)
    local _, out = secret_tool("lookup application mcptest kind token url " .. q(cache.url_key(url)))
    local item = mcp.json.decode(out)
    assert.is_string(item.dpop_key)
    -- another process: the bound token and its key come from the keychain
    local r = run_many(1, SRC .. "/spec/data/auth/cached_call.lua", { URL = url })[1]
    assert.are.equal(0, r.code, r.out)
    assert.are.equal(secrets.fingerprint(item.access_token), r.out:match("TOKEN (%S+)"))
  end)

  it("logout removes the keychain item", function()
    if not need() then return end
    mcp.oauth.login{ url = url, grant = "authorization_code", say = function() end, store = "keychain" }
    local key_url = q(cache.url_key(url))
    assert.matches("access_token", select(2, secret_tool("lookup application mcptest kind token url " .. key_url)), 1, true)
    local code, _, err = cli("logout " .. url .. " -f", kr.addr)
    assert.are.equal(0, code, err)
    local _, out = secret_tool("lookup application mcptest kind token url " .. q(cache.url_key(url)))
    assert.are.equal("", out)
  end)

  -- a D-Bus session bus of its own that knows no services (no
  -- org.freedesktop.secrets to activate): address, process
  local function bare_bus()
    local conf = os.tmpname()
    local f = assert(io.open(conf, "w"))
    f:write([[<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>session</type><listen>unix:tmpdir=/tmp</listen><auth>EXTERNAL</auth>
<policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/><allow own="*"/></policy>
</busconfig>]])
    f:close()
    local p = assert(process.spawn{ argv = { "dbus-daemon", "--config-file=" .. conf, "--nofork", "--print-address=1" } })
    local addr
    local deadline = sys.now() + 10
    while not addr and sys.now() < deadline do
      poll.wait({ (p:fds()) }, nil, 0.2)
      local lines, _, eof = p:read_lines()
      addr = lines[1]
      if eof then break end
    end
    os.remove(conf)
    return assert(addr, "dbus-daemon gave no address"), p
  end

  it("falls back to the file cache, saying so, when no Secret Service can be reached", function()
    if not need() then return end
    local bare_addr, bare = bare_bus()
    local cases = {
      { bus = false, why = "no D-Bus session: DBUS_SESSION_BUS_ADDRESS is not set" },
      { bus = "unix:path=" .. home .. "/no-such-bus", why = "the Secret Service on the D-Bus session failed: " },
      { bus = bare_addr, why = "org.freedesktop.secrets" }, -- a bus with no Secret Service on it
    }
    finally(function() bare:close(1) end)
    for _, case in ipairs(cases) do
      local bus = case.bus
      home = os.tmpname(); os.remove(home)
      local code, out, err = cli("auth set " .. url .. " --token-env MCPTEST_SPEC_CC_SECRET --store keychain", bus)
      assert.are.equal(0, code, err)
      assert.matches("the keychain was asked for the tokens of " .. cache.url_key(url) .. " but is not available", err, 1, true)
      assert.matches(case.why, err, 1, true)
      assert.matches("0600 file cache", err, 1, true)
      assert.matches("in the file cache", out, 1, true)
      assert.is_nil(err:find("dev-confidential-secret", 1, true))
      code, out = cli("auth status " .. url, false)
      assert.are.equal(0, code)
      assert.matches("in the file cache (keychain asked for, not available when stored)", out, 1, true)
      -- the token works from the file
      local f = assert(io.open(home .. "/auth/tokens/" .. cache.key(cache.url_key(url)) .. ".json"))
      assert.are.equal("dev-confidential-secret", mcp.json.decode(f:read("a")).access_token)
      f:close()
    end
  end)
end)

-- libsecret (and the GLib, GIO and GObject it brings: about 2.5 MB of RSS)
-- is opened only when a run uses the keychain, not by every run.
describe("the keychain library", function()
  it("is not loaded by a run that does not use the keychain, and is by one that does", function()
    local function loaded(script)
      local path = os.tmpname()
      local f = assert(io.open(path, "w"))
      f:write(script, "\nlocal m = io.open('/proc/self/maps'):read('a')\nprint(m:find('libsecret', 1, true) and 'libsecret: loaded' or 'libsecret: not loaded')\n")
      f:close()
      -- a bus that is not there: libsecret fails at once, never autolaunches one
      local p = io.popen("DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent " .. BIN .. " " .. path .. " 2>&1")
      local out = p:read("a")
      p:close()
      os.remove(path)
      return out
    end
    assert.matches("libsecret: not loaded", loaded("local mcp = require('mcptest')"), 1, true)
    -- a lookup without a D-Bus session still opens the library first
    assert.matches("libsecret: loaded", loaded("pcall(require('mcptest.core.keychain').lookup, { application = 'mcptest' })"), 1, true)
  end)
end)
