-- mcptest.runner.select: which tests a run selects (--filter,
-- --filter-pattern, --filter-out, --filter-out-pattern, --tags,
-- --exclude-tags), and what to say when a selection picked nothing.
-- mcptest's own filters rather than busted's filter_loader, whose --filter
-- is a Lua pattern (so "-" in "with -32601" is a quantifier, and "(fs"
-- raised inside the run as a fake failing test) and whose tags match
-- prefixes ("#fast" selected by "fa").
local M = {}

-- Is p a well-formed Lua pattern? A pattern error only shows when the
-- matcher reaches the bad part ("a%" finds nothing in "" without
-- complaint), so the syntax is checked here, as lstrlib.c reads it.
-- Returns true, or nil and what is wrong.
function M.check_pattern(p)
  -- string.find takes a pattern with none of these as plain text
  if not p:find("[%^%$%*%+%?%.%(%[%%%-]") then return true end
  local i, n, open, closed = 1, #p, 0, 0
  local stack = {}
  if p:sub(1, 1) == "^" then i = 2 end
  while i <= n do
    local c = p:sub(i, i)
    if c == "(" then
      if p:sub(i + 1, i + 1) == ")" then
        i = i + 2 -- a position capture
        closed = closed + 1
        goto continue
      end
      open = open + 1
      stack[#stack + 1] = open
      i = i + 1
    elseif c == ")" then
      if #stack == 0 then return nil, "unmatched ')' at position " .. i end
      stack[#stack] = nil
      closed = closed + 1
      i = i + 1
    elseif c == "%" then
      local d = p:sub(i + 1, i + 1)
      if d == "" then return nil, "ends with '%'" end
      if d == "b" then
        if #p < i + 3 then return nil, "'%b' needs two characters after it" end
        i = i + 4
      elseif d == "f" then
        if p:sub(i + 2, i + 2) ~= "[" then return nil, "missing '[' after '%f'" end
        local j = M.set_end(p, i + 2)
        if not j then return nil, "unfinished set '[' at position " .. (i + 2) end
        i = j + 1
      elseif d:match("%d") then
        local k = tonumber(d)
        if k == 0 or k > closed then return nil, "invalid capture reference %" .. d end
        i = i + 2
      else
        i = i + 2
      end
    elseif c == "[" then
      local j = M.set_end(p, i)
      if not j then return nil, "unfinished set '[' at position " .. i end
      i = j + 1
    else
      i = i + 1
    end
    ::continue::
  end
  if #stack > 0 then return nil, "unfinished capture '('" end
  return true
end

-- The index of the "]" closing the set opened at p[i], or nil.
function M.set_end(p, i)
  local j = i + 1
  if p:sub(j, j) == "^" then j = j + 1 end
  -- a "]" first in the set is a plain character
  if p:sub(j, j) == "]" then j = j + 1 end
  while j <= #p do
    local c = p:sub(j, j)
    if c == "%" then
      if j == #p then return nil end
      j = j + 2
    elseif c == "]" then
      return j
    else
      j = j + 1
    end
  end
  return nil
end

-- The #tags of a name: "#" then letters, digits, "_" or "-".
function M.tags_of(name)
  local out = {}
  for t in name:gmatch("#([%w_%-]+)") do out[#out + 1] = t end
  return out
end

-- The name without its #tags: what a report shows as the test's title.
function M.title_of(name)
  return (name:gsub("%s*#[%w_%-]+", ""):gsub("^%s+", ""))
end

local function has_tag(name, tag)
  for _, t in ipairs(M.tags_of(name)) do if t == tag then return true end end
  return false
end

-- opts: filter, filter_pattern, filter_out, filter_out_pattern (lists of
-- strings), tags, exclude_tags (lists of tag names). Returns a selection,
-- or nil and a usage message (a bad pattern).
function M.new(opts)
  local sel = {
    filter = opts.filter or {}, filter_pattern = opts.filter_pattern or {},
    filter_out = opts.filter_out or {}, filter_out_pattern = opts.filter_out_pattern or {},
    tags = opts.tags or {}, exclude_tags = opts.exclude_tags or {},
    defined = 0, selected = 0, hits = {},
  }
  for _, key in ipairs({ "filter_pattern", "filter_out_pattern" }) do
    for _, p in ipairs(sel[key]) do
      local ok, why = M.check_pattern(p)
      if not ok then
        return nil, string.format("bad Lua pattern for --%s %q: %s (--%s takes plain text)",
          (key:gsub("_", "-")), p, why, (key:gsub("_pattern", ""):gsub("_", "-")))
      end
    end
  end
  return setmetatable(sel, { __index = M })
end

-- Does this selection narrow the run (a filter or a tag given)?
function M:active()
  return #self.filter + #self.filter_pattern + #self.filter_out + #self.filter_out_pattern
    + #self.tags + #self.exclude_tags > 0
end

local function any(list, f)
  for _, v in ipairs(list) do if f(v) then return true end end
  return false
end

local function plain(full) return function(s) return full:find(s, 1, true) ~= nil end end
local function pattern(full) return function(p) return full:find(p) ~= nil end end

-- Count a hit for each positive filter and tag a test matches.
function M:count(key, list, test)
  for _, v in ipairs(list) do
    if test(v) then
      local k = key .. "\0" .. v
      self.hits[k] = (self.hits[k] or 0) + 1
    end
  end
end

-- Is a test (it or pending) of this full name selected?
function M:test_selected(full)
  self.defined = self.defined + 1
  self:count("filter", self.filter, plain(full))
  self:count("filter-pattern", self.filter_pattern, pattern(full))
  self:count("tags", self.tags, function(t) return has_tag(full, t) end)
  local ok = true
  if #self.filter + #self.filter_pattern > 0 then
    ok = any(self.filter, plain(full)) or any(self.filter_pattern, pattern(full))
  end
  if ok and #self.tags > 0 then ok = any(self.tags, function(t) return has_tag(full, t) end) end
  if ok and (any(self.filter_out, plain(full)) or any(self.filter_out_pattern, pattern(full))) then
    ok = false
  end
  if ok and any(self.exclude_tags, function(t) return has_tag(full, t) end) then ok = false end
  if ok then self.selected = self.selected + 1 end
  return ok
end

-- Is a describe block of this full name kept? (--filter-out and
-- --exclude-tags drop a whole block; the positive filters look at tests.)
function M:block_kept(full)
  if any(self.filter_out, plain(full)) or any(self.filter_out_pattern, pattern(full)) then return false end
  return not any(self.exclude_tags, function(t) return has_tag(full, t) end)
end

-- busted's full name of an element about to be registered in the
-- current context: the describe names, then name, joined by spaces.
local function full_name(busted, name)
  local parent = busted.context.get()
  local names = { name }
  while parent and (parent.name or parent.descriptor) and parent.descriptor ~= "file" do
    table.insert(names, 1, parent.name or parent.descriptor)
    parent = busted.context.parent(parent)
  end
  return table.concat(names, " ")
end

-- Subscribe to busted's registrations: what is not selected is never
-- registered, so it neither runs nor appears in a report.
function M:attach(busted)
  local function on_test(name)
    return nil, self:test_selected(full_name(busted, tostring(name)))
  end
  local function on_block(name)
    return nil, self:block_kept(full_name(busted, tostring(name)))
  end
  for _, d in ipairs({ "it", "pending" }) do
    busted.subscribe({ "register", d }, on_test, { priority = 1 })
  end
  busted.subscribe({ "register", "describe" }, on_block, { priority = 1 })
end

local function quote(s)
  return s:match("^[%w_%-%.]+$") and s or string.format("%q", s)
end

-- When a narrowing selection picked no test: the message naming what
-- selected nothing (exit 2 unless --allow-empty), else nil.
function M:empty_message()
  if not self:active() or self.selected > 0 then return nil end
  local none = {}
  for _, pair in ipairs({ { "filter", self.filter }, { "filter-pattern", self.filter_pattern },
                          { "tags", self.tags } }) do
    for _, v in ipairs(pair[2]) do
      if not self.hits[pair[1] .. "\0" .. v] then none[#none + 1] = "--" .. pair[1] .. " " .. quote(v) end
    end
  end
  local of = self.defined == 0 and "no test was defined" or
    (self.defined == 1 and "1 test was defined" or (self.defined .. " tests were defined"))
  local what
  if #none > 0 then
    what = table.concat(none, ", ") .. " matched no test"
  else
    local given = {}
    for _, pair in ipairs({ { "filter", self.filter }, { "filter-pattern", self.filter_pattern },
                            { "filter-out", self.filter_out }, { "filter-out-pattern", self.filter_out_pattern },
                            { "tags", self.tags }, { "exclude-tags", self.exclude_tags } }) do
      for _, v in ipairs(pair[2]) do given[#given + 1] = "--" .. pair[1] .. " " .. quote(v) end
    end
    what = table.concat(given, " with ") .. " left no test"
  end
  return "no test selected: " .. what .. " (" .. of .. " in the files run;"
    .. " --allow-empty makes this a pass)"
end

-- Positive filters that matched nothing while others did: worth a warning.
function M:unmatched_warnings()
  if self.selected == 0 then return {} end
  local out = {}
  for _, pair in ipairs({ { "filter", self.filter }, { "filter-pattern", self.filter_pattern },
                          { "tags", self.tags } }) do
    for _, v in ipairs(pair[2]) do
      if not self.hits[pair[1] .. "\0" .. v] then
        out[#out + 1] = "--" .. pair[1] .. " " .. quote(v) .. " matched no test"
      end
    end
  end
  return out
end

return M
