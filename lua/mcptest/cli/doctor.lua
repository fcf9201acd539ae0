-- mcptest.cli.doctor: `mcptest doctor --url URL | --stdio "CMD"`: the
-- layered diagnosis of mcptest.doctor, printed one layer per line (or as
-- JSON). Exit 0 when every layer is OK, WARN or SKIP, 1 when one FAILs.
local common = require("mcptest.cli.common")

local M = {
  name = "doctor",
  summary = "diagnose a server layer by layer (config, DNS, TCP, TLS, HTTP, MCP, auth, discovery)",
  usage = { 'mcptest doctor (--url URL | --stdio "CMD ARGS") [server flags] [--json]' },
  help = [[
Each layer gets OK, WARN, FAIL or SKIP with one line of finding and, when
something is wrong, one hint: CONFIG (the URL, the flags, the env vars
they name, set or not: never their values), DNS, TCP (time to connect),
TLS (verification, certificate subject and expiry: WARN inside 14 days,
the CA used), HTTP (status, content type, server; a web page or a 404 is
recognised as no MCP endpoint), MCP (initialize: protocol version,
server, capabilities, session, time), AUTH (seed 000's credential states:
no credentials, env var unset or empty, token rejected (401), token
lacking a scope (403), cached login expired) and DISCOVERY (the OAuth
metadata walk and the login command that would work). The walk stops at
the first layer that makes the next meaningless; the rest are SKIP.
--timeout bounds each exchange (default 10 s). --json prints the report
as one JSON object (docs/doctor.md has its schema).
Exit codes: 0 every layer OK, WARN or SKIP; 1 a layer FAILed; 2 usage.]],
  options = { common.target, common.server },
}

local function target_of(opts)
  local t = { url = opts["--url"], command = opts["--stdio"], bearer_token_env = opts["--bearer-token-env"],
              headers = opts["--header"], protocol = opts["--protocol"] }
  if opts["--cacert"] or opts["--insecure"] then
    t.tls = { ca_file = opts["--cacert"], insecure = opts["--insecure"] and true or nil }
  end
  if opts["--timeout"] then
    local n = tonumber(opts["--timeout"])
    if not n or n <= 0 or n == math.huge then return nil, "--timeout needs a positive number of seconds" end
    t.timeout = n
  end
  return t
end

function M.main(opts, words)
  if words[1] and not opts["--url"] and not opts["--stdio"] then
    opts["--url"] = table.remove(words, 1) -- a URL or a registered NAME
  end
  if words[1] then return common.usage_error("unexpected argument " .. words[1], "doctor") end
  if (opts["--url"] == nil) == (opts["--stdio"] == nil) then
    return common.usage_error("doctor needs one of --url URL or --stdio \"CMD ARGS\"", "doctor")
  end
  if opts["--bearer-token-env"] and not opts["--bearer-token-env"]:match("^[%a_][%w_]*$") then
    return common.usage_error("--bearer-token-env takes the name of an environment variable, not a token", "doctor")
  end
  local target, err = target_of(opts)
  if not target then return common.usage_error(err, "doctor") end
  local entry, rerr = common.registered(opts["--url"])
  if entry == false then io.stderr:write("mcptest: ", rerr, "\n"); return 2 end
  if entry then -- a registered NAME: its entry, the flags given on top
    local conn = common.entry_connect(entry, opts)
    target = { url = conn.url, command = conn.command, env = conn.env, cwd = conn.cwd, headers = conn.headers,
      protocol = conn.protocol, tls = conn.tls, timeout = conn.timeout,
      bearer_token_env = conn.auth and conn.auth.bearer_token_env, auth = conn.auth, name = entry.name }
  end
  if opts["--verbose"] then
    require("mcptest.client").default_verbose = true
    require("mcptest.transport.curl").verbose = true
  end
  local report = require("mcptest.doctor").run(target)
  if opts["--json"] then
    local json = require("mcptest.json")
    local layers = {}
    for i, l in ipairs(report.layers) do
      layers[i] = { name = l.name, status = l.status, finding = l.finding, hint = l.hint,
                    details = l.details or json.object() }
    end
    common.print_json({ target = report.target, ok = report.ok, layers = json.array(layers) })
  else
    local scrub = require("mcptest.secrets").scrub
    io.write("mcptest doctor: ", report.target.url or report.target.command, "\n")
    for _, l in ipairs(report.layers) do
      io.write(string.format("%-9s %-4s %s\n", l.name, l.status, scrub(l.finding or "")))
      if l.hint then io.write(string.rep(" ", 15), "hint: ", scrub(l.hint), "\n") end
    end
    io.write(report.ok and "no layer failed\n" or "a layer failed: see its hint\n")
  end
  return report.ok and 0 or 1
end

return M
