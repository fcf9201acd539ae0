-- mcptest.yaml: YAML files and strings as Lua values, over libyaml
-- (mcptest.core.yaml). Every error names file:line:column.
--   yaml.load(text [, name [, opts]]) -> value [, marks]   (raises mcptest.Error kind "usage")
--   yaml.try_load(text [, name [, opts]]) -> value [, marks] | nil, message (a string)
--   yaml.load_file(path [, opts]) -> value [, marks]
--   yaml.position(marks, root, path) -> {line, column} | nil
-- opts.single = true: a second document is an error (suites).
-- opts.marks = true: also return positions (see runtime/yaml.c). They are
-- packed integers; read them with
--   yaml.mark(marks, t)              -> {line, column} of table t itself
--   yaml.value_mark(marks, t, k)     -> of t[k] (k a key or a list index)
--   yaml.key_mark(marks, t, k)       -> of the key k itself
-- (nil when unknown). yaml.position finds the mark of the value a
-- path names in the document root: keys joined by ".", list items as
-- "[i]" ("faults.routes./mcp/open.every", "allowed_origins[2]"). Keys may
-- hold dots, so at each level the longest key that fits wins; when the
-- path goes deeper than the document, the deepest mark found is returned.
-- opts.nulls = "keep" (default: a null in a mapping removes the key, a
-- null in a list stays yaml.null so the list keeps its length).
-- Sequences carry the JSON array mark and mappings the object mark, so
-- [] and {} stay apart through mcptest.json.
local json = require("mcptest.json")
local core = require("mcptest.core.yaml")
local errors = require("mcptest.errors")

local M = { null = json.null }

local function drop_nulls(v, seen)
  if type(v) ~= "table" or seen[v] then return v end
  seen[v] = true
  if json.is_array(v) then
    for i = 1, #v do drop_nulls(v[i], seen) end
  else
    local dead = {}
    for k, x in pairs(v) do
      if x == json.null then dead[#dead + 1] = k else drop_nulls(x, seen) end
    end
    for _, k in ipairs(dead) do v[k] = nil end
  end
  return v
end

function M.try_load(text, name, opts)
  opts = opts or {}
  local v, marks = core.load(text, name or "(yaml)", { marks = opts.marks, single = opts.single })
  if v == nil then return nil, marks.message end -- marks: the Error
  if opts.nulls ~= "keep" then
    if v == json.null then v = nil else drop_nulls(v, {}) end
  end
  if opts.marks then return v, marks end
  return v
end

function M.load(text, name, opts)
  local v, marks = M.try_load(text, name, opts)
  if v == nil and type(marks) == "string" then errors.raise("usage", marks) end
  return v, marks
end

local function decode(p)
  return { line = p >> 11, column = p & 2047 }
end

function M.mark(marks, t)
  local p = marks.self and marks.self[t]
  return p and decode(p) or nil
end

function M.value_mark(marks, t, k)
  local e = marks[t]
  local p = e and e[k]
  return p and decode(p & 0x7FFFFFFF) or nil
end

function M.key_mark(marks, t, k)
  local e = marks[t]
  local p = e and e[k]
  return p and decode(p >> 31) or nil
end

function M.position(marks, root, path)
  local t, rest, found = root, path, nil
  while type(t) == "table" and rest ~= "" do
    local entry = marks[t]
    if not entry then break end
    local best
    for k in pairs(t) do
      if type(k) == "string" and rest:sub(1, #k) == k and (best == nil or #k > #best) then
        local after = rest:sub(#k + 1, #k + 1)
        if after == "" or after == "." or after == "[" then best = k end
      end
    end
    if not best then break end
    found = M.value_mark(marks, t, best) or found
    t, rest = t[best], rest:sub(#best + 1)
    local idx = rest:match("^%[(%d+)%]")
    if idx and type(t) == "table" and marks[t] then
      found = M.value_mark(marks, t, tonumber(idx)) or found
      t, rest = t[tonumber(idx)], rest:sub(#idx + 3)
    end
    rest = rest:gsub("^%.", "")
  end
  return found
end

function M.load_file(path, opts)
  local f, err = io.open(path, "rb")
  if not f then errors.raise("usage", "cannot read " .. tostring(path) .. ": " .. tostring(err)) end
  local text = f:read("a")
  f:close()
  return M.load(text, path, opts)
end

return M
