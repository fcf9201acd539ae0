-- A block whose setup leaves a mark (MARKER names the file): with its
-- tests filtered out, the setup must not run.
describe("starts a server", function()
  setup(function()
    local f = assert(io.open(os.getenv("MARKER"), "a")); f:write("setup\n"); f:close()
  end)
  teardown(function()
    local f = assert(io.open(os.getenv("MARKER"), "a")); f:write("teardown\n"); f:close()
  end)
  it("needs the server #server", function() end)
end)

describe("needs nothing", function()
  it("runs alone #quick", function() end)
end)
