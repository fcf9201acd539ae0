-- mcptest.matchers: luassert assertions for MCP results. Loaded by the
-- runner, so scripts just use them:
--   assert.tool_ok(result)                 result.isError is not true
--   assert.text_equals(result, "HELLO")    text content, concatenated
--   assert.text_contains(result, "ELL")
--   assert.text_matches(result, "^H%u+$")  a Lua pattern
--   assert.text_matches_regex(result, "^H.+O$")   a PCRE2 regular expression
--   assert.has_tool(tools, "echo")         a tools/list array holds the name
--   assert.field_equals(value, "a.b[1].c", expected)   a field at a path
--   assert.error_code(err, -32601)         an mcptest.Error with that code
--   assert.input_rounds(c, 1)              the client's last request took that
--                                          many input_required rounds (2026-07-28)
--   assert.error_message_contains(err, "unknown tool")   its message holds the text
--   assert.resource_not_found(err[, uri])  resources/read's not-found, either era's code
--   assert.path_equals(value, "$.content[0].type", "text")   JSONPath (mcptest.jsonpath):
--   assert.path_exists(value, "$.structuredContent.id")      one node: its value; several:
--   assert.path_length(value, "$.content", 2)                the list of values
--   assert.path_type(value, "$.content", "array")    string number integer boolean null array object
--   assert.path_matches(value, "$.content[0].text", "^h")   a string there, PCRE2
--   assert.at_most_ms(500, seconds)        a duration (mcp.now() differences) within a limit
--   assert.matches_snapshot(value, file, key)   mcptest.snapshot: equal to the stored copy
--   assert.matches_schema(value, schema)   JSON Schema 2020-12 (mcptest.jsonschema)
--   assert.matches_output_schema(result, c, tool)   structuredContent against the
--                                          outputSchema tool declares in c:list_tools()
--   assert.skill_verifies(c, entry)        c:load_skill(entry) verifies every file
--   assert.skills_verify(c)                every skill c:list_skills() lists verifies
--   assert.skill_fails_check(c, entry, "digest")   loading it fails that check
--                                          (size, digest, frontmatter, entry, missing)
-- Each has a negated form: assert.is_not.tool_ok(result), ...
local assert = require("luassert")
local say = require("say")
local mcp_text = require("mcptest").text

local M = {}

local function show(v)
  if type(v) == "string" then return string.format("%q", v) end
  if type(v) == "table" then
    local ok, s = pcall(require("mcptest.json").encode, v)
    if ok then return #s > 2000 and s:sub(1, 2000) .. "..." or s end
  end
  return tostring(v)
end
M.show = show

-- Register name with messages; fn(args) -> ok, shown_actual
local function register(name, positive, negative, fn)
  say:set("assertion." .. name .. ".positive", positive)
  say:set("assertion." .. name .. ".negative", negative)
  assert:register("assertion", name, function(_, arguments)
    local ok, actual = fn(arguments)
    -- what the messages print: the expectation, then what was found
    arguments[1] = show(arguments[2])
    arguments[2] = actual
    arguments.n = 2
    arguments.nofmt = { true, true }
    return ok
  end, "assertion." .. name .. ".positive", "assertion." .. name .. ".negative")
end

local function result_text(r)
  return mcp_text(r)
end

say:set("assertion.tool_ok.positive", "Expected the tool result not to be an error, but it was:\n%s")
say:set("assertion.tool_ok.negative", "Expected the tool result to be an error (isError = true), but it was:\n%s")
assert:register("assertion", "tool_ok", function(_, arguments)
  local r = arguments[1]
  arguments[1] = show(r)
  arguments.n = 1
  arguments.nofmt = { true }
  return type(r) == "table" and r.isError ~= true
end, "assertion.tool_ok.positive", "assertion.tool_ok.negative")

register("text_equals",
  "Expected the result text to equal %s\nbut it was %s",
  "Expected the result text not to equal %s\nbut it did: %s",
  function(a)
    local t = result_text(a[1])
    return t == a[2], show(t)
  end)

register("text_contains",
  "Expected the result text to contain %s\nbut it was %s",
  "Expected the result text not to contain %s\nbut it was %s",
  function(a)
    local t = result_text(a[1])
    return t ~= nil and t:find(tostring(a[2]), 1, true) ~= nil, show(t)
  end)

register("text_matches",
  "Expected the result text to match the pattern %s\nbut it was %s",
  "Expected the result text not to match the pattern %s\nbut it was %s",
  function(a)
    local t = result_text(a[1])
    return t ~= nil and t:match(tostring(a[2])) ~= nil, show(t)
  end)

