-- mcptest.client.era_cache: the era verdict of `protocol = "auto"` kept on
-- disk for a day, per server (its URL, or its command line), so one-shot
-- verbs and -j workers pay the probe once (reference section 6.4).
--
--   <MCPTEST_HOME>/era/<key>.json   { server, era, version, reason, at }
-- <key> as the token cache names files (readable form + FNV-1a hash); the
-- file names its server, checked when read. Writes are atomic (fs.c:
-- temporary file per pid, fsync, rename), so parallel runs never read
-- half a file; two runs probing at once both write the same verdict, and
-- the last rename wins. A file that does not parse is ignored (and
-- replaced by the next verdict): the cache only saves time.
--
--   era_cache.get(server) -> entry | nil      (fresh entries only)
--   era_cache.put(server, era, version, reason)
--   era_cache.forget(server)
--   era_cache.forget_prefix(prefix)   every server under prefix (the
--     fixture, started on a port another fixture with other eras had)
-- Off when MCPTEST_ERA_CACHE=off or connect{era_cache = false}.
local fs = require("mcptest.core.fs")
local json = require("mcptest.json")
local authcache = require("mcptest.auth.cache")

local M = {}

M.TTL = 86400 -- seconds a verdict is trusted


-- The server's key: its URL, or its command line (words joined by blanks).
function M.server(opts)
  if opts.url then return tostring(opts.url) end
  local cmd = opts.command
  if type(cmd) == "table" then
    local w = {}
    for i, v in ipairs(cmd) do w[i] = tostring(v) end
    cmd = table.concat(w, " ")
  end
  if type(cmd) ~= "string" then return nil end
  if opts.cwd then cmd = cmd .. " (in " .. tostring(opts.cwd) .. ")" end
  return cmd
end

function M.enabled(opts)
  if opts.era_cache == false then return false end
  local env = os.getenv("MCPTEST_ERA_CACHE")
  if env == "off" or env == "0" then return false end
  return true
end

local function path_of(server, make)
  local ok, home = pcall(authcache.home)
  if not ok then return nil end
  local dir = home .. "/era"
  if make then
    if not fs.mkdir(home, 448) or not fs.mkdir(dir, 448) then return nil end -- 0700
  end
  return dir .. "/" .. authcache.key(server) .. ".json"
end

function M.get(server)
  if not server then return nil end
  local path = path_of(server)
  local f = path and io.open(path, "r")
  if not f then return nil end
  local v = json.try_decode(f:read("a"))
  f:close()
  if type(v) ~= "table" or v.server ~= server or (v.era ~= "modern" and v.era ~= "legacy")
     or type(v.version) ~= "string" or type(v.at) ~= "number" then
    return nil
  end
  local age = os.time() - v.at
  if age < 0 or age > M.TTL then return nil end
  return v
end

-- Best effort: a cache that cannot be written costs the next run a probe.
function M.put(server, era, version, reason)
  if not server then return end
  local path = path_of(server, true)
  if not path then return end
  fs.write_atomic(path, json.encode({ server = server, era = era, version = version,
                                      reason = reason, at = os.time() }), 384) -- 0600
end

function M.forget(server)
  local path = server and path_of(server)
  if path then os.remove(path) end
end

function M.forget_prefix(prefix)
  local ok, home = pcall(authcache.home)
  if not ok then return end
  local dir = home .. "/era"
  for _, name in ipairs(fs.list(dir) or {}) do
    local f = name:match("%.json$") and io.open(dir .. "/" .. name, "r")
    if f then
      local v = json.try_decode(f:read("a"))
      f:close()
      if type(v) == "table" and type(v.server) == "string" and v.server:sub(1, #prefix) == prefix then
        os.remove(dir .. "/" .. name)
      end
    end
  end
end

return M
