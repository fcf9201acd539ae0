-- mcptest.suite.registry: named servers (docs/registry.md). Two files, the
-- same shape: `servers:`, each entry a YAML suite's server keys (url or
-- command, headers, auth, protocol, tls, timeout) plus `store:`.
--   ~/.mcptest/servers.yaml   (MCPTEST_HOME moves it; `mcptest server add` writes it)
--   mcptest.yaml              the project's, found by walking up from the
--                             working directory as git finds .git; its
--                             entries win over the home file's
-- Checked by the suite schema's own server checks; every error is
-- FILE:LINE:COL: message. Neither file is ever run as a suite.
--   registry.load() -> reg | nil, text        (cached for the process)
--   registry.get(name) -> entry | nil, text   entry: the mapping plus .name, .source
--   registry.resolve(word) -> entry | nil | false, text
--       nil: word is a URL (or nothing); false: an unknown name or a bad file
--   registry.connect_options(entry) -> mcp.connect's table
--   registry.add(name, entry) / registry.remove(name) -> true | nil, text  (the home file)
local loader = require("mcptest.suite.load")
local schema = require("mcptest.suite.schema")

local M = {}

function M.home()
  local h = os.getenv("MCPTEST_HOME")
  if h and h ~= "" then return h end
  return (os.getenv("HOME") or ".") .. "/.mcptest"
end

function M.home_file() return M.home() .. "/servers.yaml" end

local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close(); return true end
  return false
end

-- The project's mcptest.yaml: the nearest one from the working directory up.
function M.project_file()
  local sys = require("mcptest.core.sys")
  local dir = sys.getcwd and sys.getcwd() or os.getenv("PWD")
  if not dir then return nil end
  while true do
    local p = (dir == "/" and "" or dir) .. "/mcptest.yaml"
    if exists(p) then return p end
    if dir == "/" or dir == "" then return nil end
    dir = dir:match("^(.*)/[^/]*$")
    if dir == "" then dir = "/" end
  end
end

-- One file: { path, servers = { name = entry } } | nil, text.
function M.read_file(path)
  local s, err = loader.checked(path, schema.check_registry)
  if not s then return nil, err end
  local servers = {}
  for name, e in pairs(type(s.doc) == "table" and s.doc.servers or {}) do
    e.name, e.source, e.line = name, path, s:at(e).line
    servers[name] = e
  end
  return { path = path, servers = servers }
end

local cached

function M.reset() cached = nil end

