-- mcptest.auth.cache: the token cache under ~/.mcptest/auth/ (MCPTEST_HOME
-- moves ~/.mcptest), shared safely by parallel runs.
--
--   auth/                    0700, refused if others may read or write it
--     tokens/<key>.json      one token set per server (resource) URL, 0600
--     clients/<key>.json     one client registration per issuer, 0600
--     locks/<key>.lock       flock targets, one per entry
-- <key> is the URL made readable ("127.0.0.1_8765_mcp_oauth") plus 16 hex
-- digits of its FNV-1a hash, so two URLs do not share a file (a file also
-- names its URL, checked when read).
--
-- Every write is atomic (a temporary file, fsync, rename). A refresh holds
-- the entry's lock across read-refresh-write (with_lock), so N runs with an
-- expired token refresh once and a rotated refresh token is never lost; a
-- lock holder that dies releases the lock (flock). A file that does not
-- parse is set aside as <file>.corrupt-<time> and reported, never used.
--
--   cache.tokens(url) / cache.put_tokens(url, t) / cache.remove_tokens(url)
--   cache.client(issuer) / cache.put_client(issuer, c) / cache.remove_client(issuer)
--   cache.list() -> { token sets }
--   cache.with_lock(url, fn) -> fn's results; cache.last_lock_wait (seconds)
local fs = require("mcptest.core.fs")
local sys = require("mcptest.core.sys")
local json = require("mcptest.json")
local errors = require("mcptest.errors")
local loop = require("mcptest.loop")

local M = {}

M.LOCK_TIMEOUT = 120 -- seconds a run waits for another run's refresh

function M.home()
  local h = os.getenv("MCPTEST_HOME")
  if h and h ~= "" then return h end
  local home = os.getenv("HOME")
  if not home or home == "" then
    errors.raise("usage", "neither MCPTEST_HOME nor HOME is set: mcptest has nowhere to keep its token cache")
  end
  return home .. "/.mcptest"
end

function M.dir() return M.home() .. "/auth" end

-- FNV-1a, 64 bits (Lua integers wrap): names files apart without loading
-- OpenSSL's digests on every connect (a plain connect checks the cache).
local function fnv1a64(s)
  local h = -3750763034362895579 -- 14695981039346656037 as a signed 64-bit integer
  for i = 1, #s do
    h = (h ~ s:byte(i)) * 1099511628211
  end
  return string.format("%016x", h)
end

function M.key(url)
  local readable = tostring(url):gsub("^%a[%w+.-]*://", ""):gsub("[^%w.-]+", "_"):gsub("_+$", "")
  if #readable > 80 then readable = readable:sub(1, 80) end
  return readable .. "-" .. fnv1a64(tostring(url))
end

-- A folder or file others may read or write is refused, naming the fix
-- (as ssh refuses a private key others can read).
local function check_private(path, st, want)
  if st.uid ~= fs.uid() then
    errors.raise("usage", "refusing to use the token cache: " .. path .. " belongs to uid " .. st.uid
      .. ", not to this user (uid " .. fs.uid() .. "); fix with: chown " .. fs.uid() .. " " .. path)
  end
  if st.mode & 0x3F ~= 0 then -- any group or other bit (077)
    errors.raise("usage", string.format("refusing to use the token cache: %s is accessible by others"
      .. " (mode %04o); fix with: chmod %o %s", path, st.mode, want, path))
  end
end

-- The cache folder (made 0700 with its parents when missing) and a sub-folder.
local function ensure_dir(sub)
  local home = M.home()
  local dir = M.dir()
  assert(fs.mkdir(home, 448)) -- 0700
  local st = fs.stat(dir)
  if not st then
    local ok, err = fs.mkdir(dir, 448)
    if not ok then error(err, 0) end
    st = assert(fs.stat(dir))
  end
  if st.type ~= "dir" then
    errors.raise("usage", "the token cache " .. dir .. " is not a directory; move it away")
  end
  check_private(dir, st, 448)
  local path = dir .. "/" .. sub
  local sst = fs.stat(path)
  if not sst then
    local ok, err = fs.mkdir(path, 448)
    if not ok then error(err, 0) end
  else
    check_private(path, sst, 448)
  end
  return path
end

