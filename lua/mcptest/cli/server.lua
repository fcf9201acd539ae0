-- mcptest.cli.server: `mcptest server add|list|show|remove`: the named
-- servers of ~/.mcptest/servers.yaml (and, read-only here, a project's
-- mcptest.yaml). docs/registry.md. No secret is ever written: auth names
-- env vars only.
local common = require("mcptest.cli.common")

local M = {
  name = "server",
  summary = "named servers: add, list, show, remove (~/.mcptest/servers.yaml)",
  usage = { 'mcptest server add NAME (--url URL | --stdio "CMD") [--bearer-token-env VAR | OAuth flags]',
            "                       [--header 'N: V'] [--protocol P] [--store file|keychain]",
            "mcptest server list [--json]", "mcptest server show NAME [--json]", "mcptest server remove NAME" },
  help = [[
A registered NAME works wherever a verb takes a URL or --url (tools, call,
doctor, login, logout, auth, discover, test, the mcp-server's tools), and
as a YAML suite's `server:`. add writes ~/.mcptest/servers.yaml
(MCPTEST_HOME moves it); a project's mcptest.yaml, found by walking up
from the working directory, is read too and its entries win. Secrets are
never stored: --bearer-token-env and the OAuth flags name env vars.
Exit codes: 0 done; 1 (remove, show) no such server; 2 usage or a bad
registry file (FILE:LINE:COL).]],
  options = {
    { title = "Server",
      { "--url", arg = "URL", help = "a Streamable HTTP server" },
      { "--stdio", arg = '"CMD ARGS"', help = "a server started as a child process" },
      { "--header", arg = "'NAME: VALUE'", repeatable = true, help = "an HTTP header; ${VAR} expands at connect time" },
      { "--protocol", arg = "P", help = "the protocol version (default auto)" },
      { "--timeout", arg = "S", help = "per-request timeout in seconds" },
      { "--cacert", arg = "FILE", help = "trust the CA certificates in FILE" },
      { "--insecure", help = "do not verify TLS certificates" },
      { "--cert", arg = "FILE", help = "a client certificate (PEM), with --key" },
      { "--key", arg = "FILE", help = "the private key of --cert" } },
    { title = "Auth (env-var names, never values)",
      { "--bearer-token-env", arg = "VAR", help = "a static bearer token in VAR" },
      { "--device", help = "OAuth: the device flow" },
      { "--client-credentials", help = "OAuth: client credentials" },
      { "--assertion-env", arg = "VAR", help = "OAuth: jwt-bearer with the assertion in VAR" },
      { "--oauth", help = "OAuth: authorization code in a browser (the default OAuth grant)" },
      { "--idp-token-endpoint", arg = "URL", help = "OAuth: enterprise-managed authorization, the IdP's token endpoint (with --id-token-env)" },
      { "--id-token-env", arg = "VAR", help = "OAuth: the IdP ID token to exchange, in VAR" },
      { "--idp-client-id", arg = "ID", help = "OAuth: mcptest's client id at the IdP" },
      { "--no-browser", help = "OAuth: print the authorization URL instead of opening a browser" },
      { "--client-id", arg = "ID", help = "OAuth: a registered client" },
      { "--client-secret-env", arg = "VAR", help = "OAuth: its secret, in VAR" },
      { "--private-key-env", arg = "VAR", help = "OAuth: a PEM key in VAR (private_key_jwt)" },
      { "--client-metadata-url", arg = "URL", help = "OAuth: a client ID metadata document URL" },
      { "--scope", arg = "S", help = "OAuth: the scopes to ask for" },
      { "--dpop", help = "OAuth: DPoP-bound tokens" },
      { "--store", arg = "file|keychain", choices = { "file", "keychain" }, what = "store",
        help = "where this server's secrets go (default file)" } },
    { title = "Options",
      { "--force", "-f", help = "add: replace an entry of that name" },
      { "--json", help = "list, show: print JSON" } },
  },
}

local function registry() return require("mcptest.suite.registry") end

local function bad_file(err)
  io.stderr:write("mcptest: ", err, "\n")
  return 2
end

local function add(opts, words)
  local name = words[2]
  if not name or words[3] then return common.usage_error("server add needs one NAME", "server") end
  local schema = require("mcptest.suite.schema")
  if not name:match(schema.SERVER_NAME) or registry().is_url(name) then
    return common.usage_error("server name " .. name .. " must be a word of letters, digits, ., - and _", "server")
  end
  if (opts["--url"] == nil) == (opts["--stdio"] == nil) then
    return common.usage_error('server add needs one of --url URL or --stdio "CMD ARGS"', "server")
  end
  local e = {}
  if opts["--url"] then
    if not opts["--url"]:match("^https?://[^/]") then
      return common.usage_error("not an http(s) URL: " .. opts["--url"], "server")
    end
    e.url = opts["--url"]
  else
    e.command = require("mcptest.transport.stdio").split_command(opts["--stdio"])
    if #e.command == 0 then return common.usage_error("--stdio needs a command", "server") end
  end
  if opts["--header"] then
    e.headers = {}
    for _, h in ipairs(opts["--header"]) do
      local k, v = h:match("^%s*([^:]+):%s*(.*)$")
      if not k then return common.usage_error("--header takes 'Name: value', got " .. h, "server") end
      e.headers[k] = v
    end
  end
  e.protocol = opts["--protocol"]
  if opts["--timeout"] then e.timeout = tonumber(opts["--timeout"]) end
  local tls = common.tls(opts)
  if tls then e.tls = tls end
  local n = 0
  for _, g in ipairs({ "--device", "--client-credentials", "--assertion-env", "--idp-token-endpoint" }) do
    if opts[g] then n = n + 1 end
  end
  if n > 1 then return common.usage_error("give one grant option", "server") end
  if (opts["--idp-token-endpoint"] == nil) ~= (opts["--id-token-env"] == nil) then
    return common.usage_error("--idp-token-endpoint and --id-token-env go together", "server")
  end
  local grant = (opts["--device"] and "device_code") or (opts["--client-credentials"] and "client_credentials")
    or ((opts["--assertion-env"] or opts["--idp-token-endpoint"]) and "jwt_bearer")
  local oauthy = grant or opts["--oauth"] or opts["--client-id"] or opts["--client-secret-env"]
    or opts["--private-key-env"] or opts["--client-metadata-url"] or opts["--scope"] or opts["--dpop"]
    or opts["--no-browser"]
  if opts["--bearer-token-env"] and oauthy then
    return common.usage_error("give --bearer-token-env or OAuth flags, not both", "server")
  end
  if opts["--bearer-token-env"] then
    e.auth = { bearer_token_env = opts["--bearer-token-env"] }
  elseif oauthy then
    e.auth = { oauth = { grant = grant or "authorization_code", client_id = opts["--client-id"],
      client_secret_env = opts["--client-secret-env"], private_key_env = opts["--private-key-env"],
      client_metadata_url = opts["--client-metadata-url"], scope = opts["--scope"],
      assertion_env = opts["--assertion-env"], dpop = opts["--dpop"] and true or nil,
      no_browser = opts["--no-browser"] and true or nil } }
    if opts["--idp-token-endpoint"] then
      e.auth.oauth.idp = { token_endpoint = opts["--idp-token-endpoint"], id_token_env = opts["--id-token-env"],
                           client_id = opts["--idp-client-id"] }
    end
  end
  e.store = opts["--store"]
  -- the same checks as a file's entry: an env-var name that looks like a
  -- pasted token is refused here, before anything is written
  local loader = require("mcptest.suite.load")
  local s = loader.text(registry().render({ [name] = e }), "(server add)")
  local problems = s and schema.check_registry(s) or {}
  if #problems > 0 then
    local msgs = {}
    for _, p in ipairs(problems) do msgs[#msgs + 1] = p.message end
    return common.usage_error(table.concat(msgs, "; "), "server")
  end
  local reg, err = registry().load()
  if not reg then return bad_file(err) end
  local old = reg.servers[name]
  if old and old.source == registry().home_file() and not opts["--force"] then
    return common.usage_error("server " .. name .. " is already registered (" .. old.source
      .. "); remove it first or pass --force", "server")
  end
  local ok, werr = registry().add(name, e)
  if not ok then return bad_file(werr) end
  io.write("registered ", name, ": ", e.url or table.concat(e.command, " "),
    e.auth and (e.auth.bearer_token_env and (", bearer token from $" .. e.auth.bearer_token_env)
      or (", OAuth " .. e.auth.oauth.grant)) or "", e.store and (", store " .. e.store) or "",
    " (", registry().home_file(), ")\n")
  if old and old.source ~= registry().home_file() then
    io.write("note: ", old.source, " also defines ", name, " and wins in that project\n")
  end
  return 0
end

-- What list and show print of an entry: no secret can be in it.
local function summary(e)
  local auth = "none"
  if e.auth and e.auth.bearer_token_env then auth = "bearer $" .. e.auth.bearer_token_env
  elseif e.auth and e.auth.oauth then auth = "oauth " .. tostring(e.auth.oauth.grant) end
  return { name = e.name, url = e.url, command = e.command, auth = auth, store = e.store or "file",
           protocol = e.protocol, source = e.source, line = e.line }
end

local function list(opts)
  local reg, err = registry().load()
  if not reg then return bad_file(err) end
  local names = registry().names()
  local json = require("mcptest.json")
  if opts["--json"] then
    local out = {}
    for i, n in ipairs(names) do out[i] = summary(reg.servers[n]) end
    common.print_json(json.array(out))
    return 0
  end
  if #names == 0 then
    io.write("no servers registered (", registry().home_file(), "); add one with mcptest server add NAME --url URL\n")
    return 0
  end
  local w = 4
  for _, n in ipairs(names) do w = math.max(w, #n) end
  for _, n in ipairs(names) do
    local s = summary(reg.servers[n])
    io.write(string.format("%-" .. w .. "s  %s  (auth %s, store %s)\n", n,
      s.url or table.concat(s.command, " "), s.auth, s.store))
  end
  return 0
end

local function show(opts, words)
  local name = words[2]
  if not name or words[3] then return common.usage_error("server show needs one NAME", "server") end
  local reg, err = registry().load()
  if not reg then return bad_file(err) end
  local e = reg.servers[name]
  if not e then
    local _, msg = registry().get(name)
    io.stderr:write("mcptest: ", msg, "\n")
    return 1
  end
  if opts["--json"] then
    local s = summary(e)
    s.entry = registry().connect_options(e)
    common.print_json(s)
    return 0
  end
  io.write(name, " (", e.source, ":", e.line, ")\n")
  io.write((registry().render({ [name] = e })
    :gsub("^#[^\n]*\n", ""):gsub("^servers:\n", "")))
  return 0
end

local function remove(_, words)
  local name = words[2]
  if not name or words[3] then return common.usage_error("server remove needs one NAME", "server") end
  local ok, err = registry().remove(name)
  if ok == nil then return bad_file(err) end
  if not ok then
    local reg = registry().load()
    local e = reg and reg.servers[name]
    if e then
      io.stderr:write("mcptest: ", name, " is defined in ", e.source, ", not in ", registry().home_file(),
        "; edit that file to remove it\n")
    else
      io.stderr:write("mcptest: no server named ", name, " in ", registry().home_file(), "\n")
    end
    return 1
  end
  io.write("removed ", name, " (", registry().home_file(), ")\n")
  return 0
end

function M.main(opts, words)
  local sub = words[1]
  if sub == "add" then return add(opts, words)
  elseif sub == "list" then
    if words[2] then return common.usage_error("unexpected argument " .. words[2], "server") end
    return list(opts)
  elseif sub == "show" then return show(opts, words)
  elseif sub == "remove" or sub == "rm" then return remove(opts, words) end
  return common.usage_error(sub and ("unknown server command " .. sub .. " (add, list, show, remove)")
    or "server needs a command: add, list, show or remove", "server")
end

return M
