-- mcptest.jsonpath: the subset of JSONPath (RFC 9535) that YAML suites'
-- `path:` expectations and scripts use:
--   $                  the root
--   .name  ['name']    a member (["name"] too; \' \" \\ escapes in quotes)
--   [N]  [-N]          an array element, 0-based; negative counts from the end
--   [*]  .*            every element or member value
--   ..name  ..[N]  ..* descendants (the root included), then the selector
-- Filters ([?...]) and slices ([a:b]) are not part of the subset: a query
-- using them is refused when parsed, never half-evaluated.
--   jsonpath.parse(query) -> segments (raises a string naming the column)
--   jsonpath.query(value, query) -> array of the matched values (a nodelist)
local json = require("mcptest.json")

local M = {}

local function fail(q, i, why)
  error(string.format("%s at column %d of %s", why, i, q), 0)
end

function M.parse(q)
  if type(q) ~= "string" or q:sub(1, 1) ~= "$" then error("a JSONPath query starts with $", 0) end
  local segs, i, n = {}, 2, #q
  while i <= n do
    local desc = false
    if q:sub(i, i + 1) == ".." then desc, i = true, i + 2
    elseif q:sub(i, i) == "." then i = i + 1
    elseif q:sub(i, i) ~= "[" then fail(q, i, "expected . or [") end
    local c = q:sub(i, i)
    local prev = q:sub(i - 1, i - 1)
    if c == "[" then
      local j = i + 1
      local ch = q:sub(j, j)
      if ch == "'" or ch == '"' then
        local k, buf = j + 1, {}
        while true do
          local x = q:sub(k, k)
          if x == "" then fail(q, j, "unterminated string") end
          if x == ch then break end
          if x == "\\" then k = k + 1; x = q:sub(k, k) end
          buf[#buf + 1] = x
          k = k + 1
        end
        if q:sub(k + 1, k + 1) ~= "]" then fail(q, k + 1, "expected ]") end
        segs[#segs + 1] = { desc = desc, name = table.concat(buf) }
        i = k + 2
      elseif ch == "*" then
        if q:sub(j + 1, j + 1) ~= "]" then fail(q, j + 1, "expected ]") end
        segs[#segs + 1] = { desc = desc, wild = true }
        i = j + 2
      else
        local num = q:match("^%-?%d+%]", j)
        if not num then
          if q:sub(j, j) == "?" then fail(q, j, "filters ([?...]) are not supported") end
          if q:match("^%-?%d*:", j) then fail(q, j, "slices ([a:b]) are not supported") end
          fail(q, j, "expected a quoted name, an index or *")
        end
        segs[#segs + 1] = { desc = desc, index = tonumber(num:sub(1, -2)) }
        i = j + #num
      end
    elseif (prev == "." and c == "*") then
      segs[#segs + 1] = { desc = desc, wild = true }
      i = i + 1
    else
      local name = q:match("^[%a_\128-\255][%w_\128-\255]*", i)
      if not name then fail(q, i, "expected a member name") end
      segs[#segs + 1] = { desc = desc, name = name }
      i = i + #name
    end
  end
  return segs
end

local function children(v, seg, out)
  if type(v) ~= "table" then return end
  local arr = json.is_array(v) or (#v > 0 and next(v, #v) == nil)
  if seg.wild then
    if arr then for i = 1, #v do out[#out + 1] = v[i] end
    else
      local keys = {}
      for k in pairs(v) do keys[#keys + 1] = k end
      table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
      for _, k in ipairs(keys) do out[#out + 1] = v[k] end
    end
  elseif seg.index then
    if arr then
      local i = seg.index >= 0 and seg.index + 1 or #v + seg.index + 1
      if i >= 1 and i <= #v then out[#out + 1] = v[i] end
    end
  elseif not arr and v[seg.name] ~= nil then
    out[#out + 1] = v[seg.name]
  end
end

local function descendants(v, out)
  out[#out + 1] = v
  if type(v) == "table" then
    if json.is_array(v) or #v > 0 then for i = 1, #v do descendants(v[i], out) end
    else
      local keys = {}
      for k in pairs(v) do keys[#keys + 1] = k end
      table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
      for _, k in ipairs(keys) do descendants(v[k], out) end
    end
  end
end

function M.query(value, q)
  local segs = type(q) == "table" and q or M.parse(q)
  local nodes = { value }
  for _, seg in ipairs(segs) do
    local from = nodes
    if seg.desc then
      from = {}
      for _, v in ipairs(nodes) do descendants(v, from) end
    end
    nodes = {}
    for _, v in ipairs(from) do children(v, seg, nodes) end
  end
  return nodes
end

return M