-- Set a file that does not parse aside, and say so.
local function set_aside(path, why)
  local aside = path .. ".corrupt-" .. os.date("!%Y%m%dT%H%M%SZ") .. "-" .. require("mcptest.core.sys").pid()
  os.rename(path, aside)
  io.stderr:write("mcptest: warning: the token cache file ", path, " is corrupt (", why,
    "); set aside as ", aside, " and not used\n")
end

local function read_entry(sub, url)
  local path = ensure_dir(sub) .. "/" .. M.key(url) .. ".json"
  local st = fs.stat(path)
  if not st then return nil end
  if st.type ~= "file" then
    errors.raise("usage", "the token cache entry " .. path .. " is a " .. st.type .. ", not a file; move it away")
  end
  check_private(path, st, 384)
  local f = io.open(path, "r")
  if not f then return nil end
  local text = f:read("a")
  f:close()
  local v, err = json.try_decode(text)
  if type(v) ~= "table" or json.is_array(v) then
    set_aside(path, v == nil and tostring(err.message) or "not a JSON object")
    return nil
  end
  if v.url ~= nil and v.url ~= url then
    set_aside(path, "it names " .. tostring(v.url) .. ", not " .. url)
    return nil
  end
  return v
end

local function write_entry(sub, url, v)
  local path = ensure_dir(sub) .. "/" .. M.key(url) .. ".json"
  v.url = url
  local ok, err = fs.write_atomic(path, json.encode(v), 384) -- 0600
  if not ok then error(err, 0) end
  return v
end

local function remove_entry(sub, url)
  local path = ensure_dir(sub) .. "/" .. M.key(url) .. ".json"
  return os.remove(path) ~= nil
end

-- The URL the cache files a server's tokens under: its canonical resource
-- form (lower-case scheme and host, no default port, no trailing slash).
function M.url_key(u)
  return require("mcptest.url").canonical_resource(u) or u
end

-- Are tokens cached for this server URL? (a cheap check: one stat)
function M.has_tokens(u)
  if type(u) ~= "string" then return false end
  local ok, st = pcall(function()
    return fs.stat(M.dir() .. "/tokens/" .. M.key(M.url_key(u)) .. ".json")
  end)
  return ok and st ~= nil
end

function M.tokens(url) return read_entry("tokens", url) end
function M.put_tokens(url, t) return write_entry("tokens", url, t) end
function M.remove_tokens(url) return remove_entry("tokens", url) end
function M.client(issuer) return read_entry("clients", issuer) end
function M.put_client(issuer, c) return write_entry("clients", issuer, c) end
function M.remove_client(issuer) return remove_entry("clients", issuer) end

-- Every token set in the cache (corrupt files are set aside as read).
function M.list()
  local dir = ensure_dir("tokens")
  local out = {}
  for _, name in ipairs(fs.list(dir) or {}) do
    if name:match("%.json$") then
      local f = io.open(dir .. "/" .. name, "r")
      if f then
        local v = json.try_decode(f:read("a"))
        f:close()
        if type(v) == "table" and type(v.url) == "string" then
          local t = M.tokens(v.url)
          if t then out[#out + 1] = t end
        end
      end
    end
  end
  table.sort(out, function(a, b) return a.url < b.url end)
  return out
end

-- Run fn() holding the entry's lock; waits in the event loop (other
-- connections are served meanwhile) up to LOCK_TIMEOUT seconds.
M.last_lock_wait = 0
function M.with_lock(url, fn)
  local path = ensure_dir("locks") .. "/" .. M.key(url) .. ".lock"
  local t0 = sys.now()
  local lock, err = fs.try_lock(path)
  while lock == false do
    if sys.now() - t0 > M.LOCK_TIMEOUT then
      errors.raise("auth", "another mcptest run has held the token cache lock " .. path .. " for over "
        .. M.LOCK_TIMEOUT .. " s; if no run is refreshing a token, remove that file")
    end
    -- a task gives the loop back (the holder may be another task of this
    -- process, which must be able to finish); the main script steps it
    if loop.task() then loop.suspend(0.01) else loop.step(0.01) end
    lock, err = fs.try_lock(path)
  end
  if not lock then error(err, 0) end
  M.last_lock_wait = sys.now() - t0
  local res = table.pack(pcall(fn))
  lock:unlock()
  if not res[1] then error(res[2], 0) end
  return table.unpack(res, 2, res.n)
end

return M