register("text_matches_regex",
  "Expected the result text to match the regular expression %s\nbut it was %s",
  "Expected the result text not to match the regular expression %s\nbut it was %s",
  function(a)
    local t = result_text(a[1])
    return t ~= nil and require("mcptest.regex").test(tostring(a[2]), t), show(t)
  end)

register("has_tool",
  "Expected the tool list to contain %s\nbut it had: %s",
  "Expected the tool list not to contain %s\nbut it had: %s",
  function(a)
    local names, found = {}, false
    local list = a[1]
    if type(list) == "table" and list.tools then list = list.tools end
    for _, t in ipairs(type(list) == "table" and list or {}) do
      local n = type(t) == "table" and t.name or t
      names[#names + 1] = tostring(n)
      if n == a[2] then found = true end
    end
    return found, table.concat(names, ", ")
  end)

-- "a.b[1].c" or "a.b.1.c" -> {"a","b",1,"c"}
local function split_path(path)
  local keys = {}
  for part in tostring(path):gsub("%[(%d+)%]", ".%1"):gmatch("[^%.]+") do
    keys[#keys + 1] = tonumber(part) and math.tointeger(tonumber(part)) or part
  end
  return keys
end

function M.get_path(value, path)
  for _, k in ipairs(split_path(path)) do
    if type(value) ~= "table" then return nil end
    value = value[k]
  end
  return value
end

local function deep_equal(a, b)
  if a == b then return true end
  if type(a) ~= "table" or type(b) ~= "table" then return false end
  for k, v in pairs(a) do if not deep_equal(v, b[k]) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end

say:set("assertion.field_equals.positive", "Expected the field at %s to equal %s\nbut it was %s")
say:set("assertion.field_equals.negative", "Expected the field at %s not to equal %s\nbut it was %s")
assert:register("assertion", "field_equals", function(_, arguments)
  local actual = M.get_path(arguments[1], arguments[2])
  local ok = deep_equal(actual, arguments[3])
  arguments[1], arguments[2], arguments[3] = tostring(arguments[2]), show(arguments[3]), show(actual)
  arguments.n = 3
  arguments.nofmt = { true, true, true }
  return ok
end, "assertion.field_equals.positive", "assertion.field_equals.negative")

register("error_code",
  "Expected an mcptest error with code %s\nbut got %s",
  "Expected an error without code %s\nbut got %s",
  function(a)
    local e = a[1]
    return type(e) == "table" and e.code == a[2], tostring(e)
  end)

register("input_rounds",
  "Expected the last request to take %s input_required rounds\nbut it took %s",
  "Expected the last request not to take %s input_required rounds\nbut it took %s",
  function(a)
    local rounds = type(a[1]) == "table" and a[1].input_rounds or {}
    local asked = {}
    for i, r in ipairs(rounds) do
      local methods = {}
      for _, req in pairs(type(r.inputRequests) == "table" and r.inputRequests or {}) do
        methods[#methods + 1] = tostring(type(req) == "table" and req.method)
      end
      table.sort(methods)
      asked[i] = table.concat(methods, "+")
    end
    return #rounds == a[2], #rounds .. (#asked > 0 and (" (" .. table.concat(asked, ", ") .. ")") or "")
  end)

register("resource_not_found",
  "Expected a resource-not-found error (-32002, or -32602 with data.uri) for %s\nbut got %s",
  "Expected an error other than resource-not-found for %s\nbut got %s",
  function(a)
    local e = a[1]
    local ok = type(e) == "table" and e.resource_not_found == true
    if ok and a[2] ~= nil then
      local uri = type(e.data) == "table" and e.data.uri
      ok = uri == nil or uri == a[2] -- -32002 may name no uri
    end
    if a[2] == nil then a[2] = "any URI" end
    return ok, tostring(e)
  end)

register("error_message_contains",
  "Expected an mcptest error whose message contains %s\nbut got %s",
  "Expected an error whose message does not contain %s\nbut got %s",
  function(a)
    local e = a[1]
    local msg = type(e) == "table" and e.message or e
    return type(msg) == "string" and msg:find(tostring(a[2]), 1, true) ~= nil, tostring(e)
  end)

local function json_type(v)
  local json = require("mcptest.json")
  if v == nil or v == json.null then return "null" end
  local t = type(v)
  if t == "table" then return (json.is_array(v) or (#v > 0 and next(v, #v) == nil)) and "array" or "object" end
  if t == "number" then return math.type(v) == "integer" and "integer" or "number" end
  return t
end
M.json_type = json_type

-- the nodes a query selects, and the value they stand for: one node's
-- value, or the list of values when there are several
local function select_path(value, query)
  local nodes = require("mcptest.jsonpath").query(value, query)
  if #nodes == 1 then return nodes, nodes[1] end
  return nodes, nodes
end

local function path_register(name, positive, negative, fn)
  say:set("assertion." .. name .. ".positive", positive)
  say:set("assertion." .. name .. ".negative", negative)
  assert:register("assertion", name, function(_, arguments)
    local nodes, v = select_path(arguments[1], arguments[2])
    local ok, actual = fn(nodes, v, arguments[3])
    arguments[1], arguments[2], arguments[3] = tostring(arguments[2]), show(arguments[3]), actual
    arguments.n = 3
    arguments.nofmt = { true, true, true }
    return ok
  end, "assertion." .. name .. ".positive", "assertion." .. name .. ".negative")
end

local function found(nodes, v)
  if #nodes == 0 then return "nothing (no node matched)" end
  return show(v)
end

path_register("path_equals",
  "Expected the value at %s to equal %s\nbut it was %s",
  "Expected the value at %s not to equal %s\nbut it was %s",
  function(nodes, v, want) return #nodes > 0 and deep_equal(v, want), found(nodes, v) end)

path_register("path_length",
  "Expected the value at %s to have length %s\nbut it was %s",
  "Expected the value at %s not to have length %s\nbut it was %s",
  function(nodes, v, want)
    local n
    if #nodes == 1 and type(v) == "string" then n = utf8.len(v) or #v
    elseif #nodes == 1 and type(v) == "table" then
      n = 0
      for _ in pairs(v) do n = n + 1 end
    end
    return n == want, found(nodes, v) .. (n and (" (length " .. n .. ")") or "")
  end)

path_register("path_type",
  "Expected the value at %s to be of JSON type %s\nbut it was %s",
  "Expected the value at %s not to be of JSON type %s\nbut it was %s",
  function(nodes, v, want)
    local t = #nodes == 1 and json_type(v) or nil
    local ok = t == want or (want == "number" and t == "integer")
    return ok, found(nodes, v) .. (t and (" (" .. t .. ")") or "")
  end)

path_register("path_matches",
  "Expected the value at %s to be a string matching the regular expression %s\nbut it was %s",
  "Expected the value at %s not to match the regular expression %s\nbut it was %s",
  function(nodes, v, re)
    return #nodes == 1 and require("mcptest.regex").test(re, v), found(nodes, v)
  end)

say:set("assertion.path_exists.positive", "Expected a value at %s\nbut nothing matched in %s")
say:set("assertion.path_exists.negative", "Expected nothing at %s\nbut found %s")
assert:register("assertion", "path_exists", function(_, arguments)
  local nodes, v = select_path(arguments[1], arguments[2])
  local doc = arguments[1]
  arguments[1] = tostring(arguments[2])
  arguments[2] = #nodes > 0 and show(v) or show(doc)
  arguments.n = 2
  arguments.nofmt = { true, true }
  return #nodes > 0
end, "assertion.path_exists.positive", "assertion.path_exists.negative")

say:set("assertion.at_most_ms.positive", "Expected to take at most %s ms\nbut it took %s ms")
say:set("assertion.at_most_ms.negative", "Expected to take more than %s ms\nbut it took %s ms")
assert:register("assertion", "at_most_ms", function(_, arguments)
  local limit, took = arguments[1], (tonumber(arguments[2]) or 0) * 1000
  arguments[2] = string.format("%.1f", took)
  arguments.n = 2
  arguments.nofmt = { true, true }
  return took <= limit
end, "assertion.at_most_ms.positive", "assertion.at_most_ms.negative")

say:set("assertion.matches_schema.positive", "Expected the value to match the JSON Schema\nbut %s\nvalue: %s")
say:set("assertion.matches_schema.negative", "Expected the value not to match the JSON Schema\nbut it did: %s")
assert:register("assertion", "matches_schema", function(_, arguments)
  local value = arguments[1]
  local ok, msg = require("mcptest.jsonschema").validate(arguments[2], value)
  arguments[1] = msg or show(value)
  arguments[2] = show(value)
  arguments.n = 2
  arguments.nofmt = { true, true }
  return ok
end, "assertion.matches_schema.positive", "assertion.matches_schema.negative")

-- a client's tools, listed once per client (weak: a closed client goes)
local tool_lists = setmetatable({}, { __mode = "k" })
say:set("assertion.matches_output_schema.positive", "Expected the structuredContent of %s to match its outputSchema\nbut %s")
say:set("assertion.matches_output_schema.negative", "Expected the structuredContent of %s not to match its outputSchema\nbut it did: %s")
assert:register("assertion", "matches_output_schema", function(_, arguments)
  local r, c, name = arguments[1], arguments[2], arguments[3]
  local tools = tool_lists[c]
  if not tools then
    tools = c:list_tools()
    tool_lists[c] = tools
  end
  local ok, msg = false, nil
  local declared
  for _, t in ipairs(tools) do if t.name == name then declared = t.outputSchema end end
  if declared == nil then
    msg = "tool " .. tostring(name) .. " declares no outputSchema in tools/list"
  elseif type(r) ~= "table" or r.structuredContent == nil then
    msg = "the result has no structuredContent: " .. show(r)
  else
    ok, msg = require("mcptest.jsonschema").validate(declared, r.structuredContent)
    if ok then msg = show(r.structuredContent) end
  end
  arguments[1] = "tool " .. tostring(name)
  arguments[2] = msg
  arguments.n = 2
  arguments.nofmt = { true, true }
  return ok
end, "assertion.matches_output_schema.positive", "assertion.matches_output_schema.negative")

-- the message is the snapshot module's own (the diff, or why it failed)
say:set("assertion.matches_snapshot.positive", "%s")
say:set("assertion.matches_snapshot.negative", "Expected the value to differ from snapshot %s")
assert:register("assertion", "matches_snapshot", function(_, arguments)
  local ok, msg = require("mcptest.snapshot").check(arguments[2], arguments[3], arguments[1])
  arguments[1] = msg or tostring(arguments[3])
  arguments.n = 1
  arguments.nofmt = { true }
  return ok
end, "assertion.matches_snapshot.positive", "assertion.matches_snapshot.negative")

-- ===== skills (io.modelcontextprotocol/skills; mcptest.client.skills) =====

local function load_skill(c, entry)
  local ok, err = pcall(c.load_skill, c, entry)
  return ok, not ok and err or nil
end
local function skill_name(entry)
  return type(entry) == "table" and tostring(entry.uri) or show(entry)
end

say:set("assertion.skill_verifies.positive", "Expected the skill %s to verify\nbut %s")
say:set("assertion.skill_verifies.negative", "Expected the skill %s to fail verification\nbut %s")
assert:register("assertion", "skill_verifies", function(_, arguments)
  local ok, err = load_skill(arguments[1], arguments[2])
  arguments[1], arguments[2] = skill_name(arguments[2]), ok and "every file verified" or tostring(err)
  arguments.n, arguments.nofmt = 2, { true, true }
  return ok
end, "assertion.skill_verifies.positive", "assertion.skill_verifies.negative")

say:set("assertion.skills_verify.positive", "Expected every skill the server lists to verify\nbut %s")
say:set("assertion.skills_verify.negative", "Expected some skill the server lists to fail verification\nbut %s")
assert:register("assertion", "skills_verify", function(_, arguments)
  local c = arguments[1]
  local ok, list = pcall(c.list_skills, c)
  local failed = {}
  if not ok then failed[1] = tostring(list) else
    for _, e in ipairs(list) do
      local good, err = load_skill(c, e)
      if not good then failed[#failed + 1] = tostring(err) end
    end
  end
  arguments[1] = #failed > 0 and table.concat(failed, "\n")
    or ("all " .. #list .. " skill" .. (#list == 1 and "" or "s") .. " verified")
  arguments.n, arguments.nofmt = 1, { true }
  return #failed == 0
end, "assertion.skills_verify.positive", "assertion.skills_verify.negative")

say:set("assertion.skill_fails_check.positive", "Expected loading the skill %s to fail the %s check\nbut %s")
say:set("assertion.skill_fails_check.negative", "Expected loading the skill %s not to fail the %s check\nbut %s")
assert:register("assertion", "skill_fails_check", function(_, arguments)
  local ok, err = load_skill(arguments[1], arguments[2])
  local check = arguments[3]
  local hit = not ok and type(err) == "table" and err.check == check
  arguments[1], arguments[2] = skill_name(arguments[2]), tostring(check)
  arguments[3] = ok and "every file verified" or tostring(err)
  arguments.n, arguments.nofmt = 3, { true, true, true }
  return hit
end, "assertion.skill_fails_check.positive", "assertion.skill_fails_check.negative")

return M
