-- mcptest.cli.login: `mcptest login URL [grant] [client] [--scope S] ...`:
-- run an OAuth grant against an MCP server and keep the token in the cache
-- (docs/auth.md). Every grant and client authentication of auth.oauth.
local common = require("mcptest.cli.common")

local M = {
  name = "login",
  summary = "log in to an OAuth-protected MCP server; the token is cached for later runs",
  usage = { "mcptest login URL [--device | --client-credentials | --assertion-env VAR",
            "                 | --idp-token-endpoint URL --id-token-env VAR [--idp-client-id ID]]",
            "                 [--no-browser] [--client-id ID] [--client-secret-env VAR] [--private-key-env VAR]",
            "                 [--client-metadata-url URL] [--scope S] [--register] [--dpop]",
            "                 [--callback-port N] [--store file|keychain] [--verbose]" },
  help = [[
Without a grant option: authorization code with PKCE, in the browser
($BROWSER, else xdg-open; --no-browser prints the URL), the callback on
http://127.0.0.1:PORT/callback (--callback-port, else
MCPTEST_OAUTH_CALLBACK_PORT, else the first free port of 8085-8099).
Without --client-id mcptest registers itself (cached per issuer).
Secrets are read from the env vars named, never from the command line.
Exit codes: 0 logged in; 2 usage; 3 the login failed (the message says why).]],
  options = {
    { title = "Server",
      { "--url", arg = "URL", help = "the MCP server (or give it as the first word)" } },
    { title = "Grant (default: authorization code in a browser)",
      { "--device", help = "the device flow (RFC 8628): a URL and a code to enter anywhere" },
      { "--client-credentials", help = "client credentials (machine to machine; needs --client-id and a secret or key)" },
      { "--assertion-env", arg = "VAR", help = "jwt-bearer (RFC 7523) with the workload identity JWT in VAR (a CI provider's OIDC token)" },
      { "--idp-token-endpoint", arg = "URL", help = "enterprise-managed authorization: the IdP's token endpoint (RFC 8693 exchange for an ID-JAG)" },
      { "--id-token-env", arg = "VAR", help = "the IdP ID token to exchange" },
      { "--idp-client-id", arg = "ID", help = "mcptest's client id at the IdP" } },
    { title = "Client",
      { "--client-id", arg = "ID", help = "a client registered at the authorization server" },
      { "--client-secret-env", arg = "VAR", help = "its secret, in VAR" },
      { "--private-key-env", arg = "VAR", help = "a PEM private key in VAR: private_key_jwt client authentication" },
      { "--client-metadata-url", arg = "URL", help = "a client ID metadata document URL (when the server supports CIMD)" },
      { "--register", help = "register anew instead of reusing the cached registration" } },
    { title = "Options",
      { "--scope", arg = "S", help = "the scopes to ask for (default: the server's challenge, else its scopes_supported)" },
      { "--dpop", help = "DPoP-bound tokens (RFC 9449)" },
      { "--no-browser", help = "print the authorization URL instead of opening a browser" },
      { "--callback-port", arg = "N", help = "the loopback callback port (busy: an error)" },
      { "--store", arg = "file|keychain", help = "where the secrets go: file (~/.mcptest/auth, 0600; the default) or keychain (the Secret Service; not running: the file, said on stderr)" },
      { "--cacert", arg = "FILE", help = "trust the CA certificates in FILE" },
      { "--cert", arg = "FILE", help = "a client certificate (PEM), with --key (mTLS)" },
      { "--key", arg = "FILE", help = "the private key (PEM) of --cert" },
      { "--verbose", "-v", help = "print each step" },
      { "--json", help = "print the result as JSON (no secrets)" } },
  },
}

-- The URL: the first word or --url, exactly one; a registered server's
-- NAME gives its URL. Returns url, entry (the registry entry, or nil), or
-- nil, exit code.
function M.url_of(opts, words, verb)
  local url = opts["--url"] or words[1]
  if opts["--url"] and words[1] then return nil, common.usage_error("give the URL once (a word or --url)", verb) end
  if words[2] then return nil, common.usage_error("unexpected argument " .. words[2], verb) end
  if not url then return nil, common.usage_error(verb .. " needs the server URL (or a registered NAME)", verb) end
  local entry, err = common.registered(url)
  if entry == false then io.stderr:write("mcptest: ", err, "\n"); return nil, 2 end
  if entry then
    if not entry.url then
      return nil, common.usage_error("server " .. url .. " is started with a command (stdio); " .. verb
        .. " needs an HTTP server", verb)
    end
    return entry.url, entry
  end
  if not url:match("^https?://[^/]") then
    return nil, common.usage_error("not an http(s) URL and not a registered server: " .. url, verb)
  end
  return url
end

