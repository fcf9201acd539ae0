-- mcptest.cli.load: `mcptest load SCRIPT.lua`: a load run with k6's model
-- (mcptest.load); the flags override the script's options.
local common = require("mcptest.cli.common")

local M = {
  name = "load",
  summary = "load a server the way k6 does: virtual users, scenarios, thresholds",
  usage = { "mcptest load SCRIPT.lua [--vus N] [--duration D | --iterations N] [--rate R] [-o FORMAT[:PATH]]... [--out json=FILE] [--shard I/N] [--start-at TIME]" },
  help = [[
SCRIPT.lua defines options (scenarios, thresholds), setup(), default(data,
vu) and teardown(data), as docs/load.md describes. --vus, --duration,
--iterations and --rate replace the script's scenarios with one:
constant-vus (--vus, --duration), shared-iterations (--iterations) or
constant-arrival-rate (--rate per second, --duration). -o json:FILE writes
the summary as JSON (mergeable histograms), -o junit:FILE each threshold
as a testcase, -o text (the default) the summary on stdout; --out
json=FILE writes every sample in k6's JSON output format. --shard I/N
runs the I-th of N shares of the load and --start-at TIME starts it at
TIME, so N machines load together; `mcptest report merge` merges their
-o json summaries exactly.
Exit codes: 0 every threshold held; 1 one was crossed (or the run was
interrupted); 2 usage; 3 setup could not reach its server.]],
  options = {
    { title = "Load",
      { "--vus", arg = "N", help = "virtual users (with --duration: constant-vus)" },
      { "--duration", arg = "D", help = "how long, e.g. 30s, 1m30s" },
      { "--iterations", arg = "N", help = "iterations shared by the VUs (shared-iterations)" },
      { "--rate", arg = "R", help = "iterations started per second, whether or not earlier ones finished (constant-arrival-rate)" },
      { "-o", arg = "FORMAT[:PATH]", repeatable = true, help = "text, json or junit; :PATH writes to a file (repeatable)" },
      { "--out", arg = "json=FILE", help = "every sample, k6's JSON output format, one Point per line" },
      { "--shard", arg = "I/N", help = "run the I-th of N shares of every scenario's VUs, iterations or rate (one machine of N)" },
      { "--start-at", arg = "TIME", help = "start the VUs at TIME (RFC 3339 with its zone, or Unix seconds), after setup: N machines start together" },
      { "--quiet", "-q", help = "no live line on the terminal" },
    },
    common.client_defaults,
  },
}

local FORMATS = { text = true, json = true, junit = true }

function M.main(opts, words)
  local function usage(msg) return common.usage_error(msg, "load") end
  local script = words[1]
  if not script then return usage("load needs a script: mcptest load SCRIPT.lua") end
  if words[2] then return usage("unexpected argument " .. words[2]) end
  local f = io.open(script, "r")
  if not f then return usage("cannot read " .. script) end
  f:close()
  local flags = { outputs = {}, quiet = opts["--quiet"] }
  for _, name in ipairs({ "--vus", "--iterations" }) do
    if opts[name] then
      local n = tonumber(opts[name])
      if not n or n < 1 or n ~= math.floor(n) or n == math.huge then return usage(name .. " needs a whole number >= 1") end
      flags[name:sub(3)] = n
    end
  end
  if opts["--rate"] then
    local r = tonumber(opts["--rate"])
    if not r or r <= 0 or r == math.huge then return usage("--rate needs a number of iterations per second > 0") end
    flags.rate = r
  end
  if opts["--duration"] then
    local d, err = require("mcptest.load").duration(opts["--duration"], "--duration")
    if not d or d <= 0 then return usage(err or "--duration must be more than 0") end
    flags.duration = d
  end
  if flags.iterations and flags.duration then return usage("give --duration or --iterations, not both") end
  local stdout = 0
  for _, o in ipairs(opts["-o"] or {}) do
    local fmt, path = o:match("^([%w]+):(.+)$")
    fmt = fmt or o
    if not FORMATS[fmt] then return usage("unknown report format " .. o .. " (text, json, junit; FORMAT:PATH for a file)") end
    if not path then stdout = stdout + 1 end
    flags.outputs[#flags.outputs + 1] = { format = fmt, path = path }
  end
  if stdout > 1 then return usage("at most one -o format goes to stdout; give the others a :PATH") end
  if opts["--out"] then
    local path = opts["--out"]:match("^json=(.+)$")
    if not path then return usage("--out takes json=FILE (k6's JSON output)") end
    flags.out_json = path
  end
  if opts["--shard"] then
    local i, n = require("mcptest.load").parse_shard(opts["--shard"])
    if not i then return usage(n) end
    flags.shard = { i, n }
  end
  if opts["--start-at"] then
    local t, terr = require("mcptest.load").parse_time(opts["--start-at"])
    if not t then return usage(terr) end
    flags.start_at = t
  end
  local ok, err = common.apply_client_defaults(opts)
  if not ok then return usage(err) end
  return require("mcptest.load").execute(script, flags)
end

return M
