-- mcptest.load.metrics: load mode's metrics and thresholds, k6's names and
-- expressions (DESIGN.md "Load scripts").
--
--   local m = metrics.new()
--   m:add(name, value, tags)        a sample (trend: ms; counter: n; rate:
--                                   true/false; gauge: the value now)
--   m:targets(name, tags) -> list   what such a sample updates, for
--                                   count_all(list, n), rate_all(list, passed),
--                                   trend_all(metrics.hists(list), ms)
--   m:submetric("name{tag:value,...}") -> the metric of the samples whose
--                                   tags match (created on first ask)
--   m:threshold(spec, expr) -> th | nil, err     m:evaluate(th) -> ok, observed
--   m:stats(metric) -> { avg=, min=, med=, max=, ["p(90)"]=, ... } per type
--
-- Trends keep an HDR-style histogram (mcptest.core.hist: exact to 0.4%,
-- mergeable), never the samples.
local hist = require("mcptest.core.hist")

local M = {}

-- name -> type: the metrics a run always has
M.BUILTIN = {
  mcp_reqs = "counter", mcp_req_duration = "trend", mcp_call_duration = "trend", mcp_req_failed = "rate", mcp_errors = "counter",
  iterations = "counter", iteration_duration = "trend", dropped_iterations = "counter",
  checks = "rate", vus = "gauge", vus_max = "gauge", iteration_errors = "counter",
}
-- trends are recorded in microseconds, shown and compared in ms
local US = 1000

local Metrics = {}
Metrics.__index = Metrics

local function new_metric(name, mtype, filter)
  local m = { name = name, type = mtype, filter = filter, subs = {} }
  if mtype == "trend" then m.hist = hist.new()
  elseif mtype == "counter" then m.count = 0
  elseif mtype == "rate" then m.passes, m.total = 0, 0
  else m.value, m.min, m.max = nil, nil, nil end
  return m
end

