-- mcptest.jsonschema (JSON Schema 2020-12, core + applicator + validation,
-- pattern through PCRE2):
-- hand-written cases for every keyword, refusals for what it does not
-- implement, and a differential test against ajv (npm, 2020-12 mode) on
-- generated schemas and instances (no 2020-12 test suite is packaged).
local SRC = os.getenv("MCPTEST_SRC") or "."
local js = require("mcptest.jsonschema")
local json = require("mcptest.json")

local function valid(schema, value) return (js.validate(json.decode(schema), json.decode(value))) end

describe("mcptest.jsonschema", function()
  it("checks types, enum and const (1.0 is an integer)", function()
    assert.is_true(valid('{"type":"integer"}', "1.0"))
    assert.is_false(valid('{"type":"integer"}', "1.5"))
    assert.is_true(valid('{"type":["string","null"]}', "null"))
    assert.is_false(valid('{"type":"object"}', "[]"))
    assert.is_true(valid('{"type":"array"}', "[]"))
    assert.is_true(valid('{"enum":[1,"a",{"b":[]}]}', '{"b":[]}'))
    assert.is_false(valid('{"enum":[1,"a",{"b":[]}]}', '{"b":{}}'))
    assert.is_true(valid('{"const":1}', "1.0"))
    assert.is_false(valid('{"const":false}', "0"))
  end)

  it("checks numbers, strings, arrays and objects", function()
    assert.is_true(valid('{"multipleOf":0.5,"minimum":1,"exclusiveMaximum":3}', "2.5"))
    assert.is_false(valid('{"exclusiveMaximum":3}', "3"))
    assert.is_false(valid('{"minLength":3}', '"ab"'))
    assert.is_true(valid('{"maxLength":2}', '"\\u00e9\\u00e9"')) -- code points, not bytes
    assert.is_false(valid('{"uniqueItems":true}', "[1,{\"a\":1},{\"a\":1}]"))
    assert.is_true(valid('{"prefixItems":[{"type":"string"}],"items":{"type":"integer"}}', '["a",1,2]'))
    assert.is_false(valid('{"prefixItems":[{"type":"string"}],"items":false}', '["a",1]'))
    assert.is_false(valid('{"contains":{"type":"string"},"minContains":2}', '["a",1]'))
    assert.is_false(valid('{"contains":{"type":"string"},"maxContains":1}', '["a","b"]'))
    assert.is_false(valid('{"required":["a"]}', '{"b":1}'))
    assert.is_true(valid('{"required":["a"]}', '{"a":null}'))
    assert.is_false(valid('{"properties":{"a":{"type":"string"}},"additionalProperties":false}', '{"a":"x","b":1}'))
    assert.is_false(valid('{"propertyNames":{"maxLength":2}}', '{"abc":1}'))
    assert.is_false(valid('{"dependentRequired":{"a":["b"]}}', '{"a":1}'))
    assert.is_false(valid('{"dependentSchemas":{"a":{"required":["c"]}}}', '{"a":1}'))
    assert.is_false(valid('{"minProperties":2}', '{"a":1}'))
    assert.is_true(valid('{"pattern":"b+"}', '"abbc"')) -- a search, not anchored
    assert.is_false(valid('{"pattern":"^b"}', '"abbc"'))
    assert.is_false(valid('{"patternProperties":{"^x-":{"type":"string"}},"additionalProperties":false}', '{"x-a":1}'))
    assert.is_true(valid('{"patternProperties":{"^x-":{"type":"string"}},"additionalProperties":false}', '{"x-a":"s"}'))
    assert.is_false(valid('{"patternProperties":{"^x-":{"type":"string"}},"additionalProperties":false}', '{"y":"s"}'))
  end)

  it("combines schemas: allOf, anyOf, oneOf, not, if/then/else, $ref, $defs, $anchor", function()
    assert.is_false(valid('{"allOf":[{"type":"number"},{"minimum":5}]}', "3"))
    assert.is_true(valid('{"anyOf":[{"type":"string"},{"minimum":5}]}', "7"))
    assert.is_false(valid('{"oneOf":[{"type":"number"},{"type":"integer"}]}', "1"))
    assert.is_false(valid('{"not":{"type":"null"}}', "null"))
    assert.is_false(valid('{"if":{"type":"string"},"then":{"minLength":2},"else":{"type":"null"}}', '"a"'))
    assert.is_false(valid('{"if":{"type":"string"},"then":{"minLength":2},"else":{"type":"null"}}', "1"))
    local tree = '{"$defs":{"node":{"type":"object","properties":{"kids":{"type":"array","items":{"$ref":"#/$defs/node"}}},"required":["v"]}},"$ref":"#/$defs/node"}'
    assert.is_true(valid(tree, '{"v":1,"kids":[{"v":2,"kids":[]}]}'))
    assert.is_false(valid(tree, '{"v":1,"kids":[{"kids":[]}]}'))
    assert.is_true(valid('{"$defs":{"s":{"$anchor":"str","type":"string"}},"items":{"$ref":"#str"}}', '["a"]'))
    assert.is_true(valid("true", "1")); assert.is_false(valid("false", "1"))
  end)

  it("says where and why a value fails", function()
    local ok, msg = js.validate(json.decode('{"properties":{"a":{"items":{"type":"string"}}}}'), json.decode('{"a":["x",2]}'))
    assert.is_false(ok)
    assert.equals('at $.a[1]: expected type string, got integer 2 (schema #/properties/a/items/type)', msg)
  end)

  it("refuses what it does not implement instead of passing it", function()
    for _, s in ipairs({ '{"pattern":"a("}', '{"patternProperties":{"*":{}}}', '{"unevaluatedProperties":false}',
                         '{"$ref":"other.json"}', '{"items":{"$dynamicRef":"#x"}}' }) do
      local ok, err = pcall(js.validate, json.decode(s), 1)
      assert.is_false(ok, s)
      assert.matches("JSON Schema #", tostring(err))
    end
  end)

  it("agrees with ajv (2020-12 mode) on 2000 generated schemas and instances", function()
    local AJV = SRC .. "/.deps/npm/node_modules/ajv"
    local f = io.open(AJV .. "/dist/2020.js")
    if not f then pending("ajv is not installed under .deps (scripts/deps.sh)"); return end
    f:close()
    local seed = 12345
    local function rnd(n) seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n + 1 end
    local function pick(t) return t[rnd(#t)] end
    local scalars = { 0, 1, -2, 2.5, 3, 10, "", "a", "ab", "abc", true, false, json.null }
    local function instance(d)
      local k = rnd(d > 2 and 3 or 5)
      if k <= 3 then return pick(scalars) end
      if k == 4 then
        local a = json.array()
        for i = 1, rnd(4) - 1 do a[i] = instance(d + 1) end
        return a
      end
      local o = json.object()
      for _ = 1, rnd(4) - 1 do o[pick({ "a", "b", "c" })] = instance(d + 1) end
      return o
    end
    local schema
    local function keyword(s, d)
      local k = rnd(28)
      if k == 1 then s.type = pick({ "string", "number", "integer", "boolean", "null", "array", "object" })
      elseif k == 2 then s.type = json.array({ pick({ "string", "integer" }), pick({ "null", "array", "object" }) })
      elseif k == 3 then s.enum = json.array({ instance(2), instance(2), pick(scalars) })
      elseif k == 4 then s.const = instance(2)
      elseif k == 5 then s.minimum = pick({ 0, 1, 2.5, 3 })
      elseif k == 6 then s.exclusiveMaximum = pick({ 0, 1, 3, 10 })
      elseif k == 7 then s.multipleOf = pick({ 1, 2, 0.5 })
      elseif k == 8 then s.minLength = rnd(3) - 1
      elseif k == 9 then s.maxLength = rnd(3) - 1
      elseif k == 10 then s.minItems = rnd(3) - 1; s.maxItems = rnd(4)
      elseif k == 11 then s.uniqueItems = pick({ true, false })
      elseif k == 12 and d < 3 then s.items = schema(d + 1)
      elseif k == 13 and d < 3 then s.prefixItems = json.array({ schema(d + 1), schema(d + 1) })
      elseif k == 14 and d < 3 then s.contains = schema(d + 1); if rnd(2) == 1 then s.minContains = rnd(3) - 1 end
        if rnd(2) == 1 then s.maxContains = rnd(3) end
      elseif k == 15 and d < 3 then s.properties = json.object({ a = schema(d + 1), b = schema(d + 1) })
      elseif k == 16 and d < 3 then s.additionalProperties = schema(d + 1)
      elseif k == 17 then s.required = json.array({ pick({ "a", "b", "c" }) })
      elseif k == 18 then s.minProperties = rnd(3) - 1; s.maxProperties = rnd(3)
      elseif k == 19 and d < 3 then s.allOf = json.array({ schema(d + 1), schema(d + 1) })
      elseif k == 20 and d < 3 then s.anyOf = json.array({ schema(d + 1), schema(d + 1) })
      elseif k == 21 and d < 3 then s.oneOf = json.array({ schema(d + 1), schema(d + 1) })
      elseif k == 22 and d < 3 then s["not"] = schema(d + 1)
      elseif k == 23 and d < 3 then s["if"] = schema(d + 1); s["then"] = schema(d + 1); s["else"] = schema(d + 1)
      elseif k == 24 and d < 3 then s.propertyNames = { maxLength = 1 }
      elseif k == 25 then s.dependentRequired = json.object({ a = json.array({ "b" }) })
      elseif k == 26 and d < 3 then s.dependentSchemas = json.object({ b = schema(d + 1) })
      elseif k == 27 then s.pattern = pick({ "^a", "b$", "[0-9]", "^.{2}$", "a|b", "^(ab)+$" })
      elseif k == 28 and d < 3 then s.patternProperties = json.object({ [pick({ "^a", "[bc]", "^.$" })] = schema(d + 1) })
      end
    end
    schema = function(d)
      if rnd(10) == 1 then return rnd(2) == 1 end
      local s = json.object()
      for _ = 1, rnd(3) do keyword(s, d) end
      return s
    end
    local pairs_ = json.array()
    for i = 1, 2000 do
      local s = schema(1)
      pairs_[i] = json.array({ s, instance(1) })
    end
    local path = os.tmpname()
    local fh = assert(io.open(path, "w")); fh:write(json.encode(pairs_)); fh:close()
    local p = io.popen(string.format("node %s/spec/data/suite/ajv_check.js %s %s", SRC, AJV, path))
    local out = p:read("a"); p:close()
    os.remove(path)
    local theirs = json.decode(out)
    assert.equals(2000, #theirs)
    local disagree, n_valid = {}, 0
    for i, pr in ipairs(pairs_) do
      local mine = js.validate(pr[1], pr[2]) == true
      if mine then n_valid = n_valid + 1 end
      if mine ~= theirs[i] then
        disagree[#disagree + 1] = json.encode(pr[1]) .. " on " .. json.encode(pr[2]) .. ": ajv " .. tostring(theirs[i])
      end
    end
    assert.same({}, { table.unpack(disagree, 1, math.min(5, #disagree)) })
    -- the generator exercises both outcomes
    assert.is_true(n_valid > 200 and n_valid < 1800, "valid: " .. n_valid)
  end)
end)
