-- mcptest.cli.compile: `mcptest compile SUITE.yaml`: print the Lua a YAML
-- suite compiles to (mcptest.suite), to read, keep and edit.
local common = require("mcptest.cli.common")

local M = {
  name = "compile",
  summary = "print the Lua a YAML suite compiles to",
  usage = { "mcptest compile SUITE.yaml" },
  help = [[
Checks the suite (every schema error at once, as FILE:LINE:COL: message,
exit 2) and prints the Lua it compiles to: one describe per suite, one it
per test, plain assert calls with the mcptest matchers, comments naming
the YAML lines. The output runs as it is (mcptest run suite_spec.lua) and
holds env-var names, never their values. `mcptest SUITE.yaml` and
`mcptest run SUITE.yaml` run the same code with failures pointing at the
YAML file and line. The suite format: docs/yaml.md.]],
  options = {},
}

function M.main(opts, words)
  if #words ~= 1 then
    return common.usage_error(#words == 0 and "compile needs a SUITE.yaml" or
      ("compile takes one SUITE.yaml, got " .. #words .. " words"), "compile")
  end
  local suite = require("mcptest.suite")
  local path = words[1]
  if not suite.is_suite(path) then
    return common.usage_error(path .. " is not a YAML suite (a .yaml or .yml file)", "compile")
  end
  local src, err = suite.lua(path)
  if not src then
    io.stderr:write(err, "\n")
    return 2
  end
  io.write(src)
  return 0
end

return M
