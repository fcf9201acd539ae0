-- mcptest.jsonschema: JSON Schema 2020-12 validation, the core, applicator
-- and validation vocabularies, for YAML suites' `schema:` and
-- `output_schema:` and for scripts.
--   jsonschema.validate(schema, value) -> true | false, message
--       message: "at $.a[0]: <what failed> (schema #/properties/a/...)"
--   jsonschema.check(schema) -> true | false, message   (what validate would refuse)
-- Supported: boolean schemas; $ref to "#", "#/json/pointer" and "#name"
-- ($anchor) inside the document, $defs; type, enum, const, multipleOf,
-- minimum, maximum, exclusiveMinimum, exclusiveMaximum, minLength,
-- maxLength (code points), minItems, maxItems, uniqueItems, minContains,
-- maxContains, minProperties, maxProperties, required, dependentRequired;
-- allOf, anyOf, oneOf, not, if/then/else, dependentSchemas, prefixItems,
-- items, contains, properties, patternProperties, additionalProperties,
-- propertyNames, pattern (PCRE2, mcptest.regex: ECMA-262's syntax for the
-- common cases; a pattern PCRE2 cannot compile is refused by check).
-- Refused by check (never silently ignored): unevaluatedItems,
-- unevaluatedProperties, $dynamicRef, and $ref to another document.
-- format is an annotation in 2020-12 and is not asserted.
local json = require("mcptest.json")
local regex = require("mcptest.regex")

local M = {}

local UNSUPPORTED = {
  unevaluatedItems = "`unevaluatedItems` (the unevaluated vocabulary) is not supported",
  unevaluatedProperties = "`unevaluatedProperties` (the unevaluated vocabulary) is not supported",
  ["$dynamicRef"] = "`$dynamicRef` is not supported",
  ["$recursiveRef"] = "`$recursiveRef` is not supported",
}

