-- mcptest.cli.run: `mcptest run FILE...` and its implicit form
-- `mcptest SCRIPT.lua [ARGS...]`: run scripts in one report through the
-- runner (mcptest.runner), which is loaded only here, when a run starts.
local common = require("mcptest.cli.common")
local reporters = require("mcptest.runner.reporters")

local M = {
  name = "run",
  summary = "run Lua test scripts in one report (also: mcptest SCRIPT.lua)",
  usage = {
    "mcptest SCRIPT.lua [OPTIONS] [ARGS...]",
    "mcptest run FILE... [OPTIONS] [-- ARGS...]",
  },
  words = "files",
  help = [[
Runs busted-style scripts (describe, it, assert and the MCP matchers) or
plain scripts with top-level asserts, and reports every test. Options may
stand before or after the script. Plain words after SCRIPT.lua reach it in
the global arg table; a word starting with "-" that is not an option below
is a usage error; after "--" every word reaches the script(s).]],
  options = {
    { title = "Report",
      { "--output", "-o", arg = "FORMAT", repeatable = true, choices = reporters.names,
        what = "output format",
        help = "terminal (default: utf on a terminal, plain otherwise), plain, utf, tap, junit or json" },
      { "--output-file", arg = "F",
        help = "write the report to F instead of stdout (the terminal format is plain in a file)" },
    },
    { title = "Selection",
      { "--filter", arg = "P", repeatable = true,
        help = "run only tests whose full name matches the Lua pattern P (repeatable)" },
      { "--filter-out", arg = "P", repeatable = true,
        help = "skip tests whose full name matches P (repeatable)" },
      { "--tags", arg = "T", repeatable = true,
        help = "run only tests tagged #T in their name (comma list, repeatable)" },
      { "--exclude-tags", arg = "T", repeatable = true,
        help = "skip tests tagged #T (comma list, repeatable)" },
    },
    { title = "Running",
      { "--test-timeout", arg = "S",
        help = "time limit per test and per file's top-level code (default 600; 0: none)" },
      { "-j", arg = "N", help = "accepted; runs serially for now (a warning says so)" },
      { "--update-snapshots", help = "rewrite the stored snapshots the tests check (YAML `snapshot:`)" },
    },
    common.client_defaults,
  },
}

-- "a,b" repeated -> {"a","b"}
local function list_option(values)
  local out = {}
  for _, v in ipairs(values or {}) do
    for item in v:gmatch("[^,]+") do out[#out + 1] = item end
  end
  return out
end

-- opts, words from mcptest.cli.parse; pass: the scripts' arguments;
-- implicit: the `mcptest SCRIPT.lua` form (words is the script alone).
function M.main(opts, words, pass, implicit)
  local function usage(msg) return common.usage_error(msg, "run") end
  if #words == 0 then return usage(implicit and "no script given" or "run needs at least one FILE") end
  local ok, err = common.apply_client_defaults(opts)
  if not ok then return usage(err) end
  local outputs = opts["--output"] or {}
  if #outputs > 1 then
    return usage("-o given " .. #outputs .. " times: this build writes one report per run")
  end
  local test_timeout = 600
  if opts["--test-timeout"] then
    test_timeout = tonumber(opts["--test-timeout"])
    if not test_timeout or test_timeout < 0 or test_timeout ~= test_timeout then
      return usage("--test-timeout needs a number of seconds (0: no limit)")
    end
  end
  if opts["-j"] and opts["-j"] ~= "1" then
    io.stderr:write("mcptest: warning: -j ", opts["-j"], " is not supported yet; running serially\n")
  end
  if opts["--update-snapshots"] then require("mcptest.snapshot").update = true end
  return require("mcptest.runner").run(words, {
    output = outputs[1], output_file = opts["--output-file"],
    filter = opts["--filter"], filter_out = opts["--filter-out"],
    tags = list_option(opts["--tags"]), exclude_tags = list_option(opts["--exclude-tags"]),
    verbose = opts["--verbose"], args = pass, test_timeout = test_timeout,
  })
end

return M
