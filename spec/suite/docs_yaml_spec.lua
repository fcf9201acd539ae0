-- docs/yaml.md's ```lua block is what `mcptest compile` prints for its
-- first ```yaml block (every block of the page runs in
-- spec/docs_examples_spec.lua).
local BIN = os.getenv("MCPTEST_BIN") or "build/mcptest"
local SRC = os.getenv("MCPTEST_SRC") or "."

local function slurp(p) local f = assert(io.open(p)); local s = f:read("a"); f:close(); return s end

local doc = slurp(SRC .. "/docs/yaml.md")
local first_yaml, lua_block
do -- the fenced blocks, by their whole info string
  local info, lines
  for line in doc:gmatch("([^\n]*)\n") do
    if info then
      if line == "```" then
        local body = table.concat(lines, "\n") .. "\n"
        if info == "yaml" and not first_yaml then first_yaml = body end
        if info == "lua" then lua_block = body end
        info = nil
      else
        lines[#lines + 1] = line
      end
    else
      info = line:match("^```(.*)$")
      lines = {}
    end
  end
end

describe("docs/yaml.md", function()
  it("shows what mcptest compile prints for its first suite", function()
    assert.truthy(first_yaml)
    assert.truthy(lua_block)
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. dir))
    local f = assert(io.open(dir .. "/suite.test.yaml", "w"))
    f:write(first_yaml)
    f:close()
    local out = os.tmpname()
    local _, _, code = os.execute(string.format("cd %s && %s compile suite.test.yaml >%s 2>&1", dir, BIN, out))
    local lua = slurp(out)
    os.remove(out)
    os.execute("rm -rf " .. dir)
    assert.equals(0, code, lua)
    assert.equals(lua_block, lua)
  end)
end)
