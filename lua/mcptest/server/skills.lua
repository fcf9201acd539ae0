-- mcptest.server.skills: the skills extension (io.modelcontextprotocol/skills,
-- SEP-2640) on the server engine. A catalog's `skills` list:
--   skills = { base = "skill://fixture/",            -- where the skill folders live
--              tamper = nil | "size" | "digest" | "frontmatter",  -- serve a lie (tests)
--              tamper_skill = "name",                 -- which skill the lie is about
--              { name = "hello", files = { ["SKILL.md"] = "...", ["references/X.md"] = "..." } }, ... }
-- becomes skills/list and skills/get (an entry per skill: uri of its
-- SKILL.md, the frontmatter read from it, every file's uri, SHA-256 digest
-- and size) and the files served by resources/read; each SKILL.md is also
-- listed by resources/list. Tampering keeps the
-- published entry honest and changes what is served (size: bytes added;
-- digest: same length, one byte changed), or publishes a frontmatter that
-- SKILL.md does not have (frontmatter).
--   skills.install(catalog, methods)  adds the methods (mcptest.server.methods calls it)
--   skills.entries(catalog) -> the entries, as skills/list gives them
--   skills.capability() -> the value announced under capabilities.extensions
local json = require("mcptest.json")
local yaml = require("mcptest.yaml")
local crypto = require("mcptest.core.crypto")
local protocol = require("mcptest.protocol")
local context = require("mcptest.server.context")

local M = { EXTENSION = "io.modelcontextprotocol/skills" }

local function fail(code, message, data) error(context.rpc_error(code, message, data), 0) end

local function hex(s) return (s:gsub(".", function(ch) return string.format("%02x", ch:byte()) end)) end
function M.digest(bytes) return "sha256:" .. hex(crypto.sha256(bytes)) end

-- The frontmatter of a SKILL.md: the YAML between the first two "---" lines.
function M.frontmatter(text)
  local body = text:gsub("\r\n", "\n")
  local y = body:match("^%-%-%-\n(.-\n?)%-%-%-[ \t]*\n") or body:match("^%-%-%-\n(.-\n?)%-%-%-[ \t]*$")
  if not y then return nil, "SKILL.md must begin with a \"---\" line and close its frontmatter with another" end
  local v, err = yaml.try_load(y, "SKILL.md frontmatter")
  if v == nil and err then return nil, err end
  if type(v) ~= "table" or json.is_array(v) then return nil, "frontmatter must be a mapping of keys to values" end
  return v
end