function M.load()
  if cached then return cached end
  local reg = { servers = {}, files = {} }
  local errs = {}
  local files = {}
  if exists(M.home_file()) then files[#files + 1] = M.home_file() end
  local project = M.project_file()
  if project and project ~= M.home_file() then files[#files + 1] = project end
  for _, path in ipairs(files) do
    local f, err = M.read_file(path)
    if not f then errs[#errs + 1] = err
    else
      reg.files[#reg.files + 1] = path
      for name, e in pairs(f.servers) do reg.servers[name] = e end -- the project's win
    end
  end
  if #errs > 0 then return nil, table.concat(errs, "\n") end
  cached = reg
  return reg
end

-- The registered names, sorted.
function M.names()
  local reg, err = M.load()
  if not reg then return nil, err end
  local list = {}
  for k in pairs(reg.servers) do list[#list + 1] = k end
  table.sort(list)
  return list
end

function M.get(name)
  local reg, err = M.load()
  if not reg then return nil, err end
  local e = reg.servers[name]
  if e then return e end
  local names = M.names()
  local hint = schema.suggest(name, names)
  return nil, "unknown server " .. name .. (hint and (" (did you mean " .. hint .. "?)")
    or (#names > 0 and (" (registered: " .. table.concat(names, ", ") .. ")") or " (no server is registered)"))
    .. "; register it with mcptest server add " .. name .. " --url URL, or give a URL"
end

function M.is_url(word)
  return type(word) == "string" and word:match("^%a[%w+.-]*://") ~= nil
end

function M.resolve(word)
  if word == nil or word == true or M.is_url(word) then return nil end
  local e, err = M.get(word)
  if not e then return false, err end
  return e
end

-- mcp.connect's options for an entry; the auth table as the schema let it
-- through (env-var names only) with `store` for the token storage.
function M.connect_options(e)
  local o = { url = e.url, command = e.command, env = e.env, cwd = e.cwd,
              timeout = e.timeout, protocol = e.protocol, tls = e.tls }
  if e.headers then -- "Name: value" lines, as --header gives them (doctor reads these)
    o.headers = {}
    for k, v in pairs(e.headers) do o.headers[#o.headers + 1] = tostring(k) .. ": " .. tostring(v) end
    table.sort(o.headers)
  end
  if e.auth then
    o.auth = {}
    for k, v in pairs(e.auth) do o.auth[k] = v end
  end
  if e.store then
    o.auth = o.auth or {}
    o.auth.store = e.store
  end
  return o
end

-- ===== writing the home file =====

local function scalar(v)
  if type(v) == "string" then
    -- plain when YAML reads it back as the same string, else double-quoted
    if v:match("^[%w/_][%w%-_./:@%%+=?&,${}]*$") and not v:match("^%d") and not v:find(": ", 1, true)
       and not ({ ["true"] = 1, ["false"] = 1, ["null"] = 1, yes = 1, no = 1, on = 1, off = 1 })[v:lower()]
       and not v:match("[{}]") then
      return v
    end
    return (require("mcptest.json").encode(v))
  end
  return tostring(v)
end

local function emit(out, v, ind)
  local json = require("mcptest.json")
  if type(v) == "table" and json.is_array(v) then
    for _, x in ipairs(v) do
      if type(x) == "table" then out[#out + 1] = ind .. "-"; emit(out, x, ind .. "  ")
      else out[#out + 1] = ind .. "- " .. scalar(x) end
    end
    return
  end
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do
    local x = v[k]
    if type(x) == "table" then
      out[#out + 1] = ind .. scalar(k) .. ":"
      emit(out, x, ind .. "  ")
    else
      out[#out + 1] = ind .. scalar(k) .. ": " .. scalar(x)
    end
  end
end

local ORDER = { "url", "command", "env", "cwd", "headers", "auth", "protocol", "timeout", "tls", "store" }

-- The home file's text for its servers (comments are not kept).
function M.render(servers)
  local out = { "# mcptest's named servers (docs/registry.md); written by mcptest server add/remove",
                "servers:" }
  local names = {}
  for k in pairs(servers) do names[#names + 1] = k end
  table.sort(names)
  for _, name in ipairs(names) do
    local e = servers[name]
    out[#out + 1] = "  " .. scalar(name) .. ":"
    for _, k in ipairs(ORDER) do
      if e[k] ~= nil then
        if type(e[k]) == "table" then
          out[#out + 1] = "    " .. k .. ":"
          emit(out, e[k], "      ")
        else
          out[#out + 1] = "    " .. k .. ": " .. scalar(e[k])
        end
      end
    end
  end
  if #names == 0 then out[#out] = "servers: {}" end
  return table.concat(out, "\n") .. "\n"
end

local function home_servers()
  local path = M.home_file()
  if not exists(path) then return {} end
  local f, err = M.read_file(path)
  if not f then return nil, err end
  local servers = {}
  for name, e in pairs(f.servers) do
    local copy = {}
    for _, k in ipairs(ORDER) do copy[k] = e[k] end
    servers[name] = copy
  end
  return servers
end

local function write(servers)
  local fs = require("mcptest.core.fs")
  assert(fs.mkdir(M.home(), 448)) -- 0700, as the token cache
  local text = M.render(servers)
  -- the new text must read back as a valid registry before it replaces the old
  local s, errs = loader.text(text, M.home_file())
  errs = s and schema.check_registry(s) or errs
  if #errs > 0 then
    return nil, "internal error: the registry would not read back: line " .. errs[1].line .. ": " .. errs[1].message
  end
  local ok, err = fs.write_atomic(M.home_file(), text, 384) -- 0600
  if not ok then return nil, "cannot write " .. M.home_file() .. ": " .. tostring(err) end
  cached = nil
  return true
end

function M.add(name, e)
  local servers, err = home_servers()
  if not servers then return nil, err end
  servers[name] = e
  return write(servers)
end

function M.remove(name)
  local servers, err = home_servers()
  if not servers then return nil, err end
  if not servers[name] then return false end
  servers[name] = nil
  return write(servers)
end

return M
