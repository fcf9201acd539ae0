-- mcptest.cli.serve: `mcptest serve`: the fixture server in the
-- foreground. The options are declared here; the verb itself is
-- mcptest.fixture.serve.main(opts, words), which reads opts["--port"],
-- opts["--config"], opts["--auto-approve"], opts["--token-ttl"],
-- opts["--verbose"], opts["--eras"], opts["--stdio"] and refuses any word.
local M = {
  name = "serve",
  summary = "run the fixture server (MCP + OAuth 2.1) in the foreground",
  usage = { "mcptest serve [--port N] [--config FILE] [--auto-approve] [--token-ttl S] [--eras E] [--stdio] [--verbose]" },
  help = [[
Serves the built-in fixture (an MCP server with an OAuth 2.1 authorization
server) on 127.0.0.1 and prints its base URL as the first line of stdout;
SIGINT or SIGTERM stop it (exit 0). See docs/fixture.md and
docs/oauth-fixture.md. Exit codes: 2 a bad flag or config, 3 the port
cannot be bound.]],
  options = {
    { title = "Fixture",
      { "--port", arg = "N", help = "listen on port N (default 8765; 0: any free port)" },
      { "--config", arg = "FILE", help = "settings from a YAML file (docs/fixture.md)" },
      { "--auto-approve", help = "approve OAuth consent without a page (headless tests)" },
      { "--token-ttl", arg = "S", help = "lifetime of issued access tokens in seconds (at least 1)" },
      { "--eras", arg = "E", choices = { "both", "modern", "legacy" },
        help = "protocol eras served: both (default), modern (2026-07-28 only) or legacy (2025-11-25 and older)" },
      { "--stdio", help = "serve MCP on stdin/stdout instead of HTTP (no OAuth), until end of input" },
      { "--verbose", "-v", help = "log every request and OAuth event on stderr" },
    },
  },
}

function M.main(opts, words)
  return require("mcptest.fixture.serve").main(opts, words)
end

return M
