-- runner/time_limit_spec runs this with --test-timeout 0.5: every block is
-- stuck in a way that once hung the run (a pcall swallowing the limit, a
-- loop in a hook, a loop inside a coroutine); each must fail at its limit
-- and the run go on.
local mcp = require("mcptest")

it("retries a dead server forever under pcall", function()
  local ok
  repeat ok = pcall(mcp.connect, { url = "http://127.0.0.1:9/mcp", timeout = 1 }) until ok
end)

it("swallows every error in a loop", function()
  while true do pcall(function() while true do end end) end
end)

it("loops inside a coroutine", function()
  local co = coroutine.wrap(function() while true do end end)
  co()
end)

it("loops with pcall inside a coroutine made before the test", function()
  local co = coroutine.create(function() while true do pcall(function() while true do end end) end end)
  while true do pcall(coroutine.resume, co) end
end)

describe("a stuck teardown", function()
  teardown(function() while true do pcall(error, "x") end end)
  it("passes before it", function() end)
end)

describe("a stuck before_each", function()
  before_each(function() while true do end end)
  it("never starts", function() end)
end)

describe("a stuck after_each", function()
  after_each(function() while true do pcall(error, "y") end end)
  it("passes first", function() end)
end)

it("runs after the stuck ones, where coroutines behave as usual", function()
  local gen = coroutine.wrap(function(a) local b = coroutine.yield(a + 1); return b * 2 end)
  assert.are.equal(2, gen(1))
  assert.are.equal(10, gen(5))
  local co = coroutine.create(function(...) coroutine.yield(select("#", ...)); error({ code = 7 }) end)
  assert.are.same({ true, 3 }, { coroutine.resume(co, 1, nil, 3) })
  local ok, e = coroutine.resume(co)
  assert.is_false(ok)
  assert.are.equal(7, e.code)
  assert.are.same({ false, "cannot resume dead coroutine" }, { coroutine.resume(co) })
  local ok2, e2 = pcall(coroutine.wrap(function() error("boom") end))
  assert.is_false(ok2)
  assert.matches("boom", e2)
end)
