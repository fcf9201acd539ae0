-- retry: a test that passes on its second attempt is flaky, one that
-- fails every attempt fails with the last failure, one without the
-- option runs once.
local n_flaky, n_bad, n_once = 0, 0, 0
describe("retry", function()
  it("passes on the second attempt", { retry = 2 }, function()
    n_flaky = n_flaky + 1
    assert.is_true(n_flaky >= 2, "attempt " .. n_flaky)
  end)
  it("fails every attempt", { retry = 2 }, function()
    n_bad = n_bad + 1
    error("boom on attempt " .. n_bad, 0)
  end)
  it("runs once without the option", function()
    n_once = n_once + 1
    assert.equals(1, n_once)
  end)
  it("passes at once", { retry = 3 }, function() end)
end)
