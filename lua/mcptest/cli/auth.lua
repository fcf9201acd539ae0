-- mcptest.cli.auth: `mcptest auth status [URL] [--json]`, `mcptest auth
-- refresh URL`, `mcptest auth set URL --token-env VAR`: the token cache
-- from the command line. Nothing printed holds a secret: tokens show as a
-- fingerprint (sha256:...).
local common = require("mcptest.cli.common")
local login = require("mcptest.cli.login")

local M = {
  name = "auth",
  summary = "the token cache: status, refresh, set, revoke, login-all",
  usage = { "mcptest auth status [NAME|URL] [--json]", "mcptest auth refresh NAME|URL",
            "mcptest auth set NAME|URL --token-env VAR [--store file|keychain]", "mcptest auth revoke NAME|URL [-f]",
            "mcptest auth login-all [--no-browser]" },
  help = [[
status: every registered server (mcptest server list), logged in or
not, and every other cached server (or one): authenticated or not,
expiry, scopes, grant, issuer, the token's fingerprint and which store
holds it (status reads the cache files only, never the keychain).
refresh: refresh now. set: copy the token in VAR into the cache for URL
once (later runs send it; it cannot be refreshed), in the file cache or
(--store keychain) the Secret Service. revoke: the same as mcptest
logout. login-all: log in to every registered server that uses OAuth
and has no valid token, one line each, skipping the rest. A registered
NAME works wherever URL does. Exit codes: 0 done; 1 (status) a server
has no usable token, (login-all) a login failed; 2 usage (login-all: no
server registered); 3 the refresh
failed or the cache is unusable.]],
  options = {
    { title = "Options",
      { "--token-env", arg = "VAR", help = "set: the env var holding the token" },
      { "--store", arg = "file|keychain", help = "set: where the token goes (default: the entry's store, else file)" },
      { "--no-browser", help = "login-all: print authorization URLs instead of opening a browser" },
      { "--force", "-f", help = "revoke: do not ask" },
      { "--cacert", arg = "FILE", help = "revoke: trust the CA certificates in FILE" },
      { "--json", help = "status: print JSON" } },
  },
}

-- The URL of a word (a registered NAME or a URL) and its entry, or nil,
-- exit code (the message printed).
local function target(word, sub)
  if not word then return nil, common.usage_error("auth " .. sub .. " needs one NAME or URL", "auth") end
  local entry, err = common.registered(word)
  if entry == false then io.stderr:write("mcptest: ", err, "\n"); return nil, 2 end
  if entry and not entry.url then
    return nil, common.usage_error("server " .. word .. " is a stdio server: it has no token", "auth")
  end
  return entry and entry.url or word, entry
end

local function state_of(d)
  return not d.expired and "authenticated" or (d.refreshable and "expired, refreshable" or "expired")
end

