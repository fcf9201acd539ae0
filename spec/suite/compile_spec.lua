-- YAML suites, parts 3-4: the compiler. Golden output for every construct,
-- generated Lua that parses and runs as it is, every expectation kind
-- failing with expected, actual and the YAML file:line, reports naming the
-- YAML file, `only:` refused under CI, and no secret in the output.
local BIN = os.getenv("MCPTEST_BIN") or "build/mcptest"
local SRC = os.getenv("MCPTEST_SRC") or "."
local json = require("mcptest.json")

local function slurp(p) local f = assert(io.open(p)); local s = f:read("a"); f:close(); return s end

local function run(args, env)
  local out, err = os.tmpname(), os.tmpname()
  local _, _, code = os.execute(string.format("cd %s && %s%s %s >%s 2>%s", SRC, env or "", BIN, args, out, err))
  local o, e = slurp(out), slurp(err)
  os.remove(out); os.remove(err)
  return code, o, e
end

local DATA = "spec/data/suite/"

describe("suite compiler", function()
  it("prints the golden Lua for every construct, and it parses", function()
    local code, out, err = run("compile " .. DATA .. "constructs.test.yaml")
    assert.equals(0, code, err)
    assert.equals(slurp(SRC .. "/" .. DATA .. "constructs.expected.lua"), out)
    assert.truthy(load(out, "=constructs", "t"))
  end)

  it("compiles every suite of the repository to Lua that parses (luac -p)", function()
    local p = io.popen("cd " .. SRC .. " && ls examples/*.test.yaml " .. DATA .. "*.test.yaml")
    local n = 0
    for file in p:lines() do
      if not file:match("bad%.test%.yaml$") then
        local code, out, err = run("compile " .. file)
        assert.equals(0, code, file .. ": " .. err)
        local fn, perr = load(out, "=" .. file, "t")
        assert(fn, perr)
        n = n + 1
      end
    end
    p:close()
    assert.is_true(n >= 3)
  end)

  it("runs the compiled Lua as a script, with the same outcome as the suite", function()
    local lua = os.tmpname() .. "_spec.lua"
    local code, out = run("compile examples/fixture_echo.test.yaml")
    assert.equals(0, code)
    local f = assert(io.open(lua, "w")); f:write(out); f:close()
    local c1, o1 = run("run " .. lua)
    local c2, o2 = run("examples/fixture_echo.test.yaml")
    os.remove(lua)
    assert.equals(0, c1, o1); assert.equals(0, c2, o2)
    assert.matches("7 passed, 0 failed, 0 errored, 1 skipped", o1, 1, true)
    assert.matches("7 passed, 0 failed, 0 errored, 1 skipped", o2, 1, true)
  end)

  it("fails each expectation kind with expected, actual and the YAML line", function()
    local code, out = run(DATA .. "failing.test.yaml -o tap")
    assert.equals(1, code)
    local F = DATA .. "failing.test.yaml:"
    local want = {
      { 9, "Expected the tool result to be an error (isError = true), but it was:", '"text":"hi"' },
      { 13, 'Expected the result text to equal "HI"', 'but it was "hi"' },
      { 18, 'Expected the result text to contain "x"', 'but it was "hi"' },
      { 22, 'Expected the result text not to contain "i"', 'but it was "hi"' },
      { 27, 'Expected the value at $.content[0].type to equal "image"', 'but it was "text"' },
      { 32, "Expected a value at $.structuredContent", "but nothing matched in" },
      { 37, "Expected the value at $.content[0].text to have length 3", 'but it was "hi" (length 2)' },
      { 42, 'Expected the value at $.content to be of JSON type "object"', "(array)" },
      { 47, "expected tools/call to fail, but it succeeded", "(boolean) true" },
      { 51, "Expected an mcptest error with code -32602", "but got jsonrpc error -32601" },
      { 55, 'Expected an mcptest error whose message contains "zebra"', "but got jsonrpc error -32601" },
      { 59, "Expected to take at most 50 ms", "but it took" },
      { 62, "Expected objects to be equal.", "(number) 2" },
      { 65, 'Expected the tool list to contain "nope"', "but it had: ping, echo" },
      { 70, 'Expected the result text to equal "ho"', 'but it was "hi"' },
      { 75, "Expected the value to match the JSON Schema",
        'but at $: the required property "structuredContent" is missing (schema #/required)' },
      { 79, "Expected the structuredContent of tool echo to match its outputSchema",
        "but tool echo declares no outputSchema in tools/list" },
      { 83, 'Expected the result text to match the regular expression "^h.*x$"', 'but it was "hello"' },
      { 88, 'Expected the value at $.content[0].text to be a string matching the regular expression "^[0-9]+$"',
        'but it was "hello"' },
    }
    assert.matches("1..19", out, 1, true)
    assert.is_nil(out:find("\nok ", 1, true))
    for _, w in ipairs(want) do
      assert.matches(F .. w[1] .. ": " .. w[2], out, 1, true)
      assert.matches(w[3], out, 1, true)
    end
  end)

  it("puts the YAML file and line in every report format", function()
    local _, out = run(DATA .. "failing.test.yaml -o json --filter-pattern '^failing.test.yaml text$'")
    local report = json.decode(out)
    local f = report.failures[1]
    assert.equals(DATA .. "failing.test.yaml", f.file)
    assert.equals(10, f.line)
    assert.matches(DATA .. "failing.test.yaml:13: Expected the result text", f.message, 1, true)
    local _, junit = run(DATA .. "failing.test.yaml -o junit --filter-pattern '^failing.test.yaml text$'")
    assert.matches('file="' .. DATA .. 'failing.test.yaml" line="10"', junit, 1, true)
    assert.matches('<failure message="' .. DATA .. 'failing.test.yaml:13: Expected the result text', junit, 1, true)
  end)

  it("points a `lua:` snippet that does not parse at its YAML line (exit 2)", function()
    local path = os.tmpname() .. ".test.yaml"
    local f = assert(io.open(path, "w"))
    f:write("servers: { fx: { fixture: true } }\ntests:\n  - name: broken\n    lua: |\n      local x = \n      assert(x\n")
    f:close()
    local code, _, err = run(path)
    os.remove(path)
    assert.equals(2, code)
    -- the parser notices at the next statement, on the line after
    assert.matches(path .. ":7: ')' expected (to close '(' at line 6)", err, 1, true)
  end)

  it("exits 3 for a server it cannot reach, naming the server's YAML line", function()
    local path = os.tmpname() .. ".test.yaml"
    local f = assert(io.open(path, "w"))
    f:write('servers:\n  a: { url: "http://127.0.0.1:1/mcp" }\ntests:\n  - { name: t, tool: ping }\n')
    f:close()
    local code, out, err = run(path)
    os.remove(path)
    assert.equals(3, code)
    assert.matches(path .. ":2: transport error: cannot start an MCP session", out, 1, true)
    assert.matches("could not reach the server outside any test", err, 1, true)
  end)

  it("runs only the `only:` test locally and refuses a committed `only:` under CI", function()
    local path = os.tmpname() .. ".test.yaml"
    local f = assert(io.open(path, "w"))
    f:write("servers: { fx: { fixture: true } }\ntests:\n  - { name: one, tool: ping }\n"
      .. "  - { name: two, tool: ping, only: true }\n")
    f:close()
    local code, out = run(path, "CI= ")
    assert.equals(0, code, out)
    assert.matches("1 passed, 0 failed", out, 1, true)
    local code2, out2 = run(path, "CI=true ")
    os.remove(path)
    assert.equals(1, code2)
    assert.matches(path .. ":4:36: `only: true` is committed and CI is set; remove it", out2, 1, true)
  end)

  it("never copies a secret into the Lua: env vars are named, not read", function()
    local code, out = run("compile " .. DATA .. "constructs.test.yaml",
      "MCP_TOKEN=tok-SECRET-1 CI_SECRET=cs-SECRET-2 FIXTURE_TOKEN=fx-SECRET-3 ")
    assert.equals(0, code)
    assert.is_nil(out:find("-SECRET-", 1, true))
    assert.matches('bearer_token_env = "MCP_TOKEN"', out, 1, true)
    assert.matches('client_secret_env = "CI_SECRET"', out, 1, true)
  end)
end)