local function is_array(v)
  return type(v) == "table" and (json.is_array(v) or (#v > 0 and next(v, #v) == nil))
end

local function jtype(v)
  if v == nil or v == json.null then return "null" end
  local t = type(v)
  if t == "table" then return is_array(v) and "array" or "object" end
  if t == "number" then
    if v == math.floor(v) and v == v and v ~= math.huge and v ~= -math.huge then return "integer" end
    return "number"
  end
  if t == "string" or t == "boolean" then return t end
  return t
end
M.type_of = jtype

local function equal(a, b)
  local ta, tb = jtype(a), jtype(b)
  if ta == "integer" then ta = "number" end
  if tb == "integer" then tb = "number" end
  if ta ~= tb then return false end
  if ta == "array" then
    if #a ~= #b then return false end
    for i = 1, #a do if not equal(a[i], b[i]) then return false end end
    return true
  elseif ta == "object" then
    for k, v in pairs(a) do if b[k] == nil or not equal(v, b[k]) then return false end end
    for k in pairs(b) do if a[k] == nil then return false end end
    return true
  end
  return a == b
end
M.equal = equal

local function show(v)
  local ok, s = pcall(json.encode, v)
  s = ok and s or tostring(v)
  return #s > 80 and s:sub(1, 77) .. "..." or s
end

local function child_path(path, k)
  if type(k) == "number" then return path .. "[" .. (k - 1) .. "]" end
  if tostring(k):match("^[%a_][%w_]*$") then return path .. "." .. k end
  return path .. "[" .. string.format("%q", tostring(k)) .. "]"
end

-- JSON pointer "#/a/b~1c" in the root document
local function resolve_pointer(root, ptr)
  local node = root
  for part in ptr:gmatch("/([^/]*)") do
    part = part:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end)
    part = part:gsub("~1", "/"):gsub("~0", "~")
    if type(node) ~= "table" then return nil end
    if is_array(node) and tonumber(part) then node = node[tonumber(part) + 1]
    else node = node[part] end
  end
  return node
end

local function find_anchor(node, name, seen)
  if type(node) ~= "table" or seen[node] then return nil end
  seen[node] = true
  if node["$anchor"] == name then return node end
  for _, v in pairs(node) do
    local found = find_anchor(v, name, seen)
    if found then return found end
  end
end

local V = {}
V.__index = V

function V:fail(path, spath, fmt, ...)
  return false, string.format("at %s: %s (schema %s)", path, string.format(fmt, ...), spath)
end

function V:ref(ref, spath)
  if ref == "#" then return self.root end
  if ref:sub(1, 2) == "#/" then return resolve_pointer(self.root, ref:sub(2)) end
  if ref:sub(1, 1) == "#" then return find_anchor(self.root, ref:sub(2), {}) end
  local base = type(self.root) == "table" and self.root["$id"]
  if base and ref:sub(1, #base) == base then return self:ref(ref:sub(#base + 1) ~= "" and ref:sub(#base + 1) or "#", spath) end
  return nil
end

function V:validate(s, v, path, spath)
  if s == true then return true end
  if s == false then return self:fail(path, spath, "no value is allowed here (schema false)") end
  if type(s) ~= "table" then return true end
  self.depth = self.depth + 1
  if self.depth > 200 then
    self.depth = self.depth - 1
    return self:fail(path, spath, "$ref recursion deeper than 200 levels")
  end
  local ok, msg = self:check_all(s, v, path, spath)
  self.depth = self.depth - 1
  return ok, msg
end

function V:check_all(s, v, path, spath)
  local t = jtype(v)
  if s["$ref"] ~= nil then
    local target = self:ref(s["$ref"], spath)
    if target == nil then return self:fail(path, spath, "$ref %s does not resolve in this document", s["$ref"]) end
    local ok, msg = self:validate(target, v, path, s["$ref"])
    if not ok then return false, msg end
  end
  if s.type ~= nil then
    local types = type(s.type) == "table" and s.type or { s.type }
    local okt = false
    for _, want in ipairs(types) do
      if want == t or (want == "number" and t == "integer") then okt = true end
    end
    if not okt then
      return self:fail(path, spath .. "/type", "expected type %s, got %s %s",
        type(s.type) == "table" and table.concat(s.type, " or ") or s.type, t, show(v))
    end
  end
  if s.enum ~= nil then
    local found = false
    for _, e in ipairs(s.enum) do if equal(e, v) then found = true break end end
    if not found then return self:fail(path, spath .. "/enum", "%s is not one of %s", show(v), show(s.enum)) end
  end
  if s.const ~= nil and not equal(s.const, v) then
    return self:fail(path, spath .. "/const", "expected %s, got %s", show(s.const), show(v))
  end
  if t == "number" or t == "integer" then
    if s.multipleOf then
      local q = v / s.multipleOf
      if q ~= math.floor(q) and math.abs(q - math.floor(q + 0.5)) > 1e-9 then
        return self:fail(path, spath .. "/multipleOf", "%s is not a multiple of %s", show(v), show(s.multipleOf))
      end
    end
    if s.minimum and v < s.minimum then return self:fail(path, spath .. "/minimum", "%s is below the minimum %s", show(v), show(s.minimum)) end
    if s.maximum and v > s.maximum then return self:fail(path, spath .. "/maximum", "%s is above the maximum %s", show(v), show(s.maximum)) end
    if s.exclusiveMinimum and v <= s.exclusiveMinimum then
      return self:fail(path, spath .. "/exclusiveMinimum", "%s is not above %s", show(v), show(s.exclusiveMinimum))
    end
    if s.exclusiveMaximum and v >= s.exclusiveMaximum then
      return self:fail(path, spath .. "/exclusiveMaximum", "%s is not below %s", show(v), show(s.exclusiveMaximum))
    end
  elseif t == "string" then
    local n = utf8.len(v) or #v
    if s.minLength and n < s.minLength then return self:fail(path, spath .. "/minLength", "%s is shorter than %d", show(v), s.minLength) end
    if s.maxLength and n > s.maxLength then return self:fail(path, spath .. "/maxLength", "%s is longer than %d", show(v), s.maxLength) end
    if s.pattern and not regex.test(s.pattern, v) then
      return self:fail(path, spath .. "/pattern", "%s does not match the pattern %s", show(v), show(s.pattern))
    end
  elseif t == "array" then
    if s.minItems and #v < s.minItems then return self:fail(path, spath .. "/minItems", "%d items, fewer than %d", #v, s.minItems) end
    if s.maxItems and #v > s.maxItems then return self:fail(path, spath .. "/maxItems", "%d items, more than %d", #v, s.maxItems) end
    if s.uniqueItems == true then
      for i = 1, #v do for j = i + 1, #v do
        if equal(v[i], v[j]) then return self:fail(path, spath .. "/uniqueItems", "items %d and %d are equal", i - 1, j - 1) end
      end end
    end
    local first = 1
    if s.prefixItems then
      for i, sub in ipairs(s.prefixItems) do
        if i > #v then break end
        local ok, msg = self:validate(sub, v[i], child_path(path, i), spath .. "/prefixItems/" .. (i - 1))
        if not ok then return false, msg end
      end
      first = #s.prefixItems + 1
    end
    if s.items ~= nil then
      for i = first, #v do
        local ok, msg = self:validate(s.items, v[i], child_path(path, i), spath .. "/items")
        if not ok then return false, msg end
      end
    end
    if s.contains ~= nil then
      local n = 0
      for i = 1, #v do if self:validate(s.contains, v[i], child_path(path, i), spath .. "/contains") then n = n + 1 end end
      local min = s.minContains or 1
      if n < min then return self:fail(path, spath .. "/contains", "%d items match `contains`, fewer than %d", n, min) end
      if s.maxContains and n > s.maxContains then
        return self:fail(path, spath .. "/maxContains", "%d items match `contains`, more than %d", n, s.maxContains)
      end
    end
  elseif t == "object" then
    local count = 0
    for _ in pairs(v) do count = count + 1 end
    if s.minProperties and count < s.minProperties then return self:fail(path, spath .. "/minProperties", "%d properties, fewer than %d", count, s.minProperties) end
    if s.maxProperties and count > s.maxProperties then return self:fail(path, spath .. "/maxProperties", "%d properties, more than %d", count, s.maxProperties) end
    for _, k in ipairs(s.required or {}) do
      if v[k] == nil then return self:fail(path, spath .. "/required", "the required property %q is missing", k) end
    end
    if s.dependentRequired then
      for k, needs in pairs(s.dependentRequired) do
        if v[k] ~= nil then
          for _, n in ipairs(needs) do
            if v[n] == nil then return self:fail(path, spath .. "/dependentRequired", "%q needs %q, which is missing", k, n) end
          end
        end
      end
    end
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = k end
    table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
    for _, k in ipairs(keys) do
      local known = false
      if s.properties and s.properties[k] ~= nil then
        known = true
        local ok, msg = self:validate(s.properties[k], v[k], child_path(path, k), spath .. "/properties/" .. k)
        if not ok then return false, msg end
      end
      if s.patternProperties and type(k) == "string" then
        for re, sub in pairs(s.patternProperties) do
          if regex.test(re, k) then
            known = true
            local ok, msg = self:validate(sub, v[k], child_path(path, k), spath .. "/patternProperties/" .. re)
            if not ok then return false, msg end
          end
        end
      end
      if not known and s.additionalProperties ~= nil then
        local ok, msg = self:validate(s.additionalProperties, v[k], child_path(path, k), spath .. "/additionalProperties")
        if not ok then return false, msg end
      end
      if s.propertyNames ~= nil then
        local ok, msg = self:validate(s.propertyNames, k, child_path(path, k), spath .. "/propertyNames")
        if not ok then return false, msg end
      end
    end
    if s.dependentSchemas then
      for k, sub in pairs(s.dependentSchemas) do
        if v[k] ~= nil then
          local ok, msg = self:validate(sub, v, path, spath .. "/dependentSchemas/" .. k)
          if not ok then return false, msg end
        end
      end
    end
  end
  if s.allOf then
    for i, sub in ipairs(s.allOf) do
      local ok, msg = self:validate(sub, v, path, spath .. "/allOf/" .. (i - 1))
      if not ok then return false, msg end
    end
  end
  if s.anyOf then
    local any, first_msg = false, nil
    for i, sub in ipairs(s.anyOf) do
      local ok, msg = self:validate(sub, v, path, spath .. "/anyOf/" .. (i - 1))
      if ok then any = true break end
      first_msg = first_msg or msg
    end
    if not any then return self:fail(path, spath .. "/anyOf", "no schema of anyOf matches (the first: %s)", tostring(first_msg)) end
  end
  if s.oneOf then
    local n, first_msg = 0, nil
    for i, sub in ipairs(s.oneOf) do
      local ok, msg = self:validate(sub, v, path, spath .. "/oneOf/" .. (i - 1))
      if ok then n = n + 1 else first_msg = first_msg or msg end
    end
    if n ~= 1 then
      return self:fail(path, spath .. "/oneOf", n == 0 and ("no schema of oneOf matches (the first: " .. tostring(first_msg) .. ")")
        or (n .. " schemas of oneOf match, not exactly one"))
    end
  end
  if s["not"] ~= nil and self:validate(s["not"], v, path, spath .. "/not") then
    return self:fail(path, spath .. "/not", "%s matches the schema of `not`", show(v))
  end
  if s["if"] ~= nil then
    if self:validate(s["if"], v, path, spath .. "/if") then
      if s["then"] ~= nil then
        local ok, msg = self:validate(s["then"], v, path, spath .. "/then")
        if not ok then return false, msg end
      end
    elseif s["else"] ~= nil then
      local ok, msg = self:validate(s["else"], v, path, spath .. "/else")
      if not ok then return false, msg end
    end
  end
  return true
end

-- Refuse what this validator does not implement, rather than pass values
-- it cannot judge.
function M.check(schema)
  local function walk(node, where, seen)
    if type(node) ~= "table" or seen[node] then return true end
    seen[node] = true
    for k, v in pairs(node) do
      if UNSUPPORTED[k] and not is_array(node) then
        return false, where .. "/" .. tostring(k) .. ": " .. UNSUPPORTED[k]
      end
      if (k == "pattern" and type(v) == "string") or (k == "patternProperties" and type(v) == "table") then
        for _, re in ipairs(k == "pattern" and { v } or (function()
          local list = {}
          for name in pairs(v) do list[#list + 1] = tostring(name) end
          return list
        end)()) do
          local ok, err = pcall(regex.compile, re)
          if not ok then return false, where .. "/" .. k .. ": " .. tostring(err.message or err) end
        end
      end
      if k == "$ref" and type(v) == "string" and v:sub(1, 1) ~= "#" then
        local base = type(schema) == "table" and schema["$id"]
        if not (base and v:sub(1, #base) == base) then
          return false, where .. "/$ref: only references inside the document (#...) are supported, not " .. v
        end
      end
      local ok, msg = walk(v, where .. "/" .. tostring(k), seen)
      if not ok then return false, msg end
    end
    return true
  end
  if schema ~= true and schema ~= false and type(schema) ~= "table" then
    return false, "a schema is an object or a boolean"
  end
  return walk(schema, "#", {})
end

function M.validate(schema, value)
  local ok, msg = M.check(schema)
  if not ok then error("JSON Schema " .. msg, 2) end
  local v = setmetatable({ root = schema, depth = 0 }, V)
  return v:validate(schema, value, "$", "#")
end

return M
