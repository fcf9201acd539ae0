-- mcptest.runner.shard: `--shard I/N`: which files the I-th of N CI jobs
-- runs. The split depends only on the file names (and, with
-- --shard-timings, on a previous report's durations), never on the
-- machine, the clock or the order the files were given, so N jobs that
-- expand the same tree run disjoint parts whose union is the whole.
--   by name: the sorted files dealt in turn (file k to part k mod N)
--   by time: longest first, each to the part with the least time so far
--            (ties: the lower part); a file the report does not know
--            counts as the mean of those it does
local json = require("mcptest.json")

local M = {}

-- durations by file name from an mcptest -o json report
local function durations(path)
  local f, err = io.open(path, "r")
  if not f then return nil, "--shard-timings: cannot read " .. tostring(err) end
  local ok, doc = pcall(json.decode, f:read("a"))
  f:close()
  if not ok or type(doc) ~= "table" or type(doc.files) ~= "table" then
    return nil, "--shard-timings: " .. path .. " is not an mcptest JSON report (-o json)"
  end
  local d = {}
  for _, fe in ipairs(doc.files) do
    if type(fe) == "table" and type(fe.name) == "string" and tonumber(fe.duration) then
      d[fe.name] = (d[fe.name] or 0) + tonumber(fe.duration)
    end
  end
  return d
end

-- files: the run's files; i, n: the part; timings: a report path or nil.
-- Returns the part's files in the run's order, or nil and a message.
function M.split(files, i, n, timings)
  local sorted = table.move(files, 1, #files, 1, {})
  table.sort(sorted)
  local part_of = {}
  if not timings then
    for k, file in ipairs(sorted) do part_of[file] = (k - 1) % n + 1 end
  else
    local d, err = durations(timings)
    if not d then return nil, err end
    local sum, known = 0, 0
    for _, file in ipairs(sorted) do
      if d[file] then sum, known = sum + d[file], known + 1 end
    end
    local mean = known > 0 and sum / known or 1
    local cost = {}
    for _, file in ipairs(sorted) do cost[file] = d[file] or mean end
    local order = table.move(sorted, 1, #sorted, 1, {})
    table.sort(order, function(a, b)
      if cost[a] ~= cost[b] then return cost[a] > cost[b] end
      return a < b
    end)
    local load = {}
    for p = 1, n do load[p] = 0 end
    for _, file in ipairs(order) do
      local best = 1
      for p = 2, n do if load[p] < load[best] then best = p end end
      part_of[file] = best
      load[best] = load[best] + cost[file]
    end
  end
  local out = {}
  for _, file in ipairs(files) do
    if part_of[file] == i then out[#out + 1] = file end
  end
  return out
end

return M
