-- mcptest.auth.message: DESIGN.md's auth failure message, one line per
-- fact, for every credential source (seed 000's table of states).
local curl = require("mcptest.transport.curl")
local errors = require("mcptest.errors")

local M = {}

function M.unset_env_message(var)
  return "env var `" .. var .. "` (named by `bearer_token_env`) is not set or is empty"
    .. " in this process; export a valid token into it."
end

-- The auth failure error for a 401/403: ctx as for on_challenge, a the
-- chain that supplied (or did not supply) the credential.
function M.failure(ctx, a)
  local status, url = ctx.status, ctx.url
  local server_url = a and a.url or url
  local ch = curl.parse_www_authenticate(ctx.www_authenticate)
  local lines = { "auth failed: HTTP " .. status .. " from " .. url .. ", server advertises "
    .. curl.describe_challenge(ch) .. "." }
  local scope = ch and ch.params.scope
  local source = a and a.source or "none"
  if status == 403 and scope then
    lines[#lines + 1] = "  the token lacks permission (the server asks for scope \"" .. scope
      .. "\"); check scope or audience."
    if a and a.renew_error and not (a.scopes_asked and #a.scopes_asked > 0) then
      lines[#lines + 1] = "  mcptest did not authorize again: " .. a.renew_error .. "."
    end
    if a and a.scopes_asked and #a.scopes_asked > 0 then
      local asked = {}
      for i, s in ipairs(a.scopes_asked) do asked[i] = errors.snippet(s) end
      lines[#lines] = lines[#lines] .. "\n  mcptest authorized again " .. #asked .. " time(s), asking for "
        .. table.concat(asked, ", then ") .. (a.renew_error and (" (" .. a.renew_error .. ")") or "") .. "."
    end
  elseif source == "env_unset" then
    lines[#lines + 1] = "  " .. M.unset_env_message(a.token_env)
  elseif source == "env" then
    lines[#lines + 1] = "  the token from env var `" .. a.token_env .. "` was rejected; mint a fresh one or re-login."
  elseif source == "cache" and a.expired then
    lines[#lines + 1] = "  the cached login token for " .. server_url .. " has expired and could not be refreshed; run mcptest login "
      .. server_url .. "."
  elseif source == "cache" or source == "oauth" then
    lines[#lines + 1] = "  the token from " .. (source == "cache" and "the token cache" or "the OAuth login")
      .. " was rejected" .. (a.renew_error and (" and renewing it failed (" .. a.renew_error .. ")") or "")
      .. "; run mcptest login " .. server_url .. "."
  elseif source == "header" then
    lines[#lines + 1] = "  the Authorization header given in the options was rejected; check the token it holds."
  else
    lines[#lines + 1] = "  no credentials were supplied; pass --bearer-token-env <VAR> or run mcptest login "
      .. server_url .. "."
    if a and a.renew_error then
      lines[#lines + 1] = "  (mcptest tried to log in: " .. a.renew_error .. ")"
    end
  end
  lines[#lines + 1] = "Diagnose with: mcptest doctor --url " .. server_url .. " --bearer-token-env "
    .. (a and a.token_env or "VAR")
  return errors.new("auth", table.concat(lines, "\n"), { http_status = status, url = url,
    www_authenticate = ch, method_desc = ctx.method_desc })
end

return M
