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
-- Two stores for an entry's secrets (docs/auth.md "Where secrets are
-- kept"): the file itself (0600; the default), or the Secret Service
-- keychain (libsecret, mcptest.core.keychain) when a login, `auth set` or
-- the auth options ask for store = "keychain". Either way the file stays
-- and keeps the non-secret metadata (expiry, scope, issuer, store), so
-- listing never unlocks the keychain, and its lock serialises both stores.
-- A keychain asked for and not available is said on stderr, and the
-- secrets go to the file (never nowhere); the file keeps store_asked, so
-- later writes (refreshes) try the keychain again.
--
--   cache.tokens(url) / cache.put_tokens(url, t) / cache.remove_tokens(url)
--   cache.client(issuer) / cache.put_client(issuer, c) / cache.remove_client(issuer)
--        t.store / c.store: "file" | "keychain" (nil: the entry's store, else file)
--   cache.meta(url) -> the token set's file, no keychain secret (nil: none)
--   cache.list() -> { token sets as their files hold them (cache.meta) }
--   cache.with_lock(url, fn) -> fn's results; cache.last_lock_wait (seconds)
--   cache.keychain_available() -> true | nil, why
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

M.STORES = { file = true, keychain = true }
-- the fields that are secrets, per entry kind: these go to the keychain
M.SECRET_FIELDS = { tokens = { "access_token", "refresh_token", "id_token", "dpop_key" },
                    clients = { "client_secret", "registration_access_token" } }
local WHAT = { tokens = "tokens", clients = "client registration" }

-- How `secret-tool search application mcptest` finds an item: the kind
-- (token | client), the cache key of its file and the URL (or issuer).
function M.keychain_attributes(sub, url)
  return { application = "mcptest", kind = sub == "tokens" and "token" or "client", key = M.key(url), url = url }
end

-- The Secret Service needs a D-Bus session; without one libsecret would
-- try to start a bus through X11, so that is checked first.
function M.keychain_available()
  local bus = os.getenv("DBUS_SESSION_BUS_ADDRESS")
  if not bus or bus == "" then return nil, "no D-Bus session: DBUS_SESSION_BUS_ADDRESS is not set" end
  return true
end

-- nil, why when the Secret Service cannot be reached or refuses.
local function keychain_call(fn, ...)
  local ok, why = M.keychain_available()
  if not ok then return nil, why end
  local res, err = require("mcptest.core.keychain")[fn](...)
  if res == nil then return nil, "the Secret Service on the D-Bus session failed: " .. tostring(err) end
  return res
end

local function entry_path(sub, url) return ensure_dir(sub) .. "/" .. M.key(url) .. ".json" end

-- The file of an entry as it is (for a keychain entry: its metadata).
local function read_file(sub, url)
  local path = entry_path(sub, url)
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

-- The entry with its secrets: a keychain entry's come from the keychain;
-- when it cannot be read the entry is as good as absent, and that is said.
local function read_entry(sub, url)
  local v = read_file(sub, url)
  if not v or v.store ~= "keychain" then return v end
  local secret, why = keychain_call("lookup", M.keychain_attributes(sub, url))
  local s = secret and json.try_decode(secret)
  if type(s) ~= "table" then
    why = why or (secret == false and "the keychain holds no item for it (removed?)" or "its keychain item is not mcptest's JSON")
    io.stderr:write("mcptest: warning: the ", WHAT[sub], " for ", url, " are in the keychain, but ", why,
      "; not used (log in again, or see docs/auth.md \"Where secrets are kept\")\n")
    return nil
  end
  for _, k in ipairs(M.SECRET_FIELDS[sub]) do v[k] = s[k] end
  v.keychain, v.fingerprint = nil, nil
  return v
end

local function write_file(sub, url, v)
  local ok, err = fs.write_atomic(entry_path(sub, url), json.encode(v), 384) -- 0600
  if not ok then error(err, 0) end
end

-- v.store asks for a store; else the entry keeps its own (the one it
-- asked for when that was not available). Returns v, its store set.
local function write_entry(sub, url, v)
  local old = read_file(sub, url)
  local asked = v.store_asked or v.store or (old and (old.store_asked or old.store)) or "file"
  if not M.STORES[asked] then
    errors.raise("usage", "store " .. string.format("%q", tostring(asked)) .. " is not one of file, keychain")
  end
  v.url, v.store, v.store_asked = url, nil, nil
  if asked == "keychain" then
    local secret, meta, held = {}, {}, {}
    for k, x in pairs(v) do meta[k] = x end
    for _, k in ipairs(M.SECRET_FIELDS[sub]) do
      if v[k] ~= nil then secret[k], meta[k], held[#held + 1] = v[k], nil, k end
    end
    if #held == 0 then
      asked = "file" -- nothing secret (a public client's registration): no item to keep
    else
      local ok, why = keychain_call("store", M.keychain_attributes(sub, url),
        "mcptest " .. (sub == "tokens" and "tokens" or "client") .. " for " .. url, json.encode(secret))
      if ok then
        meta.store, meta.keychain = "keychain", json.array(held)
        -- what `auth status` shows of the token, without unlocking anything
        if v.access_token then meta.fingerprint = require("mcptest.secrets").fingerprint(v.access_token) end
        write_file(sub, url, meta)
        v.store = "keychain"
        return v
      end
      io.stderr:write("mcptest: warning: the keychain was asked for the ", WHAT[sub], " of ", url,
        " but is not available (", why, "); they go to the 0600 file cache ", entry_path(sub, url), " instead\n")
    end
  end
  v.store = "file"
  v.store_asked = asked ~= "file" and asked or nil
  write_file(sub, url, v)
  v.store_asked = nil
  -- an entry that moved from the keychain to the file: drop the old item
  if old and old.store == "keychain" then keychain_call("clear", M.keychain_attributes(sub, url)) end
  return v
end

local function remove_entry(sub, url)
  local old = read_file(sub, url)
  if old and old.store == "keychain" then
    local ok, why = keychain_call("clear", M.keychain_attributes(sub, url))
    if ok == nil then
      io.stderr:write("mcptest: warning: could not remove the keychain item of the ", WHAT[sub], " for ", url,
        " (", why, "); `secret-tool clear application mcptest url ", url, "` removes it\n")
    end
  end
  return os.remove(entry_path(sub, url)) ~= nil
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

function M.meta(url) return read_file("tokens", url) end

-- Every token set in the cache as its file holds it (corrupt files are set
-- aside as read): a keychain entry's secrets stay in the keychain.
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
          local t = M.meta(v.url)
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