local function status(opts, words)
  local mcp = require("mcptest")
  local registry = require("mcptest.suite.registry")
  local cache = require("mcptest.auth.cache")
  local reg, rerr = registry.load()
  if not reg then io.stderr:write("mcptest: ", rerr, "\n"); return 2 end
  -- rows: registered servers first (by name, logged in or not), then the
  -- cached tokens of servers not registered
  local rows = {}
  if words[2] then
    local url, entry = target(words[2], "status")
    if not url then return entry end
    -- the file only: status never unlocks the keychain
    rows[1] = { name = entry and entry.name, url = url, entry = entry, token = cache.meta(cache.url_key(url)) }
  else
    local seen = {}
    for _, n in ipairs(registry.names()) do
      local e = reg.servers[n]
      if e.url then
        rows[#rows + 1] = { name = n, url = e.url, entry = e, token = cache.meta(cache.url_key(e.url)) }
        seen[e.url] = true
      end
    end
    for _, t in ipairs(mcp.tokens.list()) do
      if not seen[t.url] then rows[#rows + 1] = { url = t.url, token = t } end
    end
  end
  local out, bad = {}, false
  for i, r in ipairs(rows) do
    local d
    if r.token then
      d = login.describe(r.token)
      d.authenticated = not d.expired or d.refreshable
    else
      d = { url = r.url, authenticated = false }
    end
    d.name = r.name
    if r.entry then
      local a = r.entry.auth
      d.auth = a and (a.bearer_token_env and "bearer" or "oauth") or "none"
      d.store = d.store or r.entry.store or "file"
      if a and a.bearer_token_env then d.token_env = a.bearer_token_env end
    end
    -- a server that needs no login (no auth, or a token from an env var)
    -- is not "not authenticated"
    local needs_login = not r.entry or d.auth == "oauth"
    if not d.authenticated and needs_login then bad = true end
    out[i] = d
  end
  if opts["--json"] then common.print_json(mcp.json.array(out)); return bad and 1 or 0 end
  if #out == 0 then
    io.write("no registered servers and no cached tokens (", require("mcptest.auth.cache").dir(), ")\n")
    return 0
  end
  for _, d in ipairs(out) do
    local label = d.name and (d.name .. " (" .. d.url .. ")") or d.url
    if d.token then
      io.write(label, ": ", state_of(d), d.expires_in and (d.expires_in > 0 and (", expires in " .. d.expires_in .. " s")
        or (", expired " .. -d.expires_in .. " s ago")) or "", "\n    grant ", tostring(d.grant),
        d.scope and (", scope " .. d.scope) or "", d.issuer and (", issuer " .. d.issuer) or "",
        d.dpop and ", DPoP" or "", ", token ", tostring(d.token), ", in the ",
        d.store == "keychain" and "keychain" or "file cache",
        d.store_asked and (" (" .. d.store_asked .. " asked for, not available when stored)") or "", "\n")
    elseif d.auth == "bearer" then
      io.write(label, ": bearer token from $", d.token_env, " (",
        (os.getenv(d.token_env) or "") ~= "" and "set" or "not set", "; nothing to log in)\n")
    elseif d.auth == "none" then
      io.write(label, ": no auth configured\n")
    else
      io.write(label, ": not authenticated (no cached token); run mcptest login ", d.name or d.url, "\n")
    end
  end
  return bad and 1 or 0
end

-- Log in to every registered OAuth server without a usable token.
local function login_all(opts)
  local mcp = require("mcptest")
  local registry = require("mcptest.suite.registry")
  local reg, rerr = registry.load()
  if not reg then io.stderr:write("mcptest: ", rerr, "\n"); return 2 end
  local names = registry.names()
  if #names == 0 then -- nothing to log in to is a mistake to say, as test --all says it
    io.stderr:write("mcptest: no servers registered (", registry.home_file(), "); add one with mcptest server add NAME --url URL\n")
    return 2
  end
  local failed = 0
  for _, n in ipairs(names) do
    local e = reg.servers[n]
    local a = e.auth
    if not e.url then
      io.write("- ", n, ": skipped (a stdio server)\n")
    elseif not (a and a.oauth) then
      io.write("- ", n, ": skipped (", a and a.bearer_token_env and ("bearer token from $" .. a.bearer_token_env)
        or "no auth configured", ")\n")
    else
      local t = mcp.tokens.get(e.url)
      local d = t and login.describe(t)
      if d and (not d.expired or d.refreshable) then
        io.write("- ", n, ": skipped (", state_of(d), d.expires_in and d.expires_in > 0
          and (", expires in " .. d.expires_in .. " s") or "", ")\n")
      else
        local cfg, code = login.config({ ["--no-browser"] = opts["--no-browser"] }, e.url, e)
        if not cfg then return code end
        local tok, _, msg = login.run(cfg)
        if tok then
          io.write("✔ ", n, ": ", login.logged_in_line(e.url, tok), "\n")
        else
          failed = failed + 1
          io.write("✘ ", n, ": login failed: ", (require("mcptest.secrets").scrub(msg):gsub("\n", "\n    ")), "\n")
        end
      end
    end
    io.flush()
  end
  return failed == 0 and 0 or 1
end

function M.main(opts, words)
  local sub = words[1]
  local mcp = require("mcptest")
  local ok, code = pcall(function()
    if sub == "status" then
      if words[3] then return common.usage_error("unexpected argument " .. words[3], "auth") end
      return status(opts, words)
    elseif sub == "login-all" then
      if words[2] then return common.usage_error("unexpected argument " .. words[2], "auth") end
      return login_all(opts)
    elseif sub == "revoke" then -- seed 003's name for logout
      return require("mcptest.cli.logout").main(opts, { table.unpack(words, 2) }, nil, nil, "auth revoke")
    elseif sub == "refresh" then
      if words[3] then return common.usage_error("auth refresh needs one NAME or URL", "auth") end
      local url, entry = target(words[2], "refresh")
      if not url then return entry end
      local t = mcp.oauth.refresh(url)
      local d = login.describe(t)
      io.write("refreshed ", url, d.expires_in and (": expires in " .. d.expires_in .. " s") or "", "; token ", d.token, "\n")
      return 0
    elseif sub == "set" then
      local var = opts["--token-env"]
      if words[3] then return common.usage_error("auth set needs one NAME or URL", "auth") end
      local url, entry = target(words[2], "set")
      if not url then return entry end
      if not var then return common.usage_error("auth set needs --token-env VAR", "auth") end
      local v = os.getenv(var)
      if not v or v == "" then
        io.stderr:write("mcptest: env var `", var, "` (named by --token-env) is not set or is empty\n")
        return 2
      end
      local store = opts["--store"] or (entry and entry.store)
      if store and store ~= "file" and store ~= "keychain" then
        return common.usage_error("--store takes file or keychain, not " .. store, "auth")
      end
      local t = mcp.tokens.put(url, { access_token = v, token_type = "Bearer", grant = "manual", token_env = var,
                                      obtained_at = os.time(), store = store })
      io.write("stored the token from ", var, " for ", url, " (", require("mcptest.secrets").fingerprint(v),
        ") in the ", t.store == "keychain" and "keychain" or "file cache", "\n")
      return 0
    end
    return common.usage_error(sub and ("unknown auth command " .. sub) or "auth needs a command: status, refresh, set, revoke or login-all", "auth")
  end)
  if ok then return code end
  local errors = require("mcptest.errors")
  io.stderr:write("mcptest: ", errors.is(code) and tostring(code.message) or tostring(code), "\n")
  if errors.is(code) and code.kind == "usage" then return 2 end
  return 3
end

return M
