-- mcptest.matchers: luassert assertions for MCP results. Loaded by the
-- runner, so scripts just use them:
--   assert.tool_ok(result)                 result.isError is not true
--   assert.text_equals(result, "HELLO")    text content, concatenated
--   assert.text_contains(result, "ELL")
--   assert.text_matches(result, "^H%u+$")  a Lua pattern
--   assert.has_tool(tools, "echo")         a tools/list array holds the name
--   assert.field_equals(value, "a.b[1].c", expected)   a field at a path
--   assert.error_code(err, -32601)         an mcptest.Error with that code
--   assert.input_rounds(c, 1)              the client's last request took that
--                                          many input_required rounds (2026-07-28)
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

return M
