-- mcptest.load: `mcptest load SCRIPT.lua`, k6's model in Lua (DESIGN.md
-- "Load scripts"). Virtual users are tasks on the one event loop (no
-- threads): a VU runs iterations of the script's default(data, vu), and
-- every request any client makes is timed through the client's observer
-- into the metrics (mcptest.load.metrics). Scenarios run side by side,
-- each with its executor:
--   constant-vus          { vus, duration }
--   ramping-vus           { start_vus, stages = { { duration, target }, ... } }
--   constant-arrival-rate { rate, time_unit = "1s", duration, pre_allocated_vus, max_vus }
--                         (an open model: iterations start on schedule; with
--                         no free VU one is dropped and counted)
--   per-vu-iterations     { vus, iterations, max_duration }
--   shared-iterations     { vus, iterations, max_duration }
-- Thresholds decide the exit code (0 held, 1 crossed; abort_on_fail ends
-- the run early); 2 is a usage error, 3 a setup that could not reach its
-- server.
local loop = require("mcptest.loop")
local errors = require("mcptest.errors")
local json = require("mcptest.json")
local sys = require("mcptest.core.sys")
local client = require("mcptest.client")
local metrics_mod = require("mcptest.load.metrics")
local count_all, rate_all, trend_all = metrics_mod.count_all, metrics_mod.rate_all, metrics_mod.trend_all

local M = {}
local now = sys.now

M.GRACEFUL_STOP = 30 -- seconds iterations in flight may take after a scenario's end

-- "1m30s", "500ms", "2h", "10s", 10 -> seconds
function M.duration(v, what)
  if type(v) == "number" and v >= 0 then return v end
  if type(v) ~= "string" or v == "" then return nil, what .. " must be a duration like \"30s\", \"1m30s\" or \"500ms\"" end
  local total, rest = 0, v
  local units = { h = 3600, m = 60, s = 1, ms = 0.001 }
  while rest ~= "" do
    local n, u, tail = rest:match("^(%d+%.?%d*)(m?s?h?)(.*)$")
    if not n or not units[u] then return nil, what .. ": cannot read the duration " .. string.format("%q", v) end
    total = total + tonumber(n) * units[u]
    rest = tail
  end
  return total
end

local EXECUTORS = {
  ["constant-vus"] = { vus = "number", duration = "duration" },
  ["ramping-vus"] = { start_vus = "number", stages = "table" },
  ["constant-arrival-rate"] = { rate = "number", time_unit = "duration", duration = "duration",
                                pre_allocated_vus = "number", max_vus = "number" },
  ["per-vu-iterations"] = { vus = "number", iterations = "number", max_duration = "duration" },
  ["shared-iterations"] = { vus = "number", iterations = "number", max_duration = "duration" },
}
local COMMON = { executor = "string", tags = "table", start_time = "duration", graceful_stop = "duration", exec = "string" }

