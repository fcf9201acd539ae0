-- mcptest.cli.logout: `mcptest logout URL [-f]`: revoke the cached token at
-- the authorization server when it has a revocation endpoint (RFC 7009),
-- then forget it. In a terminal it asks first, unless -f; with no
-- terminal it does not ask.
local common = require("mcptest.cli.common")
local login = require("mcptest.cli.login")

local M = {
  name = "logout",
  summary = "revoke and forget the token cached for a server",
  usage = { "mcptest logout URL [-f] [--cacert FILE]" },
  help = [[
Exit codes: 0 forgotten (or nothing was cached); 2 usage; 3 the cache
could not be used.]],
  options = {
    { title = "Options",
      { "--url", arg = "URL", help = "the MCP server (or give it as the first word)" },
      { "--force", "-f", help = "do not ask" },
      { "--cacert", arg = "FILE", help = "trust the CA certificates in FILE (for the authorization server)" } },
  },
}

-- RFC 7009 at the AS that issued the token, when it offers revocation.
local function revoke(t, tls)
  if not t.issuer then return "no issuer recorded" end
  local discovery = require("mcptest.auth.discovery")
  local curl = require("mcptest.transport.curl")
  local as
  for _, u in ipairs(discovery.as_urls(t.issuer)) do
    local r = curl.request{ url = u, timeout = 10, tls = tls }
    if r and r.status == 200 then
      as = require("mcptest.json").try_decode(r.body)
      if type(as) == "table" and as.issuer == t.issuer then break end
      as = nil
    end
  end
  if not as then return "its authorization server metadata could not be read" end
  if not as.revocation_endpoint then return "the authorization server has no revocation endpoint" end
  local oauth = require("mcptest.auth.oauth")
  local url_mod = require("mcptest.url")
  -- the client the token was issued to, authenticated as at the token
  -- endpoint (a registered client's secret comes from the cached registration)
  local client = require("mcptest.auth.session").client_of(t)
  local done = {}
  for _, which in ipairs({ { t.refresh_token, "refresh_token" }, { t.access_token, "access_token" } }) do
    if which[1] then
      local form, headers = { token = which[1], token_type_hint = which[2] },
        { ["Content-Type"] = "application/x-www-form-urlencoded" }
      oauth.authenticate_client(as, client, form, headers)
      local r = curl.request{ method = "POST", url = as.revocation_endpoint, headers = headers,
                              body = url_mod.encode_pairs(form), timeout = 10, tls = tls }
      done[#done + 1] = which[2] .. (r and r.status == 200 and " revoked" or (" not revoked (" .. (r and ("HTTP " .. r.status) or "no answer") .. ")"))
    end
  end
  return table.concat(done, ", ")
end

function M.main(opts, words, _, _, verb)
  local url, entry = login.url_of(opts, words, verb or "logout")
  if not url then return entry end
  local mcp = require("mcptest")
  local ok, t = pcall(mcp.tokens.get, url)
  if not ok then io.stderr:write("mcptest: ", tostring(t.message or t), "\n"); return 3 end
  if not t then io.write("no token cached for ", url, "\n"); return 0 end
  local sys = require("mcptest.core.sys")
  if not opts["--force"] and sys.isatty(0) and sys.isatty(1) then
    io.write("forget the token for ", url, " (", t.grant or "?", ", issuer ", t.issuer or "?", ")? [y/N] ")
    io.flush()
    local answer = io.read("l")
    if not answer or not answer:match("^[yY]") then io.write("kept\n"); return 0 end
  end
  local revoked = revoke(t, opts["--cacert"] and { ca_file = opts["--cacert"] } or (entry and entry.tls))
  mcp.tokens.remove(url)
  io.write("logged out of ", url, " (", revoked, ")\n")
  return 0
end

return M
