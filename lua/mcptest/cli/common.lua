-- mcptest.cli.common: what several verbs share. The option groups of
-- DESIGN.md ("server flags" on every verb that talks to a server, and the
-- server to talk to), and the helpers that apply them. Loaded by every
-- verb, so it requires nothing until a helper runs.
local M = {}

-- The server to talk to: one of these (tools, call; later doctor, scaffold).
M.target = { title = "Server (one of)",
  { "--stdio", arg = '"CMD ARGS"',
    help = "start the server as a child process: the command as one string, split on blanks (quotes group words)" },
  { "--url", arg = "URL", help = "a Streamable HTTP server" },
}

local timeout = { "--timeout", arg = "S",
  help = "per-request timeout in seconds for every client (default 30)" }
local protocol = { "--protocol", arg = "P",
  help = "protocol version: auto (default: probe server/discover, else initialize), 2026-07-28,"
    .. " 2025-11-25, 2025-06-18, 2025-03-26, 2024-11-05" }
local verbose = { "--verbose", "-v",
  help = "print every JSON-RPC message sent (>>) and received (<<) on stderr, Authorization values redacted" }

-- DESIGN.md's server flags.
M.server = { title = "Server flags",
  { "--bearer-token-env", arg = "VAR",
    help = "send the token in VAR as Authorization: Bearer (unset or empty: an error)" },
  { "--header", arg = "'NAME: VALUE'", repeatable = true,
    help = "an HTTP header (repeatable); ${VAR} expands from the environment, and Bearer ${X} with X unset or empty drops the header" },
  protocol,
  { "--cacert", arg = "FILE", help = "trust the CA certificates in FILE (a private CA)" },
  { "--insecure", help = "do not verify TLS certificates (prints a warning)" },
  { "--cert", arg = "FILE", help = "a client certificate (PEM) for servers that require one (mTLS); with --key" },
  { "--key", arg = "FILE", help = "the private key (PEM) of --cert" },
  timeout,
  verbose,
  { "--json", help = "print JSON" },
}

-- What a script run takes of the server flags: its clients' defaults.
M.client_defaults = { title = "Clients", timeout, verbose, protocol }

-- A usage error: exit code 2, with a pointer to the verb's help.
function M.usage_error(msg, verb, hint)
  io.stderr:write("mcptest: ", msg, "\n")
  if hint then io.stderr:write("(", hint, "; run mcptest help ", verb or "run", " for the options)\n")
  elseif verb then io.stderr:write("(run mcptest help ", verb, " for usage)\n")
  else io.stderr:write("(run mcptest --help for usage)\n") end
  return 2
end

-- --timeout and --verbose become every client's defaults.
function M.apply_client_defaults(opts)
  local client = require("mcptest.client")
  if opts["--timeout"] then
    local t = tonumber(opts["--timeout"])
    if not t or t <= 0 or t ~= t or t == math.huge then
      return nil, "--timeout needs a positive, finite number of seconds, got " .. tostring(opts["--timeout"])
    end
    client.default_timeout = t
  end
  if opts["--protocol"] then
    local p = opts["--protocol"]
    if p ~= "auto" and not require("mcptest.protocol").ERA[p] then
      return nil, "--protocol: unknown protocol version " .. p .. " (auto, 2026-07-28, 2025-11-25, 2025-06-18,"
        .. " 2025-03-26 or 2024-11-05)"
    end
    client.default_protocol = p -- a connect without `protocol` speaks it
  end
  if opts["--verbose"] then
    client.default_verbose = true
    require("mcptest.transport.curl").verbose = true -- OAuth and raw HTTP exchanges too
  end
  return true
end

-- Connect for an imperative verb: the client, or nil, exit code, message
-- (2 usage, 3 unreachable).
function M.connect(opts)
  local ok0, err0 = M.apply_client_defaults(opts)
  if not ok0 then return nil, 2, err0 end
  local mcp = require("mcptest")
  local conn = { timeout = tonumber(opts["--timeout"]), verbose = opts["--verbose"],
                 protocol = opts["--protocol"] }
  local entry, rerr = M.registered(opts["--url"])
  if entry == false then return nil, 2, rerr end
  if entry then
    -- a registered NAME: its entry, with the flags given on top
    conn = M.entry_connect(entry, opts)
  elseif opts["--stdio"] then
    conn.command = opts["--stdio"]
  elseif opts["--url"] then
    conn.url = opts["--url"]
    conn.headers = opts["--header"] -- "Name: value", ${VAR} expanded by the transport
    if opts["--bearer-token-env"] then conn.auth = { bearer_token_env = opts["--bearer-token-env"] } end
    conn.tls = M.tls(opts)
  else
    return nil, 2, "this command needs --stdio \"CMD ARGS\" or --url URL"
  end
  local ok, c = pcall(mcp.connect, conn)
  if not ok then
    local errors = require("mcptest.errors")
    if errors.is(c) and c.kind == "usage" then return nil, 2, tostring(c.message) end
    return nil, 3, tostring(c)
  end
  return c
end

-- A registered server named where a URL goes: the entry; nil for a URL
-- (or nothing); false, message for an unknown name or a bad registry file.
function M.registered(word)
  if word == nil or word == true then return nil end
  return require("mcptest.suite.registry").resolve(word)
end

-- mcp.connect's options for a registered entry, with the server flags
-- given on the command line on top of it.
function M.entry_connect(entry, opts)
  local conn = require("mcptest.suite.registry").connect_options(entry)
  conn.verbose = opts["--verbose"]
  conn.timeout = tonumber(opts["--timeout"]) or conn.timeout
  conn.protocol = opts["--protocol"] or conn.protocol
  if opts["--header"] then -- the entry's "Name: value" lines, then the flags'
    conn.headers = conn.headers or {}
    for _, line in ipairs(opts["--header"]) do conn.headers[#conn.headers + 1] = line end
  end
  if opts["--bearer-token-env"] then
    conn.auth = { bearer_token_env = opts["--bearer-token-env"], store = conn.auth and conn.auth.store }
  end
  conn.tls = M.tls(opts) or conn.tls
  return conn
end

-- The tls option of --cacert, --cert/--key and --insecure, or nil.
function M.tls(opts)
  if not (opts["--cacert"] or opts["--insecure"] or opts["--cert"] or opts["--key"]) then return nil end
  return { ca_file = opts["--cacert"], insecure = opts["--insecure"] and true or nil,
           cert_file = opts["--cert"], key_file = opts["--key"] }
end

function M.print_json(v)
  io.write(require("mcptest.json").encode(v), "\n")
end

return M
