-- mcptest.cli.mcp_server: `mcptest mcp-server`: mcptest as a stdio MCP
-- server for coding agents (docs/mcp-server.md). The engine of
-- mcptest.server over its stdio transport, serving the catalog of
-- mcptest.cli.mcp_tools. stdout carries JSON-RPC only: everything else a
-- module would write with io.write goes to stderr.
local common = require("mcptest.cli.common")

local M = {
  name = "mcp-server",
  summary = "serve mcptest's tools to coding agents over stdio (MCP)",
  usage = { "mcptest mcp-server [--verbose]" },
  help = [[
Reads newline-delimited JSON-RPC on stdin and answers on stdout (the MCP
stdio transport) until stdin ends. Tools: list_tools, call_tool, doctor,
run_suite, auth_status, propose_assertions, scaffold_suite; resources: the
docs pages; prompt: write_suite. Each tool takes url or command (the server
to test) and bearer_token_env (a variable NAME). See docs/mcp-server.md.
Exit codes: 0 stdin ended; 2 usage.]],
  options = {
    { title = "Options",
      { "--verbose", "-v", help = "print every JSON-RPC message the tools' clients send and receive on stderr" } },
  },
}

function M.main(opts, words)
  if words[1] then return common.usage_error("unexpected argument " .. words[1], "mcp-server") end
  local out = io.stdout
  io.output(io.stderr) -- a stray io.write must not corrupt the protocol stream
  if opts["--verbose"] then require("mcptest.client").default_verbose = true end
  local protocol = require("mcptest.protocol")
  local server = require("mcptest.server")
  local srv = server.new{
    catalog = require("mcptest.cli.mcp_tools").catalog{},
    server_info = protocol.server_info("mcptest", "mcptest"),
    label = "mcptest-mcp-server",
    log_prefix = "mcptest mcp-server",
  }
  require("mcptest.server.stdio").new(srv, { output = out }):run()
  return 0
end

return M
