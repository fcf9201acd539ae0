-- mcptest: the module test scripts require.
--   local mcp = require("mcptest")
--   local c = mcp.connect{ command = {"node", "server.js"} }
-- See docs/lua-api.md for every function and field.
local errors = require("mcptest.errors")
local json = require("mcptest.json")

local M = {
  json = json,
  Error = errors.Error,
  is_error = errors.is,
  null = json.null,
}

-- Concatenated text of a tool result's (or prompt message's) text content.
function M.text(result)
  if type(result) ~= "table" then return nil end
  local content = result.content
  if type(content) ~= "table" then return nil end
  if content.type then content = { content } end
  local parts = {}
  for _, item in ipairs(content) do
    if type(item) == "table" and item.type == "text" then parts[#parts + 1] = tostring(item.text) end
  end
  return table.concat(parts)
end

local function check_options(opts)
  if type(opts) ~= "table" then
    errors.raise("usage", "mcp.connect expects a table, e.g. mcp.connect{command = {\"node\", \"server.js\"}}")
  end
  if (opts.command == nil) == (opts.url == nil) then
    errors.raise("usage", "mcp.connect needs exactly one of command (stdio) or url (HTTP)")
  end
end

-- Connect and start a session. Raises mcptest.Error on failure.
function M.connect(opts)
  check_options(opts)
  local client = require("mcptest.client")
  local lifecycle = require("mcptest.lifecycle")
  local transport
  if opts.command then
    transport = require("mcptest.transport.stdio").open(opts)
  else
    transport = require("mcptest.transport.http").open(opts)
  end
  local c = client.new(transport, opts)
  if opts.url then -- HTTP: session events, and how to start a new session after a 404
    c.events = transport.events
    transport.restart_session = function()
      lifecycle.initialize(c, opts)
      c.session_id = transport.session_id
    end
  end
  local ok, err = pcall(lifecycle.initialize, c, opts)
  if not ok then
    c:close()
    if errors.is(err) and err.kind ~= "usage" and err.kind ~= "auth"
       and not tostring(err.message):find(transport.description, 1, true) then
      err.message = "cannot start an MCP session with " .. transport.description .. ": " .. err.message
    end
    error(err, 0)
  end
  c.session_id = transport.session_id
  return c
end

-- mcp.http.request{ method=, url=, headers=, body=, timeout=, tls= }: raw HTTP
-- (lower-case response header names), loaded on first use.
M.http = { request = function(o) return require("mcptest.http").request(o) end }

-- mcp.fixture.start{...}: the fixture server (lua/mcptest/fixture/init.lua),
-- loaded on first use so scripts that do not need it start fast.
M.fixture = setmetatable({}, { __index = function(_, k)
  return require("mcptest.fixture")[k]
end })

return M
