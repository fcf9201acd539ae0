-- Names with Lua pattern characters, for the selection options' specs.
describe("errors", function()
  it("answers with -32601 #smoke", function() assert.is_true(true) end)
  it("reads (fs) paths #slow-io", function() assert.is_true(true) end)
  it("lists 100% of tools", function() assert.is_true(true) end)
end)
