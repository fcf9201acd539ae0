-- mcptest.snapshot: values compared with a stored copy, one JSON file per
-- suite (YAML suites' `snapshot: true`; scripts may use it directly).
--   snapshot.path_for(suite_path) -> "<dir>/__snapshots__/<suite>.snap.json"
--   snapshot.check(file, key, value) -> ok, message
--       a stored value: equal (ok) or a line diff of the two (not ok);
--       none stored: written and reported (ok) on a local run, a failure
--       when the CI variable is set; snapshot.update = true (the run's
--       --update-snapshots) rewrites every checked value.
-- The file holds {"key": value, ...}, keys sorted and values pretty
-- printed with sorted keys, so it diffs well under version control.
-- assert.matches_snapshot(value, file, key) is the matcher form.
local json = require("mcptest.json")

local M = { update = false }

function M.path_for(suite_path)
  local dir, base = tostring(suite_path):match("^(.-)([^/]*)$")
  local stem = base:gsub("%.ya?ml$", ""):gsub("%.test$", ""):gsub("%.lua$", ""):gsub("_spec$", "")
  return dir .. "__snapshots__/" .. stem .. ".snap.json"
end

local function is_array(v)
  return json.is_array(v) or (#v > 0 and next(v, #v) == nil)
end

-- canonical, pretty JSON: sorted keys, two-space indentation
local function pretty(v, ind)
  ind = ind or ""
  if type(v) ~= "table" then return json.encode(v) end
  local inner = ind .. "  "
  local parts = {}
  if is_array(v) then
    if #v == 0 then return "[]" end
    for i = 1, #v do parts[i] = inner .. pretty(v[i], inner) end
    return "[\n" .. table.concat(parts, ",\n") .. "\n" .. ind .. "]"
  end
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = tostring(k) end
  if #keys == 0 then return "{}" end
  table.sort(keys)
  for _, k in ipairs(keys) do
    local x = v[k]
    if x == nil then x = v[tonumber(k)] end
    parts[#parts + 1] = inner .. json.encode(k) .. ": " .. pretty(x, inner)
  end
  return "{\n" .. table.concat(parts, ",\n") .. "\n" .. ind .. "}"
end
M.pretty = pretty

local function lines(s)
  local t = {}
  for l in (s .. "\n"):gmatch("([^\n]*)\n") do t[#t + 1] = l end
  return t
end

-- a line diff (longest common subsequence): "- stored", "+ now"
function M.diff(a, b)
  local x, y = lines(a), lines(b)
  if #x * #y > 4e6 then return "--- stored\n" .. a .. "\n+++ now\n" .. b end
  local L = {}
  for i = #x + 1, 1, -1 do
    L[i] = {}
    for j = #y + 1, 1, -1 do
      if i > #x or j > #y then L[i][j] = 0
      elseif x[i] == y[j] then L[i][j] = L[i + 1][j + 1] + 1
      else L[i][j] = math.max(L[i + 1][j], L[i][j + 1]) end
    end
  end
  local out, i, j = {}, 1, 1
  while i <= #x or j <= #y do
    if i <= #x and j <= #y and x[i] == y[j] then out[#out + 1] = "  " .. x[i]; i, j = i + 1, j + 1
    elseif i <= #x and (j > #y or L[i + 1][j] >= L[i][j + 1]) then out[#out + 1] = "- " .. x[i]; i = i + 1
    else out[#out + 1] = "+ " .. y[j]; j = j + 1 end
  end
  return table.concat(out, "\n")
end

local function read(file)
  local f = io.open(file, "rb")
  if not f then return {} end
  local text = f:read("a")
  f:close()
  local ok, v = pcall(json.decode, text)
  if not ok or type(v) ~= "table" then
    error(file .. " is not a snapshot file (a JSON object); fix or delete it", 0)
  end
  return v
end

local function write(file, all)
  local fs = require("mcptest.core.fs")
  local dir = file:match("^(.*)/[^/]*$")
  if dir then
    local ok, err = fs.mkdir(dir, tonumber("755", 8))
    if not ok then error(tostring(err), 0) end
  end
  local ok, err = fs.write_atomic(file, pretty(all) .. "\n", tonumber("644", 8))
  if not ok then error(tostring(err), 0) end
end

local function in_ci() return (os.getenv("CI") or "") ~= "" and os.getenv("CI") ~= "false" end

function M.check(file, key, value)
  local all = read(file)
  local now = pretty(value)
  local stored = all[key]
  if stored ~= nil and not M.update then
    local before = pretty(stored)
    if before == now then return true end
    return false, ("snapshot %q in %s differs (- stored, + now; --update-snapshots to accept):\n%s")
      :format(key, file, M.diff(before, now))
  end
  if stored == nil and not M.update and in_ci() then
    return false, ("snapshot %q is missing from %s and CI is set: run the suite locally (it writes"
      .. " missing snapshots) and commit the file"):format(key, file)
  end
  if stored ~= nil and pretty(stored) == now then return true end -- --update-snapshots: unchanged
  all[key] = value
  write(file, all)
  io.stderr:write(("mcptest: snapshot %q %s in %s\n"):format(key, stored == nil and "written" or "updated", file))
  return true
end

return M
