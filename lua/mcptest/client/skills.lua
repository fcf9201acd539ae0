-- mcptest.client.skills: the skills extension (io.modelcontextprotocol/skills,
-- SEP-2640) on the client, as c:list_skills() and c:load_skill(entry).
-- Listing reads entries only: no skill file is fetched before
-- load_skill asks for it (a host must not prefetch). Loading reads every
-- listed file with resources/read and checks each against its entry, in
-- this order: the file is returned at all, its size, its SHA-256 digest,
-- and for SKILL.md the frontmatter (parsed as YAML, equal field by field
-- to the entry's). A mismatch is an mcptest.Error of kind "protocol"
-- whose message names the check and the file, with the fields
-- err.check ("size", "digest", "frontmatter", "entry" or "missing") and err.uri.
--   skills.list(c [, opts]) -> entries (every page)
--   skills.load(c, entry [, opts]) -> { entry, uri, frontmatter, body, files = {uri -> file}, order = {uris} }
--   skills.check_entry(entry) -> problems (a list of strings; empty when valid)
local json = require("mcptest.json")
local yaml = require("mcptest.yaml")
local errors = require("mcptest.errors")
local crypto = require("mcptest.core.crypto")

local M = { EXTENSION = "io.modelcontextprotocol/skills" }

local function fail(check, uri, message)
  errors.raise("protocol", message, { check = check, uri = uri })
end

local function declared(c, what)
  local ext = type(c.capabilities) == "table" and c.capabilities.extensions
  if type(ext) == "table" and type(ext[M.EXTENSION]) == "table" then return end
  errors.raise("protocol", what .. ": the server does not declare the " .. M.EXTENSION
    .. " extension in capabilities.extensions", { method = what })
end

local function is_object(v) return type(v) == "table" and not json.is_array(v) and v ~= json.null end

-- The structural rules of an entry (the SDK's SkillSchema and its checks).
function M.check_entry(e)
  local p = {}
  if not is_object(e) then return { "the entry is not an object" } end
  if type(e.uri) ~= "string" or not e.uri:match("^%a[%w+.-]*:.-[^/]/SKILL%.md$") then
    p[#p + 1] = "uri must be a URI ending in /SKILL.md inside a named directory, got " .. json.encode(e.uri)
  end
  local fm = e.frontmatter
  if not is_object(fm) or type(fm.name) ~= "string" or type(fm.description) ~= "string" then
    p[#p + 1] = "frontmatter must be an object with string name and description"
  end
  local res = e.resources
  if res ~= "dynamic" then
    if not json.is_array(res) then
      p[#p + 1] = "resources must be an array of files or \"dynamic\""
    else
      local seen, self = {}, false
      for i, r in ipairs(res) do
        local at = "resources[" .. (i - 1) .. "]"
        if not is_object(r) or type(r.uri) ~= "string" then
          p[#p + 1] = at .. " must be an object with a uri"
        else
          if type(r.digest) ~= "string" or not r.digest:match("^sha256:" .. ("[0-9a-f]"):rep(64) .. "$") then
            p[#p + 1] = at .. ".digest must be \"sha256:\" and 64 lowercase hex digits"
          end
          if math.type(r.size) ~= "integer" and not (type(r.size) == "number" and r.size == math.floor(r.size))
             or r.size < 0 then
            p[#p + 1] = at .. ".size must be a non-negative integer"
          end
          if seen[r.uri] then p[#p + 1] = at .. " lists " .. r.uri .. " more than once" end
          seen[r.uri] = true
          if r.uri == e.uri then self = true end
          local root = type(e.uri) == "string" and e.uri:sub(1, -9) or ""
          if r.uri ~= e.uri and (r.uri:sub(1, #root) ~= root or r.uri:find("/%.%.?/") or r.uri:find("[?#]")) then
            p[#p + 1] = at .. " (" .. r.uri .. ") is outside the skill directory " .. root
          end
        end
      end
      if not self and type(e.uri) == "string" then p[#p + 1] = "resources must include " .. e.uri end
    end
  end
  return p
end

local function entry_or_fail(e, where)
  local problems = M.check_entry(e)
  if #problems > 0 then
    fail("entry", is_object(e) and e.uri or nil, where .. ": invalid skill entry "
      .. (is_object(e) and type(e.uri) == "string" and (e.uri .. " ") or "") .. "(" .. table.concat(problems, "; ") .. ")")
  end
end

function M.list(c, opts)
  declared(c, "skills/list")
  local out, seen, cursor = json.array(), {}, nil
  for _ = 1, 100000 do
    local r = c:request("skills/list", cursor and { cursor = cursor } or nil, opts)
    if type(r) ~= "table" or not json.is_array(r.skills) then
      errors.raise("protocol", "skills/list result has no 'skills' array", { method = "skills/list" })
    end
    if c.era == "modern" and (math.type(r.ttlMs) == nil or type(r.cacheScope) ~= "string") then
      errors.raise("protocol", "skills/list result lacks ttlMs or cacheScope, which 2026-07-28 requires",
        { method = "skills/list" })
    end
    for _, e in ipairs(r.skills) do
      entry_or_fail(e, "skills/list")
      out[#out + 1] = e
    end
    cursor = r.nextCursor
    if cursor == nil or cursor == json.null or cursor == "" then return out end
    if seen[cursor] then errors.raise("protocol", "skills/list returned a cursor twice: its pagination loops") end
    seen[cursor] = true
  end
end

local function hex(s) return (s:gsub(".", function(ch) return string.format("%02x", ch:byte()) end)) end

-- Deep equality of two JSON values; the first difference as "path: a vs b".
local function differ(a, b, path)
  if is_object(a) and is_object(b) or (json.is_array(a) and json.is_array(b)) then
    local keys = {}
    for k in pairs(a) do keys[k] = true end
    for k in pairs(b) do keys[k] = true end
    local sorted = {}
    for k in pairs(keys) do sorted[#sorted + 1] = k end
    table.sort(sorted, function(x, y) return tostring(x) < tostring(y) end)
    for _, k in ipairs(sorted) do
      local d = differ(a[k], b[k], path == "" and tostring(k) or (path .. "." .. tostring(k)))
      if d then return d end
    end
    return nil
  end
  if a == b then return nil end
  local function show(v) return v == nil and "nothing" or json.encode(v) end
  return (path == "" and "(frontmatter)" or path) .. ": the entry has " .. show(a) .. ", SKILL.md has " .. show(b)
end

-- The frontmatter and body of a SKILL.md text.
function M.parse_skill_md(text)
  local t = text:gsub("\r\n", "\n")
  if t:sub(1, 3) == "\239\187\191" then t = t:sub(4) end
  if t:sub(1, 4) ~= "---\n" then return nil, "SKILL.md must begin with a \"---\" line" end
  local s, e = t:find("\n%-%-%-[ \t]*\n", 4)
  if not s then s, e = t:find("\n%-%-%-[ \t]*$", 4) end
  if not s then return nil, "the frontmatter has no closing \"---\" line" end
  local y = t:sub(5, s)
  local v, err = yaml.try_load(y, "SKILL.md frontmatter")
  if v == nil and err then return nil, err end
  if v == nil then v = json.object() end
  if not is_object(v) then return nil, "the frontmatter must be a mapping of keys to values" end
  return v, t:sub(e + 1)
end

local function read_file(c, uri, opts)
  local ok, r = pcall(c.request, c, "resources/read", { uri = uri }, opts)
  if not ok then
    if not errors.is(r, "jsonrpc") then error(r, 0) end
    fail("missing", uri, "load_skill: " .. uri .. ": the server did not return this listed file (" .. tostring(r) .. ")")
  end
  for _, item in ipairs(type(r) == "table" and json.is_array(r.contents) and r.contents or {}) do
    if type(item) == "table" and item.uri == uri then
      if type(item.text) == "string" then return item.text, item end
      if type(item.blob) == "string" then
        local bytes = crypto.base64_decode(item.blob)
        if not bytes then fail("missing", uri, "load_skill: " .. uri .. ": resources/read returned an invalid base64 blob") end
        return bytes, item
      end
    end
  end
  fail("missing", uri, "load_skill: " .. uri .. ": resources/read returned no contents for it")
end

function M.load(c, entry, opts)
  declared(c, "load_skill")
  entry_or_fail(entry, "load_skill")
  local list = entry.resources
  if list == "dynamic" then list = { { uri = entry.uri } } end -- nothing listed to check but the frontmatter
  local loaded = { entry = entry, uri = entry.uri, files = {}, order = {} }
  for _, r in ipairs(list) do
    local bytes, item = read_file(c, r.uri, opts)
    if r.size ~= nil and #bytes ~= r.size then
      fail("size", r.uri, "load_skill: " .. r.uri .. ": size check failed: read " .. #bytes
        .. " bytes, the skill entry lists " .. math.tointeger(r.size))
    end
    if r.digest ~= nil then
      local d = "sha256:" .. hex(crypto.sha256(bytes))
      if d ~= r.digest then
        fail("digest", r.uri, "load_skill: " .. r.uri .. ": digest check failed: read " .. d
          .. ", the skill entry lists " .. r.digest)
      end
    end
    loaded.files[r.uri] = { uri = r.uri, bytes = bytes, mimeType = item.mimeType, verified = r.digest ~= nil }
    loaded.order[#loaded.order + 1] = r.uri
    if r.uri == entry.uri then
      local fm, body = M.parse_skill_md(bytes)
      if not fm then fail("frontmatter", r.uri, "load_skill: " .. r.uri .. ": frontmatter check failed: " .. body) end
      local d = differ(entry.frontmatter, fm, "")
      if d then
        fail("frontmatter", r.uri, "load_skill: " .. r.uri .. ": frontmatter check failed: " .. d)
      end
      loaded.frontmatter, loaded.body = fm, body
    end
  end
  return loaded
end

return M
