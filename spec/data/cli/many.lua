-- Eight tests in one block, for --shuffle, --seed and --repeat.
describe("many", function()
  for i = 1, 8 do it("t" .. i, function() end) end
end)
