-- mcptest.cli.test: `mcptest test NAME|URL` and `mcptest test --all`: a
-- connection check per server (seed 003's `test`): connect, authenticate
-- with what is configured, list the tools, one line each. --all checks
-- every registered server, several at once (--jobs, default 4).
local common = require("mcptest.cli.common")

local M = {
  name = "test",
  summary = "check that servers connect, authenticate and list their tools, one line each",
  usage = { "mcptest test NAME|URL [server flags] [--json]",
            "mcptest test --all [--jobs N] [--json]" },
  help = [[
Prints "✔ NAME: 12 tools, 2025-11-25, 38 ms" for a server that answered,
or "✘ NAME: 401 Unauthorized" (or why it could not be reached) followed
by the auth failure message. --all checks every registered server
(mcptest server list), --jobs N at a time. Credentials are what is
configured: a bearer env var, a cached login token, a grant that needs
no person (client credentials, jwt-bearer). No browser or device login
is started here: log in first (mcptest login NAME, auth login-all).
Exit codes: 0 every server OK; 1 one failed; 2 usage or a bad registry.]],
  options = {
    { title = "Servers",
      { "--all", help = "every registered server" },
      { "--jobs", "-j", arg = "N", help = "with --all: how many servers are checked at once (default 4)" } },
    common.server,
  },
}

local REASONS = { [400] = "Bad Request", [401] = "Unauthorized", [403] = "Forbidden", [404] = "Not Found",
                  [500] = "Internal Server Error", [502] = "Bad Gateway", [503] = "Service Unavailable" }

-- Check one server: a result table (no secret in it).
local function check(name, conn)
  local sys = require("mcptest.core.sys")
  local mcp = require("mcptest")
  local errors = require("mcptest.errors")
  local r = { name = name, url = conn.url, command = conn.command and
    (type(conn.command) == "table" and table.concat(conn.command, " ") or conn.command) }
  local t0 = sys.now()
  local ok, err = pcall(function()
    local c = mcp.connect(conn)
    local ok2, tools = pcall(c.list_tools, c)
    r.protocol = c.protocol_version
    c:close()
    if not ok2 then error(tools, 0) end
    r.tools = #tools
  end)
  r.ms = math.floor((sys.now() - t0) * 1000 + 0.5)
  r.ok = ok
  if not ok then
    local scrub = require("mcptest.secrets").scrub
    local msg = errors.is(err) and tostring(err.message) or tostring(err)
    r.kind = errors.is(err) and err.kind or "error"
    r.status = errors.is(err) and err.http_status or nil
    if r.status then
      r.error = r.status .. (REASONS[r.status] and (" " .. REASONS[r.status]) or "")
      r.message = scrub(msg)
    else
      r.error = scrub((msg:gsub("\n.*", "")))
      r.message = msg:find("\n") and scrub(msg) or nil
    end
  end
  return r
end

local function line(r)
  if r.ok then
    return string.format("✔ %s: %d tool%s, %s, %d ms", r.name, r.tools, r.tools == 1 and "" or "s",
      tostring(r.protocol or "?"), r.ms)
  end
  local out = "✘ " .. r.name .. ": " .. r.error
  if r.message then
    out = out .. "\n" .. r.message:gsub("\n$", ""):gsub("([^\n]+)", "    %1")
  end
  return out
end

-- Run the checks, jobs at a time, on the event loop; results in order.
local function run_all(list, jobs)
  local loop = require("mcptest.loop")
  local results, next_i = {}, 1
  local tasks = {}
  for _ = 1, math.min(jobs, #list) do
    tasks[#tasks + 1] = loop.spawn(function()
      while next_i <= #list do
        local i = next_i
        next_i = next_i + 1
        results[i] = check(list[i].name, list[i].conn)
      end
    end)
  end
  loop.join(tasks)
  return results
end

function M.main(opts, words)
  local ok0, err0 = common.apply_client_defaults(opts)
  if not ok0 then return common.usage_error(err0, "test") end
  -- a checker never waits for a person: a login that needs one fails
  -- with the auth failure message, as in CI
  require("mcptest.auth.session").interactive = function() return false end
  local registry = require("mcptest.suite.registry")
  local list = {}
  if opts["--all"] then
    if words[1] then return common.usage_error("give NAME|URL or --all, not both", "test") end
    local reg, err = registry.load()
    if not reg then io.stderr:write("mcptest: ", err, "\n"); return 2 end
    for _, n in ipairs(registry.names()) do
      list[#list + 1] = { name = n, conn = common.entry_connect(reg.servers[n], opts) }
    end
    if #list == 0 then
      io.stderr:write("mcptest: no servers registered (", registry.home_file(),
        "); add one with mcptest server add NAME --url URL\n")
      return 2
    end
  else
    local word = words[1]
    if not word then return common.usage_error("test needs a registered NAME, a URL, or --all", "test") end
    if words[2] then return common.usage_error("unexpected argument " .. words[2] .. " (one server, or --all)", "test") end
    local entry, err = common.registered(word)
    if entry == false then io.stderr:write("mcptest: ", err, "\n"); return 2 end
    if entry then
      list[1] = { name = word, conn = common.entry_connect(entry, opts) }
    else
      if not word:match("^https?://[^/]") then return common.usage_error("not an http(s) URL: " .. word, "test") end
      local conn = { url = word, headers = opts["--header"], protocol = opts["--protocol"], tls = common.tls(opts),
                     timeout = tonumber(opts["--timeout"]), verbose = opts["--verbose"] }
      if opts["--bearer-token-env"] then conn.auth = { bearer_token_env = opts["--bearer-token-env"] } end
      list[1] = { name = word, conn = conn }
    end
  end
  local jobs = 4
  if opts["--jobs"] then
    jobs = tonumber(opts["--jobs"])
    if not jobs or jobs < 1 or jobs ~= math.floor(jobs) then
      return common.usage_error("--jobs needs a whole number above 0", "test")
    end
  end
  local results = run_all(list, jobs)
  local failed = 0
  for _, r in ipairs(results) do if not r.ok then failed = failed + 1 end end
  if opts["--json"] then
    common.print_json({ ok = failed == 0, servers = require("mcptest.json").array(results) })
  else
    for _, r in ipairs(results) do io.write(line(r), "\n") end
    if #results > 1 then
      io.write(#results - failed, " of ", #results, " servers OK\n")
    end
  end
  return failed == 0 and 0 or 1
end

return M
