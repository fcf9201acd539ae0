-- mcptest.cli.auth: `mcptest auth status [URL] [--json]`, `mcptest auth
-- refresh URL`, `mcptest auth set URL --token-env VAR`: the token cache
-- from the command line. Nothing printed holds a secret: tokens show as a
-- fingerprint (sha256:...).
local common = require("mcptest.cli.common")
local login = require("mcptest.cli.login")

local M = {
  name = "auth",
  summary = "the token cache: status, refresh, set",
  usage = { "mcptest auth status [URL] [--json]", "mcptest auth refresh URL",
            "mcptest auth set URL --token-env VAR [--store file|keychain]" },
  help = [[
status: every cached server (or one): authenticated or not, expiry,
scopes, grant, issuer, the token's fingerprint. refresh: refresh now.
set: copy the token in VAR into the cache for URL once (later runs send
it; it cannot be refreshed), in the file cache or (--store keychain) the
Secret Service. status reads the cache files only, never the keychain,
and says which store holds each token. Exit codes: 0 done; 1 (status) a server has
no usable token; 2 usage; 3 the refresh failed or the cache is unusable.]],
  options = {
    { title = "Options",
      { "--token-env", arg = "VAR", help = "set: the env var holding the token" },
      { "--store", arg = "file|keychain", help = "set: where the token goes (default: the entry's store, else file)" },
      { "--json", help = "status: print JSON" } },
  },
}

local function status(opts, words)
  local mcp = require("mcptest")
  local list
  if words[2] then
    -- the file only: status never unlocks the keychain
    local cache = require("mcptest.auth.cache")
    local t = cache.meta(cache.url_key(words[2]))
    list = t and { t } or {}
    if not t and not opts["--json"] then io.write(words[2], ": not authenticated (no cached token)\n"); return 1 end
  else
    list = mcp.tokens.list()
  end
  local out, bad = {}, false
  for i, t in ipairs(list) do
    local d = login.describe(t)
    d.authenticated = not d.expired or d.refreshable
    if not d.authenticated then bad = true end
    out[i] = d
  end
  if opts["--json"] then common.print_json(mcp.json.array(out)); return bad and 1 or 0 end
  if #out == 0 then io.write("no cached tokens (", require("mcptest.auth.cache").dir(), ")\n"); return 0 end
  for _, d in ipairs(out) do
    local state = not d.expired and "authenticated" or (d.refreshable and "expired, refreshable" or "expired")
    io.write(d.url, ": ", state, d.expires_in and (d.expires_in > 0 and (", expires in " .. d.expires_in .. " s")
      or (", expired " .. -d.expires_in .. " s ago")) or "", "\n    grant ", tostring(d.grant),
      d.scope and (", scope " .. d.scope) or "", d.issuer and (", issuer " .. d.issuer) or "",
      d.dpop and ", DPoP" or "", ", token ", tostring(d.token), ", in the ",
      d.store == "keychain" and "keychain" or "file cache",
      d.store_asked and (" (" .. d.store_asked .. " asked for, not available when stored)") or "", "\n")
  end
  return bad and 1 or 0
end

function M.main(opts, words)
  local sub = words[1]
  local mcp = require("mcptest")
  local ok, code = pcall(function()
    if sub == "status" then
      if words[3] then return common.usage_error("unexpected argument " .. words[3], "auth") end
      return status(opts, words)
    elseif sub == "refresh" then
      local url = words[2]
      if not url or words[3] then return common.usage_error("auth refresh needs one URL", "auth") end
      local t = mcp.oauth.refresh(url)
      local d = login.describe(t)
      io.write("refreshed ", url, d.expires_in and (": expires in " .. d.expires_in .. " s") or "", "; token ", d.token, "\n")
      return 0
    elseif sub == "set" then
      local url, var = words[2], opts["--token-env"]
      if not url or words[3] then return common.usage_error("auth set needs one URL", "auth") end
      if not var then return common.usage_error("auth set needs --token-env VAR", "auth") end
      local v = os.getenv(var)
      if not v or v == "" then
        io.stderr:write("mcptest: env var `", var, "` (named by --token-env) is not set or is empty\n")
        return 2
      end
      local store = opts["--store"]
      if store and store ~= "file" and store ~= "keychain" then
        return common.usage_error("--store takes file or keychain, not " .. store, "auth")
      end
      local t = mcp.tokens.put(url, { access_token = v, token_type = "Bearer", grant = "manual", token_env = var,
                                      obtained_at = os.time(), store = store })
      io.write("stored the token from ", var, " for ", url, " (", require("mcptest.secrets").fingerprint(v),
        ") in the ", t.store == "keychain" and "keychain" or "file cache", "\n")
      return 0
    end
    return common.usage_error(sub and ("unknown auth command " .. sub) or "auth needs a command: status, refresh or set", "auth")
  end)
  if ok then return code end
  local errors = require("mcptest.errors")
  io.stderr:write("mcptest: ", errors.is(code) and tostring(code.message) or tostring(code), "\n")
  if errors.is(code) and code.kind == "usage" then return 2 end
  return 3
end

return M
