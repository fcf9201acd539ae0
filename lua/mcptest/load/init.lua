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
  self.metrics:add("iterations", 1, sc.tags)
  self.metrics:add("iteration_duration", took * 1000, sc.tags)
  if not ok then
    self.metrics:add("iteration_errors", 1, sc.tags)
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
-- would otherwise starve every other VU and the timers).
local function yield_turn()
  local task = loop.task()
  loop.wake(task)
  coroutine.yield()
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

-- Every request any client makes while the run is on.
function Run:observe(_, method, params, seconds, result, err)
  local sc_tags = self.vu_tags[coroutine.running() or 0]
  local tags = { method = method, scenario = sc_tags and sc_tags.scenario }
  if type(params) == "table" and (method == "tools/call" or method == "prompts/get") then tags.name = params.name
  elseif type(params) == "table" and method == "resources/read" then tags.name = params.uri end
  local failed, kind = err ~= nil, nil
  if err then kind = errors.is(err) and err.kind or "error"
  elseif method == "tools/call" and type(result) == "table" and result.isError == true then failed, kind = true, "tool" end
  tags.status = failed and (kind or "error") or "ok"
  local m = self.metrics
  -- the summary breaks durations down per method and tool, and errors per
  -- kind (at most MAX_AUTO of each; more is a script's choice of names)
  self:auto("mcp_req_duration{method:" .. method .. "}")
  if tags.name and method == "tools/call" then self:auto("mcp_req_duration{name:" .. tostring(tags.name) .. "}") end
  if kind then self:auto("mcp_errors{kind:" .. kind .. "}") end
  m:add("mcp_reqs", 1, tags)
  m:add("mcp_req_duration", seconds * 1000, tags)
  m:add("mcp_req_failed", failed, tags)
  if kind then m:add("mcp_errors", 1, { kind = kind, method = method, name = tags.name }) end
  if self.points then self:point("mcp_req_duration", seconds * 1000, tags) end
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
    seen_errors_n = 0, thresholds = {}, declared = {}, auto_subs = {}, vu_tags = setmetatable({}, { __mode = "k" }) }, Run)
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
  local out = { state = { duration_s = elapsed, aborted = self.aborted or false, interrupted = self.interrupted or false },
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
  -- setup, once
  if type(env.setup) == "function" then
    local sok, data = pcall(env.setup)
    if not sok then
      io.stderr:write("mcptest load: setup failed: ", require("mcptest.secrets").scrub(tostring(data)), "\n")
      return (errors.is(data) and errors.unreachable[data.kind]) and 3 or 1
    end
    run.data = data
  end
  client.observer = function(...) return run:observe(...) end
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