-- What a token set may show: no secret, the token as a fingerprint.
-- A keychain entry's file (auth/cache.lua) names the secrets the keychain
-- holds and the token's fingerprint, so this needs no unlocking.
function M.describe(t)
  local secrets = require("mcptest.secrets")
  local left = t.expires_at and (t.expires_at - os.time())
  local held = {}
  for _, k in ipairs(t.keychain or {}) do held[k] = true end
  return {
    url = t.url, grant = t.grant, scope = t.scope, issuer = t.issuer, client_id = t.client_id,
    token_type = t.token_type, token = t.access_token and secrets.fingerprint(t.access_token) or t.fingerprint,
    expires_at = t.expires_at, expires_in = left, expired = left ~= nil and left <= 0 or false,
    refreshable = t.refresh_token ~= nil or held.refresh_token == true, dpop = t.dpop_key ~= nil or held.dpop_key == true,
    store = t.store or "file", store_asked = t.store_asked,
  }
end

-- login's settings from the flags, over a registry entry's OAuth keys
-- (flags win); nil, exit code on a usage error.
function M.config(opts, url, entry)
  local eo = entry and entry.auth and entry.auth.oauth or {}
  local grants = 0
  for _, g in ipairs({ "--device", "--client-credentials", "--assertion-env", "--idp-token-endpoint" }) do
    if opts[g] then grants = grants + 1 end
  end
  if grants > 1 then return nil, common.usage_error("give one grant option", "login") end
  local function pick(flag, key)
    if opts[flag] ~= nil then return opts[flag] end
    return eo[key]
  end
  local cfg = { url = url, scope = pick("--scope", "scope"), client_id = pick("--client-id", "client_id"),
    client_secret_env = pick("--client-secret-env", "client_secret_env"),
    private_key_env = pick("--private-key-env", "private_key_env"),
    client_metadata_url = pick("--client-metadata-url", "client_metadata_url"),
    register = opts["--register"] and true or nil,
    dpop = (opts["--dpop"] or eo.dpop) and true or nil, no_browser = (opts["--no-browser"] or eo.no_browser) and true or nil,
    tls = common.tls(opts) or (entry and entry.tls), store = opts["--store"] or (entry and entry.store) }
  if opts["--callback-port"] then
    local p = tonumber(opts["--callback-port"])
    if not p or p ~= math.floor(p) or p < 1 or p > 65535 then
      return nil, common.usage_error("--callback-port needs a port number", "login")
    end
    cfg.callback_port = math.floor(p)
  end
  if opts["--device"] then cfg.grant = "device_code"
  elseif opts["--client-credentials"] then cfg.grant = "client_credentials"
  elseif opts["--assertion-env"] then cfg.grant, cfg.assertion_env = "jwt_bearer", opts["--assertion-env"]
  elseif opts["--idp-token-endpoint"] then
    if not opts["--id-token-env"] then return nil, common.usage_error("--idp-token-endpoint needs --id-token-env", "login") end
    cfg.grant = "jwt_bearer"
    cfg.idp = { token_endpoint = opts["--idp-token-endpoint"], id_token_env = opts["--id-token-env"],
                client_id = opts["--idp-client-id"] }
  elseif eo.grant then
    cfg.grant, cfg.assertion_env, cfg.idp = eo.grant, eo.assertion_env, eo.idp
  else cfg.grant = "authorization_code" end
  if opts["--id-token-env"] and not opts["--idp-token-endpoint"] then
    return nil, common.usage_error("--id-token-env goes with --idp-token-endpoint", "login")
  end
  return cfg
end

-- Run the grant: the token set, or nil, exit code, message.
function M.run(cfg)
  local mcp = require("mcptest")
  local ok, t = pcall(mcp.oauth.login, cfg)
  if ok then return t end
  local errors = require("mcptest.errors")
  local msg = errors.is(t) and tostring(t.message) or tostring(t)
  return nil, (errors.is(t) and t.kind == "usage") and 2 or 3, msg
end

-- One line for a token set just obtained (no secret: a fingerprint).
function M.logged_in_line(url, t)
  local d = M.describe(t)
  return "logged in to " .. url .. " (" .. tostring(t.grant) .. (d.scope and (", scope " .. d.scope) or "")
    .. (d.expires_in and (", expires in " .. d.expires_in .. " s") or "") .. (d.refreshable and ", refreshable" or "")
    .. (d.dpop and ", DPoP-bound" or "") .. "; token " .. tostring(d.token)
    .. "; in the " .. (d.store == "keychain" and "keychain" or "file cache") .. ")"
end

function M.main(opts, words)
  local url, entry = M.url_of(opts, words, "login")
  if not url then return entry end
  if opts["--store"] and opts["--store"] ~= "file" and opts["--store"] ~= "keychain" then
    return common.usage_error("--store takes file or keychain, not " .. opts["--store"], "login")
  end
  local cfg, code = M.config(opts, url, entry)
  if not cfg then return code end
  if opts["--verbose"] then -- each exchange with the servers, secrets redacted
    require("mcptest.client").default_verbose = true
    require("mcptest.transport.curl").verbose = true
  end
  local t, rc, msg = M.run(cfg)
  if not t then
    io.stderr:write("mcptest: login failed: ", msg, "\n")
    return rc
  end
  if opts["--json"] then common.print_json(M.describe(t)); return 0 end
  io.write(M.logged_in_line(url, t), "\n")
  return 0
end

return M