-- A scenario table checked and normalised; nil, message on a mistake.
function M.check_scenario(name, s)
  if type(s) ~= "table" then return nil, "scenario " .. name .. " must be a table" end
  local keys = EXECUTORS[s.executor]
  if not keys then
    local known = {}
    for k in pairs(EXECUTORS) do known[#known + 1] = k end
    table.sort(known)
    return nil, "scenario " .. name .. ": executor " .. string.format("%q", tostring(s.executor))
      .. " is not one of " .. table.concat(known, ", ")
  end
  local out = { name = name, executor = s.executor, tags = s.tags or {}, exec = s.exec or "default" }
  for k, v in pairs(s) do
    local want = keys[k] or COMMON[k]
    if not want then
      local ok = {}
      for kk in pairs(keys) do ok[#ok + 1] = kk end
      for kk in pairs(COMMON) do ok[#ok + 1] = kk end
      table.sort(ok)
      return nil, "scenario " .. name .. " (" .. s.executor .. "): unknown key " .. tostring(k)
        .. "; known: " .. table.concat(ok, ", ")
    end
    if want == "duration" then
      local d, err = M.duration(v, "scenario " .. name .. "." .. k)
      if not d then return nil, err end
      out[k] = d
    elseif want == "number" then
      if type(v) ~= "number" or v < 0 or v ~= math.floor(v) and k ~= "rate" then
        return nil, "scenario " .. name .. "." .. k .. " must be a whole number >= 0"
      end
      out[k] = v
    elseif k ~= "executor" and k ~= "tags" and k ~= "exec" then
      if type(v) ~= want then return nil, "scenario " .. name .. "." .. k .. " must be a " .. want end
      out[k] = v
    end
  end
  local e = s.executor
  if (e == "constant-vus" or e == "constant-arrival-rate") and not out.duration then
    return nil, "scenario " .. name .. " (" .. e .. ") needs a duration"
  end
  if e == "constant-arrival-rate" and not (out.rate and out.rate > 0) then
    return nil, "scenario " .. name .. " (constant-arrival-rate) needs a rate > 0"
  end
  if e == "ramping-vus" then
    if #out.stages == 0 then return nil, "scenario " .. name .. " (ramping-vus) needs stages = { { duration = ..., target = ... } }" end
    for i, st in ipairs(out.stages) do
      local d, err = M.duration(st.duration, "scenario " .. name .. ".stages[" .. i .. "].duration")
      if not d then return nil, err end
      if type(st.target) ~= "number" or st.target < 0 then
        return nil, "scenario " .. name .. ".stages[" .. i .. "].target must be a number >= 0"
      end
      out.stages[i] = { duration = d, target = math.floor(st.target) }
    end
  end
  if (e == "per-vu-iterations" or e == "shared-iterations") and not out.iterations then
    out.iterations = 1
  end
  out.vus = out.vus or (e == "constant-arrival-rate" and nil or 1)
  out.time_unit = out.time_unit or 1
  out.pre_allocated_vus = out.pre_allocated_vus or (e == "constant-arrival-rate" and math.max(1, math.ceil(out.rate or 1)) or nil)
  out.max_vus = math.max(out.max_vus or 0, out.pre_allocated_vus or 0)
  out.start_time = out.start_time or 0
  out.graceful_stop = out.graceful_stop or M.GRACEFUL_STOP
  return out
end

-- ===== the run =====

local Run = {}
Run.__index = Run

-- A VU: the table the script sees (id, iteration, scenario, its own state)
function Run:new_vu(sc)
  self.vu_count = self.vu_count + 1
  local vu = { id = self.vu_count, iteration = 0, scenario = sc.name }
  self.active_vus = self.active_vus + 1
  self.metrics:add("vus", self.active_vus)
  self.metrics:add("vus_max", self.vu_count)
  return vu
end

function Run:release_vu()
  self.active_vus = self.active_vus - 1
  self.metrics:add("vus", self.active_vus)
end

-- One iteration of vu: the scenario's function under pcall; an error ends
-- the iteration, is counted and shown once per distinct message.
function Run:iterate(sc, vu)
  vu.iteration = vu.iteration + 1
  local fn = self.env[sc.exec]
  local t0 = now()
  self.vu_tags[coroutine.running()] = sc.tags
  local ok, err = pcall(fn, self.data, vu)
  local took = now() - t0
  local m = self.metrics
  local plan = sc.iteration_plan -- what its samples update (see request_plan)
  if not plan or plan.version ~= m.version then
    plan = { version = m.version, iterations = m:targets("iterations", sc.tags),
             duration = metrics_mod.hists(m:targets("iteration_duration", sc.tags)) }
    sc.iteration_plan = plan
  end
  count_all(plan.iterations, 1)
  trend_all(plan.duration, took * 1000)
  if not ok then
    m:add("iteration_errors", 1, sc.tags)
    local msg = require("mcptest.secrets").scrub(errors.is(err) and tostring(err) or tostring(err))
    if not self.seen_errors[msg] then
      self.seen_errors[msg] = true
      self.seen_errors_n = self.seen_errors_n + 1
      if self.seen_errors_n <= 10 then
        io.stderr:write("mcptest load: ", sc.name, " VU ", vu.id, " iteration ", vu.iteration, ": ", msg, "\n")
      end
    end
  end
end

-- Give the loop a turn between iterations (a script that never waits
-- would otherwise starve every other VU and the timers), unless the
-- iteration waited (the task was resumed since the last turn): then the
-- loop had its turns, and a request's iteration skips a wake and a yield.
local function yield_turn()
  local task = loop.task()
  if task.turns ~= task.turns_seen then task.turns_seen = task.turns; return end
  loop.wake(task)
  coroutine.yield()
  task.turns_seen = task.turns
end

function Run:spawn(fn, ...)
  local task = loop.spawn(fn, ...)
  self.tasks[#self.tasks + 1] = task
  return task
end

-- Start a scenario at its start_time; each executor spawns its VUs.
function Run:start_scenario(sc)
  sc.started = true
  local t_start = self.t0 + sc.start_time
  sc.ends = sc.duration and (t_start + sc.duration) or (sc.max_duration and (t_start + sc.max_duration)) or math.huge
  local e = sc.executor
  if e == "constant-vus" then
    for _ = 1, sc.vus do
      self:spawn(function()
        local vu = self:new_vu(sc)
        while not self.stopping and now() < sc.ends do self:iterate(sc, vu); yield_turn() end
        self:release_vu()
      end)
    end
  elseif e == "per-vu-iterations" then
    for _ = 1, sc.vus do
      self:spawn(function()
        local vu = self:new_vu(sc)
        for _ = 1, sc.iterations do
          if self.stopping or now() >= sc.ends then break end
          self:iterate(sc, vu); yield_turn()
        end
        self:release_vu()
      end)
    end
  elseif e == "shared-iterations" then
    local left = sc.iterations
    for _ = 1, sc.vus do
      self:spawn(function()
        local vu = self:new_vu(sc)
        while left > 0 and not self.stopping and now() < sc.ends do
          left = left - 1
          self:iterate(sc, vu); yield_turn()
        end
        self:release_vu()
      end)
    end
  elseif e == "ramping-vus" then
    -- the target at time t: linear within each stage
    local total = 0
    for _, st in ipairs(sc.stages) do total = total + st.duration end
    sc.ends = t_start + total
    local function target(t)
      local from, at = sc.start_vus or 0, t_start
      for _, st in ipairs(sc.stages) do
        if t < at + st.duration then
          return math.floor(from + (st.target - from) * (t - at) / st.duration + 0.5)
        end
        from, at = st.target, at + st.duration
      end
      return from
    end
    local running, slots = 0, {}
    local function vu_loop(slot)
      local vu = self:new_vu(sc)
      running = running + 1
      while not self.stopping and now() < sc.ends and slot <= target(now()) do
        self:iterate(sc, vu); yield_turn()
      end
      running = running - 1
      slots[slot] = nil
      self:release_vu()
    end
    local function adjust()
      if self.stopping or now() >= sc.ends then return end
      local want = target(now())
      for slot = 1, want do
        if not slots[slot] then slots[slot] = true; self:spawn(vu_loop, slot) end
      end
      loop.after(0.1, adjust)
    end
    adjust()
  elseif e == "constant-arrival-rate" then
    local interval = sc.time_unit / sc.rate
    local free = {}
    for _ = 1, sc.pre_allocated_vus do free[#free + 1] = self:new_vu(sc); self:release_vu() end
    local created = sc.pre_allocated_vus
    local next_at = t_start
    local function run_one(vu)
      self.active_vus = self.active_vus + 1
      self.metrics:add("vus", self.active_vus)
      self:iterate(sc, vu)
      self:release_vu()
      free[#free + 1] = vu
    end
    local function tick()
      if self.stopping then return end
      local t = now()
      while next_at <= t and next_at < sc.ends do
        local vu = table.remove(free)
        if not vu and created < sc.max_vus then
          vu = self:new_vu(sc); self:release_vu()
          created = created + 1
        end
        if vu then self:spawn(run_one, vu)
        else self.metrics:add("dropped_iterations", 1, sc.tags) end
        next_at = next_at + interval
      end
      if next_at < sc.ends then loop.after(math.max(0, next_at - now()), tick) end
    end
    tick()
  end
end

-- What a request's samples update, per (scenario, method, name, status):
-- the metrics and histograms, found once (submetrics created, tags
-- matched) and kept while no new submetric appears. A run whose names
-- never repeat (a URI per read) stops keeping new ones past MAX_PLANS.
local MAX_PLANS = 1000
function Run:request_plan(sc_tags, method, name, status, kind)
  local m = self.metrics
  local scen = sc_tags and sc_tags.scenario or false
  local by = self.plans[scen]
  if not by then by = {}; self.plans[scen] = by end
  local by_method = by[method]
  if not by_method then by_method = {}; by[method] = by_method end
  local nkey = name
  if nkey == nil then nkey = false end
  local by_name = by_method[nkey]
  if not by_name then by_name = {}; by_method[nkey] = by_name end
  local plan = by_name[status]
  if plan and plan.version == m.version then return plan end
  -- the summary breaks durations down per method and tool, and errors per
  -- kind (at most MAX_AUTO of each; more is a script's choice of names)
  self:auto("mcp_req_duration{method:" .. method .. "}")
  if name ~= nil and method == "tools/call" then self:auto("mcp_req_duration{name:" .. tostring(name) .. "}") end
  if kind then self:auto("mcp_errors{kind:" .. kind .. "}") end
  local tags = { method = method, scenario = sc_tags and sc_tags.scenario, name = name, status = status }
  local hists = metrics_mod.hists
  plan = { version = m.version, tags = tags,
           reqs = m:targets("mcp_reqs", tags), dur = hists(m:targets("mcp_req_duration", tags)),
           call = hists(m:targets("mcp_call_duration", tags)), failed = m:targets("mcp_req_failed", tags),
           errors = kind and m:targets("mcp_errors", { kind = kind, method = method, name = name }) }
  if by_name[status] or self.plan_count < MAX_PLANS then
    if not by_name[status] then self.plan_count = self.plan_count + 1 end
    by_name[status] = plan
  end
  return plan
end

-- Every request any client makes while the run is on: a counter, two
-- trends and a rate, each with the submetrics its tags match.
function Run:observe(_, method, params, seconds, result, err, wire)
  local sc_tags = self.vu_tags[coroutine.running() or 0]
  local name
  if type(params) == "table" then
    if method == "tools/call" or method == "prompts/get" then name = params.name
    elseif method == "resources/read" then name = params.uri end
  end
  local failed, kind = err ~= nil, nil
  if err then kind = errors.is(err) and err.kind or "error"
  elseif method == "tools/call" and type(result) == "table" and result.isError == true then failed, kind = true, "tool" end
  local plan = self:request_plan(sc_tags, method, name, failed and (kind or "error") or "ok", kind)
  -- the wire time, as k6's http_req_duration; the whole call in Lua too
  local wire_ms = (wire or seconds) * 1000
  count_all(plan.reqs, 1)
  trend_all(plan.dur, wire_ms)
  trend_all(plan.call, seconds * 1000)
  rate_all(plan.failed, failed)
  if kind then count_all(plan.errors, 1) end
  if self.points then self:point("mcp_req_duration", wire_ms, plan.tags) end
end

M.MAX_AUTO = 20
function Run:auto(spec)
  local a = self.auto_subs
  if a[spec] then return end
  a.n = (a.n or 0) + 1
  if a.n > M.MAX_AUTO * 3 then return end
  a[spec] = true
  self.metrics:submetric(spec)
end

-- k6's JSON output: one Point per sample, Metric lines declared first
function Run:point(name, value, tags)
  local f = self.points
  if not self.declared[name] then
    self.declared[name] = true
    local m = self.metrics.by_name[name]
    f:write(json.encode({ type = "Metric", metric = name, data = { name = name, type = m.type,
      contains = m.type == "trend" and "time" or "default", thresholds = json.array({}), submetrics = json.null } }), "\n")
  end
  local t = sys.time()
  f:write(json.encode({ type = "Point", metric = name, data = {
    time = os.date("!%Y-%m-%dT%H:%M:%S", math.floor(t)) .. string.format(".%06dZ", math.floor((t % 1) * 1e6)),
    value = value, tags = tags } }), "\n")
end

-- The global check(value, { name = fn(value) -> bool }) -> all passed
function Run:check(value, set)
  if type(set) ~= "table" then errors.raise("usage", "check(value, { [\"name\"] = function(v) return ... end })") end
  local all = true
  local names = {}
  for name in pairs(set) do names[#names + 1] = name end
  table.sort(names, function(a, b) return tostring(a) < tostring(b) end)
  for _, name in ipairs(names) do
    local fn = set[name]
    local ok, res = pcall(fn, value)
    local passed = ok and res and true or false
    if not passed then all = false end
    self.metrics:add("checks", passed, { check = tostring(name) })
    local c = self.checks[name]
    if not c then
      c = { name = tostring(name), passes = 0, fails = 0 }
      self.checks[name] = c
      self.check_order[#self.check_order + 1] = c
    end
    if passed then c.passes = c.passes + 1 else c.fails = c.fails + 1 end
    if self.points then self:point("checks", passed and 1 or 0, { check = tostring(name) }) end
  end
  return all
end

M.Run = Run

function M.new_run(env, options, flags)
  local run = setmetatable({ env = env, options = options, flags = flags or {}, metrics = metrics_mod.new(),
    tasks = {}, vu_count = 0, active_vus = 0, checks = {}, check_order = {}, seen_errors = {},
    seen_errors_n = 0, thresholds = {}, declared = {}, auto_subs = {}, plans = {}, plan_count = 0, vu_tags = setmetatable({}, { __mode = "k" }) }, Run)
  return run
end

-- The scenarios of options, with the flags applied (they win, as k6's do).
function M.scenarios(options, flags)
  local list = {}
  local f = flags or {}
  if f.vus or f.duration or f.iterations or f.rate then
    local s
    if f.rate then
      s = { executor = "constant-arrival-rate", rate = f.rate, duration = f.duration or "10s",
            pre_allocated_vus = f.vus or math.max(1, math.ceil(f.rate)) }
    elseif f.iterations then
      s = { executor = "shared-iterations", vus = f.vus or 1, iterations = f.iterations, max_duration = f.duration }
    else
      s = { executor = "constant-vus", vus = f.vus or 1, duration = f.duration or "10s" }
    end
    local sc, err = M.check_scenario("default", s)
    if not sc then return nil, err end
    sc.tags = { scenario = "default" }
    return { sc }
  end
  if type(options.scenarios) == "table" and next(options.scenarios) then
    local names = {}
    for name in pairs(options.scenarios) do names[#names + 1] = name end
    table.sort(names)
    for _, name in ipairs(names) do
      local sc, err = M.check_scenario(name, options.scenarios[name])
      if not sc then return nil, err end
      sc.tags = setmetatable({ scenario = name }, { __index = sc.tags })
      list[#list + 1] = sc
    end
    return list
  end
  -- k6's shortcuts: options.vus / duration / iterations / stages
  local s
  if options.stages then s = { executor = "ramping-vus", start_vus = options.vus or 0, stages = options.stages }
  elseif options.duration then s = { executor = "constant-vus", vus = options.vus or 1, duration = options.duration }
  else s = { executor = "shared-iterations", vus = options.vus or 1, iterations = options.iterations or 1 } end
  local sc, err = M.check_scenario("default", s)
  if not sc then return nil, err end
  sc.tags = { scenario = "default" }
  return { sc }
end


-- ===== several machines: --shard I/N, --start-at TIME =====

-- "I/N" -> i, n (1 <= I <= N); nil, message otherwise.
function M.parse_shard(v)
  local i, n = tostring(v):match("^(%d+)/(%d+)$")
  i, n = tonumber(i), tonumber(n)
  if not i or n < 1 or i < 1 or i > n then
    return nil, "--shard takes I/N with 1 <= I <= N, e.g. --shard 2/4 (not " .. tostring(v) .. ")"
  end
  return i, n
end

-- Shard i's whole share of total among n: the shares of 1..n add up to
-- total exactly (so N machines together run what one would).
local function share(total, i, n)
  if not total then return nil end
  return total * i // n - total * (i - 1) // n
end

-- The i-th of n shares of every scenario: its VUs (and stage targets),
-- iterations, arrival rate and VU pools. Scenario names and tags stay, so
-- the shards' summaries merge metric by metric.
function M.shard(list, i, n)
  if n == 1 then return list end
  for _, sc in ipairs(list) do
    local e = sc.executor
    if e == "constant-arrival-rate" then
      sc.rate = sc.rate / n
      sc.pre_allocated_vus = math.max(1, share(sc.pre_allocated_vus, i, n))
      sc.max_vus = math.max(sc.pre_allocated_vus, share(sc.max_vus, i, n))
    elseif e == "ramping-vus" then
      sc.start_vus = share(sc.start_vus or 0, i, n)
      for _, st in ipairs(sc.stages) do st.target = share(st.target, i, n) end
    elseif e == "shared-iterations" then
      sc.iterations = share(sc.iterations, i, n)
      sc.vus = math.max(1, share(sc.vus, i, n))
    else -- constant-vus, per-vu-iterations: a share of the VUs
      sc.vus = share(sc.vus, i, n)
    end
  end
  return list
end

-- Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
-- days_from_civil), so a UTC time needs no time zone from the C library.
local function days_from_civil(y, m, d)
  y = m <= 2 and y - 1 or y
  local era = (y >= 0 and y or y - 399) // 400
  local yoe = y - era * 400
  local doy = (153 * (m + (m > 2 and -3 or 9)) + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  return era * 146097 + doe - 719468
end

-- --start-at: Unix seconds, or an RFC 3339 time ("2026-12-04T16:30:00Z",
-- an offset like +01:00 allowed) -> Unix seconds; nil, message otherwise.
function M.parse_time(v)
  v = tostring(v)
  if v:match("^%d+%.?%d*$") then return tonumber(v) end
  local Y, Mo, D, h, mi, sec, frac, zone = v:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)[Tt ](%d%d):(%d%d):(%d%d)(%.?%d*)(.*)$")
  local off
  if zone == "Z" or zone == "z" then off = 0
  elseif zone then
    local sign, zh, zm = zone:match("^([+-])(%d%d):(%d%d)$")
    if sign then off = (tonumber(zh) * 3600 + tonumber(zm) * 60) * (sign == "-" and -1 or 1) end
  end
  if not off then
    return nil, "--start-at takes Unix seconds or an RFC 3339 time with its zone, e.g. 2026-12-04T16:30:00Z (not " .. v .. ")"
  end
  local t = days_from_civil(tonumber(Y), tonumber(Mo), tonumber(D)) * 86400
    + tonumber(h) * 3600 + tonumber(mi) * 60 + tonumber(sec) + (tonumber("0" .. frac) or 0) - off
  return t
end

-- ===== the summary =====

local function fmt_ms(v)
  if v == nil then return "-" end
  if v >= 1000 then return string.format("%.2fs", v / 1000) end
  if v >= 1 then return string.format("%.2fms", v) end
  return string.format("%.0fµs", v * 1000)
end

local function dots(name, width)
  return name .. string.rep(".", math.max(2, width - #name)) .. ":"
end

function Run:summary_lines(elapsed)
  local lines, m = {}, self.metrics
  local function metric_line(mt, label)
    local st = m:stats(mt, elapsed)
    if mt.type == "trend" then
      if st.count == 0 then return end
      lines[#lines + 1] = string.format("     %s avg=%s min=%s med=%s max=%s p(90)=%s p(95)=%s p(99)=%s", dots(label, 40),
        fmt_ms(st.avg), fmt_ms(st.min), fmt_ms(st.med), fmt_ms(st.max), fmt_ms(st["p(90)"]), fmt_ms(st["p(95)"]), fmt_ms(st["p(99)"]))
    elseif mt.type == "counter" then
      if st.count == 0 and mt.name ~= "mcp_reqs" and mt.name ~= "iterations" then return end
      lines[#lines + 1] = string.format("     %s %d %.2f/s", dots(label, 40), st.count, st.rate)
    elseif mt.type == "rate" then
      if st.passes + st.fails == 0 then return end
      lines[#lines + 1] = string.format("     %s %.2f%% ✓ %d ✗ %d", dots(label, 40), (st.rate or 0) * 100, st.passes, st.fails)
    else
      if st.value == nil then return end
      lines[#lines + 1] = string.format("     %s %s min=%s max=%s", dots(label, 40), tostring(st.value), tostring(st.min), tostring(st.max))
    end
  end
  for _, c in ipairs(self.check_order) do
    lines[#lines + 1] = string.format("     %s %s ✓ %d ✗ %d", c.fails == 0 and "✓" or "✗", c.name, c.passes, c.fails)
  end
  if #self.check_order > 0 then lines[#lines + 1] = "" end
  for _, mt in ipairs(m.order) do
    metric_line(mt, mt.name)
    for _, sub in ipairs(mt.subs) do metric_line(sub, "  { " .. sub.name:match("{(.*)}") .. " }") end
  end
  if #self.thresholds > 0 then lines[#lines + 1] = "" end
  for _, th in ipairs(self.thresholds) do
    local ok, v = m:evaluate(th, elapsed)
    th.ok, th.observed = ok, v
    local shown = v == nil and "no samples" or (th.metric.type == "trend" and fmt_ms(v) or string.format("%.4g", v))
    lines[#lines + 1] = string.format("   %s %s: %s (%s=%s)", ok and "✓" or "✗", th.spec, th.expr, th.agg, shown)
  end
  return lines
end

function Run:report(elapsed)
  local m = self.metrics
  local out = { state = { duration_s = elapsed, aborted = self.aborted or false, interrupted = self.interrupted or false,
                          shard = self.flags.shard and (self.flags.shard[1] .. "/" .. self.flags.shard[2]) or nil },
                metrics = {}, thresholds = json.array({}), checks = json.array({}) }
  local function put(mt)
    local st = m:stats(mt, elapsed)
    local entry = { type = mt.type, values = st }
    if mt.hist then entry.histogram = mt.hist:export(); entry.histogram.buckets = json.array(entry.histogram.buckets); entry.histogram.unit = "µs" end
    out.metrics[mt.name] = entry
  end
  for _, mt in ipairs(m.order) do
    put(mt)
    for _, sub in ipairs(mt.subs) do put(sub) end
  end
  for _, th in ipairs(self.thresholds) do
    out.thresholds[#out.thresholds + 1] = { metric = th.spec, threshold = th.expr, ok = th.ok, observed = th.observed }
  end
  for _, c in ipairs(self.check_order) do out.checks[#out.checks + 1] = { name = c.name, passes = c.passes, fails = c.fails } end
  return out
end

-- JUnit: each threshold a testcase, so CI shows which one failed
function Run:junit(elapsed)
  local function esc(s) return (tostring(s):gsub("[%c]", " "):gsub("&", "&amp;"):gsub("<", "&lt;"):gsub(">", "&gt;"):gsub('"', "&quot;")) end
  local failures = 0
  for _, th in ipairs(self.thresholds) do if not th.ok then failures = failures + 1 end end
  local out = { '<?xml version="1.0" encoding="UTF-8"?>',
    string.format('<testsuites name="mcptest load" tests="%d" failures="%d" time="%.3f">', #self.thresholds, failures, elapsed),
    string.format('  <testsuite name="thresholds" tests="%d" failures="%d" time="%.3f">', #self.thresholds, failures, elapsed) }
  for _, th in ipairs(self.thresholds) do
    local name = esc(th.spec .. ": " .. th.expr)
    if th.ok then
      out[#out + 1] = string.format('    <testcase classname="thresholds" name="%s"/>', name)
    else
      local msg = esc(string.format("%s crossed: %s=%s", th.expr, th.agg, th.observed == nil and "no samples" or tostring(th.observed)))
      out[#out + 1] = string.format('    <testcase classname="thresholds" name="%s"><failure message="%s" type="threshold">%s</failure></testcase>', name, msg, msg)
    end
  end
  out[#out + 1] = "  </testsuite>"
  out[#out + 1] = "</testsuites>"
  return table.concat(out, "\n") .. "\n"
end

-- ===== merging the summaries of several runs (`mcptest report merge`) =====

-- A -o json summary of `mcptest load`?
function M.is_summary(doc)
  return type(doc) == "table" and type(doc.metrics) == "table" and type(doc.state) == "table" and doc.tests == nil
end

-- docs: decoded summaries (the shards of one load, run side by side).
-- Returns a run whose summary_lines/report/junit are the merged run's, and
-- its duration; or nil, message. Counters, rates and checks add up;
-- histograms merge bucket by bucket and every percentile is recomputed
-- from the merged counts; gauges add up (the shards ran at once); the
-- duration is the longest shard's; each threshold is evaluated again on
-- the merged metrics.
function M.merge(docs, names)
  local hist = require("mcptest.core.hist")
  local run = M.new_run({}, {}, {})
  local m = run.metrics
  local elapsed, shards = 0, {}
  for d, doc in ipairs(docs) do
    local where = names and names[d] or ("summary " .. d)
    local st = doc.state
    elapsed = math.max(elapsed, tonumber(st.duration_s) or 0)
    if st.aborted then run.aborted = true end
    if st.interrupted then run.interrupted = true end
    if st.shard then
      if shards[st.shard] then
        io.stderr:write("mcptest: warning: shard ", st.shard, " is in ", shards[st.shard], " and in ", where, "; both are counted\n")
      end
      shards[st.shard] = where
    end
    local mnames = {}
    for name in pairs(doc.metrics) do mnames[#mnames + 1] = name end
    table.sort(mnames)
    for _, name in ipairs(mnames) do
      local e = doc.metrics[name]
      local mt, err = m:submetric(name)
      if not mt then
        local base = name:match("^([%w_]+)")
        if type(e) ~= "table" or not metrics_mod.BUILTIN[base] and not e.type then return nil, where .. ": " .. err end
        mt = m:declare(base, e.type)
        mt = m:submetric(name)
      end
      if type(e) ~= "table" or e.type ~= mt.type then
        return nil, where .. ": metric " .. name .. " is a " .. tostring(type(e) == "table" and e.type) .. ", not a " .. mt.type
      end
      local v = type(e.values) == "table" and e.values or {}
      if mt.type == "trend" then
        if type(e.histogram) ~= "table" then return nil, where .. ": trend " .. name .. " has no histogram (written by an older mcptest?)" end
        local ok, h = pcall(hist.import, e.histogram)
        if not ok then return nil, where .. ": the histogram of " .. name .. ": " .. tostring(h) end
        mt.hist:merge(h)
      elseif mt.type == "counter" then
        mt.count = mt.count + (tonumber(v.count) or 0)
      elseif mt.type == "rate" then
        local p, f = tonumber(v.passes) or 0, tonumber(v.fails) or 0
        mt.passes, mt.total = mt.passes + p, mt.total + p + f
      else
        for _, k in ipairs({ "value", "min", "max" }) do
          if tonumber(v[k]) then mt[k] = (mt[k] or 0) + tonumber(v[k]) end
        end
      end
    end
    for _, c in ipairs(type(doc.checks) == "table" and doc.checks or {}) do
      local have = run.checks[c.name]
      if not have then
        have = { name = tostring(c.name), passes = 0, fails = 0 }
        run.checks[c.name] = have
        run.check_order[#run.check_order + 1] = have
      end
      have.passes = have.passes + (tonumber(c.passes) or 0)
      have.fails = have.fails + (tonumber(c.fails) or 0)
    end
    -- every distinct threshold of any summary, evaluated again below
    for _, t in ipairs(type(doc.thresholds) == "table" and doc.thresholds or {}) do
      local key = tostring(t.metric) .. "\0" .. tostring(t.threshold)
      if not run.seen_errors[key] then
        run.seen_errors[key] = true
        local th, terr = m:threshold(tostring(t.metric), t.threshold)
        if not th then return nil, where .. ": " .. terr end
        run.thresholds[#run.thresholds + 1] = th
      end
    end
  end
  run.merged = #docs
  for _, th in ipairs(run.thresholds) do th.ok, th.observed = m:evaluate(th, elapsed) end
  return run, elapsed
end

-- ===== running a script =====

-- path: the script; flags: { vus=, duration=, iterations=, rate=,
-- outputs = { {format=, path=} }, out_json = path, quiet = bool }.
-- Returns the exit code.
function M.execute(path, flags)
  local function usage(msg) io.stderr:write("mcptest load: ", msg, "\n"); return 2 end
  local env = setmetatable({}, { __index = _G })
  env._G = env
  local chunk, lerr = loadfile(path, "t", env)
  if not chunk then return usage(tostring(lerr)) end
  local run
  env.check = function(v, set) return run:check(v, set) end
  local ok, err = pcall(chunk)
  if not ok then return usage("the script failed while loading: " .. tostring(err)) end
  local options = env.options or {}
  if type(options) ~= "table" then return usage("options must be a table") end
  for k in pairs(options) do
    if not ({ scenarios = true, thresholds = true, vus = true, duration = true, iterations = true, stages = true })[k] then
      return usage("options: unknown key " .. tostring(k) .. " (scenarios, thresholds, vus, duration, iterations, stages)")
    end
  end
  run = M.new_run(env, options, flags)
  local scenarios, serr = M.scenarios(options, flags)
  if not scenarios then return usage(serr) end
  if flags.shard then M.shard(scenarios, flags.shard[1], flags.shard[2]) end
  for _, sc in ipairs(scenarios) do
    if type(env[sc.exec]) ~= "function" then
      return usage("scenario " .. sc.name .. " runs " .. sc.exec .. "(data, vu), which the script does not define")
    end
  end
  -- thresholds, checked before anything runs
  local ths = options.thresholds or {}
  local keys = {}
  for k in pairs(ths) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, spec in ipairs(keys) do
    local list = ths[spec]
    if type(list) ~= "table" or (list.threshold ~= nil) then list = { list } end
    for _, expr in ipairs(list) do
      local th, terr = run.metrics:threshold(spec, expr)
      if not th then return usage(terr) end
      run.thresholds[#run.thresholds + 1] = th
    end
  end
  if flags.out_json then
    local f, ferr = io.open(flags.out_json, "w")
    if not f then return usage("cannot write " .. flags.out_json .. ": " .. tostring(ferr)) end
    run.points = f
  end
  -- every client of the run (setup's and the VUs') is held, and closed
  -- after teardown: a session per VU ends with the run, not with the
  -- server's idle timeout
  local held_before = client.held
  client.hold()
  -- setup, once
  if type(env.setup) == "function" then
    local sok, data = pcall(env.setup)
    if not sok then
      io.stderr:write("mcptest load: setup failed: ", require("mcptest.secrets").scrub(tostring(data)), "\n")
      client.close_held()
      client.held = held_before
      return (errors.is(data) and errors.unreachable[data.kind]) and 3 or 1
    end
    run.data = data
  end
  -- --start-at: N machines that got the same time start their VUs
  -- together (after their own setup, whose cost then does not skew them)
  if flags.start_at then
    local wait = flags.start_at - sys.time()
    if wait < -1 then
      io.stderr:write(string.format("mcptest load: --start-at was %.1f s ago; starting now\n", -wait))
    end
    while flags.start_at - sys.time() > 0 do
      if sys.interrupted() then run.stopping, run.interrupted = true, true; break end
      loop.step(math.min(0.25, flags.start_at - sys.time()))
    end
  end
  client.observer = function(...) return run:observe(...) end
  -- the incremental collector, a cycle when the heap is 1.5x the live
  -- data: Lua 5.4's generational mode (main.c's) traverses every thread at
  -- every minor collection, and a load run has a coroutine per VU; at
  -- 1,000 VUs it was no cheaper per request and peaked at 71 MB of RSS
  -- against 54 MB (docs/performance.md). Step multiplier 400: each step
  -- does twice the default's work, so a cycle ends after half as much new
  -- garbage (the same work per cycle; 3 MB less at 1,000 VUs). Up to 200
  -- VUs a cycle waits for the heap to double (pause 200: 1.8% fewer
  -- instructions per request at 16 VUs); past that, memory comes first:
  -- pause 130 holds 1,000 VUs at 55 MB (150: 62 MB, now that a VU starts
  -- its next request without waiting for the loop's next round), for
  -- about 20% more CPU per request there.
  local most_vus = 0 -- the most VUs the scenarios may have at once
  for _, sc in ipairs(scenarios) do
    local n = math.max(sc.vus or 0, sc.max_vus or 0, sc.start_vus or 0)
    for _, st in ipairs(sc.stages or {}) do n = math.max(n, st.target) end
    most_vus = most_vus + n
  end
  collectgarbage("incremental", most_vus <= 200 and 200 or 130, 400)
  run.t0 = now()
  for _, sc in ipairs(scenarios) do
    if sc.start_time > 0 then
      loop.after(sc.start_time, function() run:start_scenario(sc) end)
    else
      run:start_scenario(sc)
    end
  end
  local function ends()
    local e = run.t0
    for _, sc in ipairs(scenarios) do
      local se = sc.ends or (run.t0 + sc.start_time + (sc.duration or sc.max_duration or math.huge))
      if se ~= math.huge and se > e then e = se end
    end
    return e
  end
  local tty = sys.isatty(2) and not flags.quiet
  local next_live, next_eval = now() + 1, now() + 1
  local hard_end
  while true do
    -- done when every scenario has started, no VU runs, and no scenario
    -- still schedules (an arrival rate or a ramp may have no VU for a while)
    local busy = false
    for _, sc in ipairs(scenarios) do
      if not sc.started or ((sc.executor == "constant-arrival-rate" or sc.executor == "ramping-vus")
                            and now() < sc.ends and not run.stopping) then busy = true end
    end
    if not busy then
      for _, t in ipairs(run.tasks) do if not t.done then busy = true; break end end
    end
    if not busy then break end
    if sys.interrupted() and not run.stopping then
      run.stopping, run.interrupted = true, true
      hard_end = now() + 2
    end
    local t = now()
    if not hard_end and t > ends() then hard_end = ends() + math.max(0, scenarios[1].graceful_stop) end
    if hard_end and t > hard_end then
      io.stderr:write("mcptest load: iterations still running after the graceful stop were abandoned\n")
      break
    end
    if t >= next_eval then
      next_eval = t + 1
      for _, th in ipairs(run.thresholds) do
        if th.abort_on_fail then
          local delay = th.delay_abort_eval and M.duration(th.delay_abort_eval, "delay_abort_eval") or 0
          local tok, v = run.metrics:evaluate(th, t - run.t0)
          if not tok and v ~= nil and t - run.t0 >= delay and not run.stopping then
            run.stopping, run.aborted = true, true
            io.stderr:write("mcptest load: threshold ", th.spec, ": ", th.expr, " crossed, aborting the run\n")
          end
        end
      end
    end
    if tty and t >= next_live then
      next_live = t + 1
      local d = run.metrics.by_name.mcp_req_duration
      local reqs = run.metrics.by_name.mcp_reqs.count
      io.stderr:write(string.format("\r  %5.1fs  VUs %d  reqs %d (%.0f/s)  p95 %s  errors %d   ", t - run.t0, run.active_vus,
        reqs, reqs / math.max(0.001, t - run.t0), fmt_ms(d.hist:percentile(95) and d.hist:percentile(95) / 1000),
        run.metrics.by_name.mcp_errors.count))
    end
    loop.step(0.05)
  end
  if tty then io.stderr:write("\n") end
  client.observer = nil
  local elapsed = now() - run.t0
  if type(env.teardown) == "function" then
    local tok, terr = pcall(env.teardown, run.data)
    if not tok then io.stderr:write("mcptest load: teardown failed: ", tostring(terr), "\n") end
  end
  client.close_held()
  client.held = held_before
  if run.points then run.points:close() end
  local lines = run:summary_lines(elapsed)
  local text = table.concat(lines, "\n") .. "\n"
  local report = run:report(elapsed)
  local to_stdout = false
  for _, o in ipairs(flags.outputs or {}) do
    local body = o.format == "json" and (json.encode(report) .. "\n") or o.format == "junit" and run:junit(elapsed) or text
    if o.path then
      local f, ferr = io.open(o.path, "w")
      if not f then return usage("cannot write " .. o.path .. ": " .. tostring(ferr)) end
      f:write(body)
      f:close()
    else
      to_stdout = true
      io.write(body)
    end
  end
  if not to_stdout then
    io.write(string.format("\n  scenarios: %d, %s, %d VUs max%s\n\n", #scenarios, fmt_ms(elapsed * 1000),
      run.vu_count, run.aborted and " (aborted by a threshold)" or run.interrupted and " (interrupted)" or ""))
    io.write(text)
  end
  for _, th in ipairs(run.thresholds) do if not th.ok then return 1 end end
  if run.interrupted then return 1 end
  return 0
end

return M
