-- mcptest.cli.discover: `mcptest discover URL [--json]`: the OAuth metadata
-- walk step by step (each URL tried, its status, what was found), then
-- what the server's authorization offers and which login would work.
local common = require("mcptest.cli.common")
local login = require("mcptest.cli.login")

local M = {
  name = "discover",
  summary = "walk a server's OAuth metadata, each URL tried",
  usage = { "mcptest discover URL [--json] [--cacert FILE] [--cert FILE --key FILE]" },
  help = [[
Exit codes: 0 the walk found usable metadata; 1 it found something wrong
(a resource or issuer mismatch, plain http to a remote server, no
metadata); 2 usage; 3 the server could not be reached.]],
  options = {
    { title = "Options",
      { "--url", arg = "URL", help = "the MCP server (or give it as the first word)" },
      { "--cacert", arg = "FILE", help = "trust the CA certificates in FILE" },
      { "--cert", arg = "FILE", help = "a client certificate (PEM), with --key (mTLS)" },
      { "--key", arg = "FILE", help = "the private key (PEM) of --cert" },
      { "--verbose", "-v", help = "also print the documents found" },
      { "--json", help = "print JSON" } },
  },
}

local function yesno(v) return v and "yes" or "no" end

function M.main(opts, words)
  local url, entry = login.url_of(opts, words, "discover")
  if not url then return entry end
  local discovery = require("mcptest.auth.discovery")
  local json = require("mcptest.json")
  if opts["--verbose"] then require("mcptest.transport.curl").verbose = true end
  local ok, d, err = pcall(discovery.discover, url, { tls = common.tls(opts) or (entry and entry.tls) })
  if not ok then -- a bad --cacert/--cert/--key: a usage error, no traceback
    local errors = require("mcptest.errors")
    if errors.is(d, "usage") then return common.usage_error(d.message, "discover") end
    error(d, 0)
  end
  local walk = d and d.walk or (err and err.walk) or {}
  if opts["--json"] then
    common.print_json({ ok = d ~= nil, error = err and err.message or nil, walk = json.array(walk),
      resource = d and d.resource, issuer = d and d.issuer, prm = d and d.prm, as = d and d.as,
      scopes = d and d.scopes })
    return d and 0 or (#walk <= 1 and 3 or 1)
  end
  for i, w in ipairs(walk) do
    io.write(string.format("%d. %s: %s -> %s%s\n", i, w.step, w.url, w.status and ("HTTP " .. w.status) or "-",
      w.note and ("  " .. w.note) or ""))
  end
  if not d then
    io.write("problem: ", tostring(err.message), "\n")
    return #walk <= 1 and 3 or 1
  end
  local as = d.as
  local grants = type(as.grant_types_supported) == "table" and table.concat(as.grant_types_supported, ", ") or "(not listed)"
  local pkce = type(as.code_challenge_methods_supported) == "table" and table.concat(as.code_challenge_methods_supported, ", ") or "(not listed)"
  io.write("resource: ", tostring(d.resource or "(no protected resource metadata: 2025-03-26 fallbacks)"), "\n",
    "authorization server: ", d.issuer, "\n",
    "  token endpoint: ", tostring(as.token_endpoint), "\n",
    "  authorization endpoint: ", tostring(as.authorization_endpoint), "\n",
    "  grants: ", grants, "\n",
    "  PKCE methods: ", pkce, "\n",
    "  dynamic registration: ", yesno(as.registration_endpoint), ", CIMD: ", yesno(as.client_id_metadata_document_supported),
    ", device flow: ", yesno(as.device_authorization_endpoint), ", DPoP: ", yesno(as.dpop_signing_alg_values_supported), "\n",
    "scopes: ", tostring(d.scopes or "(none advertised)"), "\n")
  local cmds = discovery.login_commands(url, as)
  local hint = #cmds > 0 and table.concat(cmds, "\n  or: ") or nil
  if hint then io.write("log in with: ", hint, "\n") end
  if opts["--verbose"] then
    io.write("protected resource metadata: ", json.encode(d.prm or json.null), "\n",
             "authorization server metadata: ", json.encode(as), "\n")
  end
  return 0
end

return M
