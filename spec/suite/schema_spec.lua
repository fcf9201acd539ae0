-- YAML suites, part 2: the schema is checked before anything compiles or
-- runs, and every error comes at once as FILE:LINE:COL: message (exit 2).
local BIN = os.getenv("MCPTEST_BIN") or "build/mcptest"
local SRC = os.getenv("MCPTEST_SRC") or "."
local loader = require("mcptest.suite.load")
local schema = require("mcptest.suite.schema")

local function run(args)
  local out, err = os.tmpname(), os.tmpname()
  local _, _, code = os.execute(string.format("cd %s && %s %s >%s 2>%s", SRC, BIN, args, out, err))
  local function slurp(p) local f = io.open(p); local s = f:read("a"); f:close(); os.remove(p); return s end
  return code, slurp(out), slurp(err)
end

-- the errors of a suite text as "LINE:COL: message" lines
local function check(text)
  local s, errs = loader.text(text, "t.test.yaml")
  local list = {}
  for _, e in ipairs(s and schema.check(s) or errs) do
    list[#list + 1] = e.line .. ":" .. e.column .. ": " .. e.message
  end
  return list
end

describe("suite schema", function()
  it("reports every error of a file at once, at its line and column, exit 2, and runs nothing", function()
    local file = "spec/data/suite/bad.test.yaml"
    for _, verb in ipairs({ "compile ", "run ", "" }) do
      local code, out, err = run(verb .. file)
      assert.equals(2, code)
      assert.equals("", out)
      local lines = {}
      for l in err:gmatch("[^\n]+") do lines[#lines + 1] = l:match("^[^:]+:(%d+:%d+):") end
      assert.same({ "6:7", "10:57", "13:31", "17:5", "21:14", "22:5", "25:13", "31:26", "34:26", "38:15" }, lines)
      assert.matches(file .. ":6:7: `bearer_token` in servers.api.auth would hold a secret", err, 1, true)
      assert.matches("name it with `bearer_token_env: VAR`", err, 1, true)
      assert.matches(":10:57: `client_secret` in servers.oauthy.auth.oauth would hold a secret", err, 1, true)
      assert.matches("`client_secret_env: VAR`", err, 1, true)
      assert.matches(":13:31: `bearer_token_env` in servers.envy.auth names an environment variable", err, 1, true)
      assert.matches(":17:5: unknown key `tol` in tests[1] (typo); did you mean `tool`?", err, 1, true)
      assert.matches(":21:14: `timeout` in tests[2] (wrong type) must be a number, got a string", err, 1, true)
      assert.matches(":22:5: tests[3] needs `name:`", err, 1, true)
      assert.matches(":25:13: unknown server `apj` in tests[4] (unknown server); did you mean `api`?", err, 1, true)
      assert.matches(":31:26: `{{ steps.later.text }}` in tests[5] (steps).steps[1] refers to step `later`,"
        .. " which comes later (line 32)", err, 1, true)
      assert.matches(":34:26: `{{ steps.nowhere.result.x }}` in tests[5] (steps).steps[2] refers to step"
        .. " `nowhere`, which does not exist", err, 1, true)
      assert.matches(":38:15: unknown key `txt` in tests[6] (expect typo).expect; did you mean `text`?", err, 1, true)
      -- the inline secrets themselves are never repeated
      assert.is_nil(err:find("abc123", 1, true))
      assert.is_nil(err:find("s3cret", 1, true))
      assert.is_nil(err:find("eyJhbGciOi", 1, true))
    end
  end)

  it("refuses a file that is not a suite, with no tests, or with tests that are not mappings", function()
    assert.same({ "1:1: a suite is a mapping with `servers:` and `tests:`, got a list" }, check("- a\n- b\n"))
    assert.same({ "1:1: the suite needs `tests:`, a list of tests" }, check("name: x\n"))
    assert.same({ "2:5: tests[1] must be a mapping (a test), got a string" }, check("tests:\n  - echo\n"))
    assert.same({ "1:1: a suite is a mapping with `servers:` and `tests:`, got an empty file" }, check(""))
  end)

  it("checks servers: one of url/command/fixture, command a list, routes, protocols, headers", function()
    local errs = check([[
servers:
  a: { url: "http://x", command: [node] }
  b: { command: "node server.js" }
  c: { fixture: true, route: /mcp/nope }
  d: { url: "http://x", protocol: 2025-01-01 }
  e: { url: "http://x", headers: { Authorization: "Bearer abc" } }
  f: { url: "http://x", headers: { Authorization: "Bearer ${TOKEN}" } }
  g:
tests: []
]])
    assert.same({
      "2:6: servers.a needs exactly one of `url`, `command` (a list) or `fixture: true` (it has several)",
      "3:17: `command` in servers.b must be a list, got a string",
      "4:30: unknown fixture route `/mcp/nope` in servers.c (/mcp/open, /mcp/bearer-token, /mcp/oauth or /legacy/sse)",
      "5:35: unknown protocol `2025-01-01` in servers.d (auto, 2026-07-28, 2025-11-25, 2025-06-18, 2025-03-26 or 2024-11-05)",
      "6:51: the Authorization header in servers.e holds a literal credential; write `Bearer ${VAR}` or use `auth: {bearer_token_env: VAR}`",
      "8:5: servers.g must be a mapping (url:, command: or fixture:) or the name of a registered server, got an empty value",
    }, errs)
  end)

  it("checks path checks and regular expressions (PCRE2) where they stand", function()
    assert.same({
      "5:55: `matches` in tests[1] (a).expect.path: bad regular expression at character 3: missing closing parenthesis",
      "5:72: unknown key `id` in tests[1] (a).expect.path[$.y] (allowed: equals, exists, length, type, matches)",
      "6:24: `matches` in tests[1] (a).expect: bad regular expression at character 1: quantifier does not follow a repeatable item",
    }, check([[
servers: { s: { url: "http://x" } }
tests:
  - name: a
    tool: echo
    expect: { path: { "$.x": { type: string, matches: "a(" }, "$.y": { id: 1 } },
              matches: "*" }
]]))
  end)

  it("checks auth blocks: a grant is needed and known, env names are names", function()
    local errs = check([[
servers:
  a: { url: "http://x", auth: { oauth: { client_id: x } } }
  b: { url: "http://x", auth: { oauth: { grant: client_credential } } }
  c: { url: "http://x", auth: { bearer_token_env: "my token" } }
  d: { url: "http://x", auth: { oauth: { grant: jwt_bearer, idp: { id_token: abc } } } }
  e: { url: "http://x", auth: { bearer_token_env: ghp_16C7e42F292c6912E7710c838347Ae178B4a } }
  f: { url: "http://x", auth: { bearer_token_env: a8Kq2LmZ9xT4vB7nR1wPq3 } }
  g: { url: "http://x", auth: { bearer_token_env: MCP_TOKEN_2 } }
tests: []
]])
    assert.equals(6, #errs)
    assert.matches("^6:51: `bearer_token_env` in servers.e.auth names an environment variable .* this looks like a secret", errs[5])
    assert.matches("^7:51: `bearer_token_env` in servers.f.auth names an environment variable .* this looks like a secret", errs[6])
    for _, e in ipairs(errs) do assert.is_nil(e:find("16C7e42F", 1, true)) end
    assert.matches("^2:40: servers.a.auth.oauth needs `grant`", errs[1])
    assert.matches("^3:49: unknown grant `client_credential` in servers.b.auth.oauth; did you mean `client_credentials`?", errs[2])
    assert.matches("^4:51: `bearer_token_env` in servers.c.auth names an environment variable", errs[3])
    assert.matches("^5:68: `id_token` in servers.d.auth.oauth.idp would hold a secret", errs[4])
  end)

  it("checks actions and expectations: one action, known lists, what goes with what", function()
    local errs = check([[
servers: { s: { url: "http://x" } }
tests:
  - { name: a, tool: echo, list: tools }
  - { name: b, list: tool }
  - { name: c, tool: echo, expect: { count: 2 } }
  - { name: d, tool: echo, expect: { error: { code: -1 }, text: x } }
  - { name: e, tool: echo, expect: { path: { "content": 1, "$.a[?(@.b)]": 2 } } }
  - { name: f, tool: echo, expect: { matches: "^x", error: { code: 1 } } }
  - { name: a, params: {} }
  - { name: g, tool: echo, expect: { schema: { items: { unevaluatedItems: false } } } }
  - { name: h, list: tools, expect: { output_schema: true } }
]])
    assert.same({
      "3:28: tests[1] (a) has several actions (tool, list); give one per test or step (use steps:)",
      "4:22: unknown list `tool` in tests[2] (b); did you mean `tools`?",
      "5:38: `count` in tests[3] (c).expect counts the items of a `list:` action",
      "6:59: `text` in tests[4] (d).expect checks a result, but `error` expects the request to fail",
      "7:46: path `content` in tests[5] (e).expect must start with $ (JSONPath, e.g. $.content[0].text)",
      "7:60: path `$.a[?(@.b)]` in tests[5] (e).expect: filters ([?...]) are not supported at column 5 of $.a[?(@.b)]",
      "8:38: `matches` in tests[6] (f).expect checks a result, but `error` expects the request to fail",
      "9:5: tests[7] (a) needs an action: tool, request, list, read, prompt or complete, or steps, or lua",
      "9:13: two tests are named `a` (the other at line 3)",
      "9:16: `params` in tests[7] (a) goes with `request`",
      "10:46: `schema` in tests[8] (g).expect: #/items/unevaluatedItems: `unevaluatedItems` (the unevaluated vocabulary) is not supported",
      "11:39: `output_schema` in tests[9] (h).expect goes with a `tool:` action",
    }, errs)
  end)
end)