function M.new()
  local self = setmetatable({ by_name = {}, order = {}, started = nil, version = 0 }, Metrics)
  local names = {}
  for name in pairs(M.BUILTIN) do names[#names + 1] = name end
  table.sort(names)
  for _, name in ipairs(names) do self:declare(name, M.BUILTIN[name]) end
  return self
end

function Metrics:declare(name, mtype)
  if not self.by_name[name] then
    local m = new_metric(name, mtype)
    self.by_name[name] = m
    self.order[#self.order + 1] = m
  end
  return self.by_name[name]
end

local function record(m, value)
  if m.type == "trend" then m.hist:record(value * US)
  elseif m.type == "counter" then m.count = m.count + value
  elseif m.type == "rate" then
    m.total = m.total + 1
    if value then m.passes = m.passes + 1 end
  else
    m.value = value
    if m.min == nil or value < m.min then m.min = value end
    if m.max == nil or value > m.max then m.max = value end
  end
end

local function matches(filter, tags)
  for k, v in pairs(filter) do
    if tags == nil or tostring(tags[k]) ~= v then return false end
  end
  return true
end

-- A sample; an unknown name is an error of ours, not the script's.
function Metrics:add(name, value, tags)
  local m = self.by_name[name]
  record(m, value)
  for i = 1, #m.subs do
    local s = m.subs[i]
    if matches(s.filter, tags) then record(s, value) end
  end
end

-- What a sample of name with these tags updates: the metric and each
-- submetric whose filter matches, as a list for M.count_all and co. A caller on
-- every request's path keeps it per tag set, while m.version is the same
-- (a new submetric changes it).
function Metrics:targets(name, tags)
  local m = self.by_name[name]
  local list = { m }
  for i = 1, #m.subs do
    local s = m.subs[i]
    if matches(s.filter, tags) then list[#list + 1] = s end
  end
  return list
end

-- A sample into each of a list of targets, one function per type (load
-- mode calls these per request): counters, rates, and trends as their
-- histograms (M.hists of the targets).
function M.count_all(list, n)
  for i = 1, #list do local c = list[i]; c.count = c.count + n end
end
function M.rate_all(list, passed)
  for i = 1, #list do
    local r = list[i]
    r.total = r.total + 1
    if passed then r.passes = r.passes + 1 end
  end
end
local record_all = hist.record_all
function M.trend_all(hists, ms)
  record_all(hists, ms * US)
end
function M.hists(list)
  local hs = {}
  for i = 1, #list do hs[i] = list[i].hist end
  return hs
end

-- "name{tag:value,tag2:value}" -> name, filter table (nil for no braces)
function M.parse_name(spec)
  local name, inner = spec:match("^%s*([%w_]+)%s*{(.*)}%s*$")
  if not name then
    name = spec:match("^%s*([%w_]+)%s*$")
    return name, nil
  end
  local filter = {}
  for part in inner:gmatch("[^,]+") do
    local k, v = part:match("^%s*([%w_]+)%s*:%s*(.-)%s*$")
    if not k or v == "" then return nil end
    filter[k] = v
  end
  return name, filter
end

function Metrics:submetric(spec)
  local name, filter = M.parse_name(spec)
  if not name then return nil, "cannot read the metric " .. string.format("%q", spec) .. " (name or name{tag:value})" end
  local base = self.by_name[name]
  if not base then
    local known = {}
    for _, m in ipairs(self.order) do known[#known + 1] = m.name end
    return nil, "no metric named " .. name .. " (metrics: " .. table.concat(known, ", ") .. ")"
  end
  if not filter then return base end
  local keys = {}
  for k, v in pairs(filter) do keys[#keys + 1] = k .. ":" .. v end
  table.sort(keys)
  local key = name .. "{" .. table.concat(keys, ",") .. "}"
  for _, s in ipairs(base.subs) do if s.name == key then return s end end
  local s = new_metric(key, base.type, filter)
  base.subs[#base.subs + 1] = s
  self.version = self.version + 1
  return s
end

-- ===== statistics =====

local function ms(h, fn, ...)
  local v = h[fn](h, ...)
  return v and v / US or nil
end

-- elapsed: seconds the run took (counters get a per-second rate)
function Metrics:stats(m, elapsed)
  if m.type == "trend" then
    local h = m.hist
    return { count = h:count(), avg = ms(h, "mean"), min = ms(h, "min"), med = ms(h, "percentile", 50),
             max = ms(h, "max"), ["p(90)"] = ms(h, "percentile", 90), ["p(95)"] = ms(h, "percentile", 95),
             ["p(99)"] = ms(h, "percentile", 99) }
  elseif m.type == "counter" then
    return { count = m.count, rate = elapsed and elapsed > 0 and m.count / elapsed or 0 }
  elseif m.type == "rate" then
    return { rate = m.total > 0 and m.passes / m.total or nil, passes = m.passes, fails = m.total - m.passes }
  end
  return { value = m.value, min = m.min, max = m.max }
end

-- ===== thresholds =====

local OPS = {
  ["<"] = function(a, b) return a < b end, ["<="] = function(a, b) return a <= b end,
  [">"] = function(a, b) return a > b end, [">="] = function(a, b) return a >= b end,
  ["=="] = function(a, b) return a == b end, ["!="] = function(a, b) return a ~= b end,
}
-- aggregations each metric type offers (k6's)
local AGGS = {
  trend = { avg = true, min = true, max = true, med = true, count = true },
  counter = { count = true, rate = true },
  rate = { rate = true },
  gauge = { value = true, min = true, max = true },
}

-- spec: the thresholds key ("mcp_req_duration{method:tools/call}");
-- expr: "p(95)<200" or { threshold = "p(95)<200", abort_on_fail = true,
-- delay_abort_eval = "10s" }.
function Metrics:threshold(spec, expr)
  local opts = {}
  if type(expr) == "table" then
    opts = expr
    expr = expr.threshold
  end
  if type(expr) ~= "string" then
    return nil, "threshold for " .. spec .. ": give a string like \"p(95)<200\" or { threshold = ..., abort_on_fail = true }"
  end
  local m, err = self:submetric(spec)
  if not m then return nil, "threshold " .. string.format("%q", expr) .. ": " .. err end
  local agg, op, num = expr:match("^%s*([%w_]+%b())%s*([<>=!]=?)%s*([%d.eE+-]+)%s*$")
  if not agg then agg, op, num = expr:match("^%s*([%w_]+)%s*([<>=!]=?)%s*([%d.eE+-]+)%s*$") end
  local value = tonumber(num)
  if not agg or not OPS[op] or not value then
    return nil, "threshold " .. string.format("%q", expr) .. " on " .. spec
      .. ": write AGG OP NUMBER, e.g. p(95)<200, avg<100, rate<0.01, count>10"
  end
  local p = agg:match("^p%(([%d.]+)%)$")
  if p then
    if m.type ~= "trend" or not tonumber(p) or tonumber(p) < 0 or tonumber(p) > 100 then
      return nil, "threshold " .. string.format("%q", expr) .. ": p(N) applies to trends (" .. m.name .. " is a " .. m.type .. ")"
    end
  elseif not AGGS[m.type][agg] then
    local ok = {}
    for k in pairs(AGGS[m.type]) do ok[#ok + 1] = k end
    table.sort(ok)
    return nil, "threshold " .. string.format("%q", expr) .. ": " .. m.name .. " is a " .. m.type
      .. "; its aggregations are " .. table.concat(ok, ", ") .. (m.type == "trend" and ", p(N)" or "")
  end
  return { spec = spec, expr = expr, metric = m, agg = agg, pct = p and tonumber(p), op = op, value = value,
           abort_on_fail = opts.abort_on_fail == true, delay_abort_eval = opts.delay_abort_eval }
end

-- ok, observed value. A metric with no sample fails its threshold (nil
-- observed): a tag filter with a typo must not pass silently.
function Metrics:evaluate(th, elapsed)
  local m = th.metric
  local v
  if th.pct then v = ms(m.hist, "percentile", th.pct)
  else v = self:stats(m, elapsed)[th.agg] end
  if v == nil then return false, nil end
  return OPS[th.op](v, th.value), v
end

return M
