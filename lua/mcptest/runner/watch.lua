-- mcptest.runner.watch: `mcptest run --watch`. Runs the files, then waits
-- for a change and runs again, until Ctrl-C (or SIGTERM). Each run is a
-- fresh worker process per file (mcptest.runner.parallel), so a rerun
-- sees the files' new text and modules they require are loaded anew.
-- Watched: the suite files, every file under a DIR named, and the files
-- beside each suite (the helpers and data a suite requires or reads).
-- Changes are found by polling size and mtime every 0.2 s: portable, and
-- cheap for a test tree; a rerun runs the suites that changed, or all of
-- them when another file changed.
local fs = require("mcptest.core.fs")
local sys = require("mcptest.core.sys")

local M = {}
M.interval = 0.2

local function dirname(p) return p:match("^(.*)/[^/]*$") or "." end

-- path -> "size:mtime" of every regular file under dir (depth-limited)
local function scan(dir, out, depth)
  local names = fs.list(dir)
  if not names then return end
  for _, name in ipairs(names) do
    if name:sub(1, 1) ~= "." and name ~= "node_modules" then
      local p = (dir:sub(-1) == "/" and dir or dir .. "/") .. name
      local st = fs.stat(p)
      if st and st.type == "dir" and depth > 0 then scan(p, out, depth - 1)
      elseif st and st.type ~= "dir" then out[p] = st.size .. ":" .. st.mtime end
    end
  end
end

function M.snapshot(words, files)
  local out = {}
  for _, w in ipairs(words) do
    local st = fs.stat(w)
    if st and st.type == "dir" then scan(w, out, 16) end
  end
  for _, f in ipairs(files) do scan(dirname(f), out, 0) end
  return out
end

-- words: what was named; files: the suites; opts: as the runner's.
function M.run(words, files, opts)
  local parallel = require("mcptest.runner.parallel")
  local jobs = opts.jobs or 1
  local o = setmetatable({ jobs = jobs }, { __index = opts })
  local before = M.snapshot(words, files)
  local todo = files
  local n = 0
  while true do
    n = n + 1
    io.stderr:write("mcptest: --watch: run ", n, " (", #todo, #todo == 1 and " file" or " files", ")\n")
    local code = parallel.run(todo, o)
    if sys.interrupted() then return code end
    io.stderr:write("mcptest: --watch: exit code ", code, "; waiting for a change (Ctrl-C stops)\n")
    io.stderr:flush()
    while true do
      sys.sleep(M.interval)
      if sys.interrupted() then return code end
      local now = M.snapshot(words, require("mcptest.runner.files").expand(words) or files)
      local changed = {}
      for p, v in pairs(now) do if before[p] ~= v then changed[p] = true end end
      for p in pairs(before) do if not now[p] then changed[p] = true end end
      if next(changed) then
        before = now
        files = require("mcptest.runner.files").expand(words) or files
        todo = {}
        local others = false
        local is_suite = {}
        for _, f in ipairs(files) do is_suite[f] = true end
        for p in pairs(changed) do if not is_suite[p] then others = true end end
        if others then todo = files
        else for _, f in ipairs(files) do if changed[f] then todo[#todo + 1] = f end end end
        if #todo > 0 then break end
      end
    end
  end
end

return M