local function sorted_paths(files)
  local paths = {}
  for p in pairs(files) do paths[#paths + 1] = p end
  table.sort(paths, function(a, b)
    if a == "SKILL.md" then return b ~= "SKILL.md" end
    if b == "SKILL.md" then return false end
    return a < b
  end)
  return paths
end

-- Built once per catalog: entries in order, and uri -> {bytes, mimeType}.
local function build(cat)
  local sk = cat.skills
  if sk.built then return sk.built end
  local base = sk.base or "skill://"
  local entries, files, by_uri = {}, {}, {}
  for _, s in ipairs(sk) do
    local root = base .. s.name .. "/"
    local fm = assert(M.frontmatter(s.files["SKILL.md"]))
    local resources = {}
    for _, p in ipairs(sorted_paths(s.files)) do
      local bytes = s.files[p]
      local uri = root .. p
      resources[#resources + 1] = { uri = uri, digest = M.digest(bytes), size = #bytes }
      files[uri] = { bytes = bytes, mimeType = p:match("%.md$") and "text/markdown" or "text/plain", skill = s.name }
    end
    local entry = { uri = root .. "SKILL.md", frontmatter = fm, resources = json.array(resources) }
    entries[#entries + 1] = entry
    by_uri[entry.uri] = entry
  end
  sk.built = { entries = entries, files = files, by_uri = by_uri }
  return sk.built
end

function M.entries(cat) return build(cat).entries end
function M.capability() return json.object() end

-- What is served for a file, after the catalog's tamper switch.
local function served(cat, uri, f)
  local t, target = cat.skills.tamper, cat.skills.tamper_skill
  if not t or (target and f.skill ~= target) then return f.bytes end
  local manifest = uri:sub(-9) == "/SKILL.md"
  -- size and digest change a file other than SKILL.md where there is one
  -- (the last listed), so the frontmatter check does not see them first
  if t == "size" and not manifest then return f.bytes .. "\ntampered\n" end
  if t == "digest" and not manifest then
    local b = f.bytes
    return b:sub(1, -2) .. (b:sub(-1) == "X" and "Y" or "X")
  end
  return f.bytes
end

local function entry_out(cat, e)
  if cat.skills.tamper ~= "frontmatter" then return e end
  local name = e.frontmatter.name
  if cat.skills.tamper_skill and name ~= cat.skills.tamper_skill then return e end
  local fm = {}
  for k, v in pairs(e.frontmatter) do fm[k] = v end
  fm.description = fm.description .. " (and more)"
  return { uri = e.uri, frontmatter = fm, resources = e.resources }
end

-- A result with the cache hints 2026-07-28 requires of these results.
local function cacheable(ctx, r)
  if ctx.session.era == "modern" then r.ttlMs, r.cacheScope = 0, "public" end
  return r
end

function M.install(cat, out)
  out["skills/list"] = function(ctx, p)
    local list = {}
    for i, e in ipairs(build(cat).entries) do list[i] = entry_out(cat, e) end
    local size, offset = ctx.config.page_size, 0
    if p.cursor ~= nil then
      local ok, raw = pcall(crypto.base64url_decode, tostring(p.cursor))
      offset = ok and raw and tonumber(raw:match("^skills:(%d+)$")) or nil
      if not offset or offset >= #list then fail(protocol.INVALID_PARAMS, "Invalid cursor") end
    end
    local page = {}
    for i = offset + 1, math.min(offset + size, #list) do page[#page + 1] = list[i] end
    local r = { skills = json.array(page) }
    if offset + size < #list then r.nextCursor = crypto.base64url_encode("skills:" .. (offset + size)) end
    return cacheable(ctx, r)
  end
  out["skills/get"] = function(ctx, p)
    if type(p.uri) ~= "string" then fail(protocol.INVALID_PARAMS, "uri is required") end
    local e = build(cat).by_uri[p.uri]
    if not e then -- -32602 in both eras (the conformance suite's sep-2640 checks)
      fail(protocol.INVALID_PARAMS, "Skill not found", { uri = p.uri })
    end
    return cacheable(ctx, { skill = entry_out(cat, e) })
  end
  -- resources/list lists each SKILL.md after the catalog's resources, named
  -- and described by its frontmatter (as the SDK v2's skills server does)
  local list = out["resources/list"]
  out["resources/list"] = function(ctx, p)
    local ix = ctx.server.index
    if not ix.skills_listed then
      ix.skills_listed = true
      for _, e in ipairs(build(cat).entries) do
        ix.resource_list[#ix.resource_list + 1] = { uri = e.uri, name = e.frontmatter.name,
          description = e.frontmatter.description, mimeType = "text/markdown", size = e.resources[1].size }
      end
    end
    if list then return list(ctx, p) end
    return { resources = json.array(ix.resource_list) }
  end
  -- resources/read answers skill files first, then whatever it answered before
  local read = out["resources/read"]
  out["resources/read"] = function(ctx, p)
    local f = type(p.uri) == "string" and build(cat).files[p.uri]
    if not f then
      if read then return read(ctx, p) end
      fail(protocol.RESOURCE_NOT_FOUND, "Resource not found", { uri = p.uri })
    end
    local st = ctx.server.stats
    if st then st.skill_file_reads = (st.skill_file_reads or 0) + 1 end
    return { contents = json.array({ { uri = p.uri, mimeType = f.mimeType, text = served(cat, p.uri, f) } }) }
  end
end

return M
