-- mcptest.runner.reporters: the report formats (`-o NAME`) and where a
-- report goes. Each name maps to a busted output handler (busted's own, or
-- mcptest's json handler beside this file); `attach` loads it into a
-- busted instance and points it at stdout or the report file. busted is
-- not required here until `attach` runs, so the CLI can read `names`.
local M = {}

-- The formats, in the order the help lists them.
M.names = { "terminal", "plain", "utf", "tap", "junit", "json" }

local handlers = {
  terminal = false, -- utf on a terminal, plain otherwise (and in a file)
  plain = "plainTerminal", utf = "utfTerminal",
  tap = "TAP", junit = "junit", json = "mcptest.runner.reporters.json",
}

local function terminal_handler()
  return require("mcptest.core.sys").isatty(1) and "utfTerminal" or "plainTerminal"
end

-- Load the handler for opts.output (default terminal) into busted, writing
-- to opts.output_file when given. Returns a function that ends the report
-- (restores stdout, closes the file), or nil and a message.
function M.attach(busted, opts)
  local name = opts.output or "terminal"
  local handler = handlers[name]
  if handler == nil then
    return nil, "unknown output format " .. tostring(name) .. " (valid: " .. table.concat(M.names, ", ") .. ")"
  end
  if handler == false then
    -- colours only on a terminal, never into a file
    handler = opts.output_file and "plainTerminal" or terminal_handler()
  end

  -- a report file that cannot be written is a usage error for every format
  -- (busted's junit handler, which opens the file itself, would quietly
  -- fall back to stdout); other formats write through io.output
  local out_file, saved_output
  if opts.output_file then
    out_file = io.open(opts.output_file, "w")
    if not out_file then return nil, "cannot write the report to " .. opts.output_file end
    if handler == "junit" then
      out_file:close()
      out_file = nil
    else
      saved_output = io.output()
      io.output(out_file)
    end
  end

  require("busted.modules.output_handler_loader")()(busted, handler, {
    defaultOutput = terminal_handler(),
    verbose = opts.verbose,
    suppressPending = false,
    language = "en",
    deferPrint = false,
    arguments = handler == "junit" and opts.output_file and { opts.output_file } or {},
  })

  return function()
    if out_file then
      io.output(saved_output)
      out_file:close()
    end
  end
end

return M
