-- mcptest.core.hist: percentiles within the stated error of the exact
-- ones, exact min/max/count, merges equal to one histogram of all the
-- samples, and import refuses tables that do not add up.
local hist = require("mcptest.core.hist")

local function exact(sorted, p)
  return sorted[math.max(1, math.ceil(p / 100 * #sorted))]
end

describe("mcptest.core.hist", function()
  it("percentiles lie within hist.ERROR of the exact ones over six decades", function()
    math.randomseed(42)
    local h, vals = hist.new(), {}
    for i = 1, 50000 do
      local v = math.floor(math.exp(math.random() * 14)) -- 1 .. 1.2e6
      vals[i] = v
      h:record(v)
    end
    table.sort(vals)
    for _, p in ipairs({ 1, 10, 50, 75, 90, 95, 99, 99.9 }) do
      local want, got = exact(vals, p), h:percentile(p)
      assert.is_true(math.abs(got - want) <= want * hist.ERROR + 0.5,
        string.format("p(%s): %s, exact %s", p, got, want))
    end
    assert.are.equal(vals[#vals], h:percentile(100))
    assert.are.equal(vals[1], h:min())
    assert.are.equal(vals[#vals], h:max())
    assert.are.equal(50000, h:count())
  end)

  it("two merged halves equal one histogram of everything", function()
    local a, b, all = hist.new(), hist.new(), hist.new()
    for i = 1, 10000 do
      local v = (i * 7919) % 100003
      if i % 2 == 0 then a:record(v) else b:record(v) end
      all:record(v)
    end
    a:merge(b)
    assert.are.same(all:export(), a:export())
    local back = hist.import(a:export())
    assert.are.equal(all:percentile(95), back:percentile(95))
  end)

  it("record_all records one value into each histogram of a list, as record does", function()
    local a, b, one = hist.new(), hist.new(), hist.new()
    for i = 1, 1000 do
      local v = (i * 7919) % 100003 + 0.4
      hist.record_all({ a, b }, v)
      one:record(v)
    end
    assert.are.same(one:export(), a:export())
    assert.are.same(one:export(), b:export())
    hist.record_all({}, 5) -- an empty list: nothing to do
    assert.has_error(function() hist.record_all({ a, {} }, 1) end, "hist.record_all: item 2 of the list is not a histogram")
    assert.has_error(function() hist.record_all({ a }, -1) end)
    assert.are.equal(1000, a:count())
  end)

  it("an empty histogram has no percentile; bad input is refused", function()
    local h = hist.new()
    assert.is_nil(h:percentile(50))
    assert.is_nil(h:mean())
    assert.has_error(function() h:record(-1) end)
    assert.has_error(function() h:percentile(101) end)
    assert.has_error(function() hist.import({ count = 2, buckets = { { 5, 1 } } }) end, "histogram: buckets hold 1 samples, count says 2")
    assert.has_error(function() hist.import({ count = 1, buckets = { { 99999, 1 } } }) end, "histogram: bucket 1 out of range")
  end)
end)
