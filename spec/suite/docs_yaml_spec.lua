-- docs/yaml.md's examples run: every ```yaml block is a whole suite, run
-- against the built-in fixture server; the ```lua block is what
-- `mcptest compile` prints for the first one.
local BIN = os.getenv("MCPTEST_BIN") or "build/mcptest"
local SRC = os.getenv("MCPTEST_SRC") or "."

local function slurp(p) local f = assert(io.open(p)); local s = f:read("a"); f:close(); return s end

local doc = slurp(SRC .. "/docs/yaml.md")
local blocks, lua_block = {}, nil
for lang, body in doc:gmatch("\n```(%w*)\n(.-)\n```") do
  if lang == "yaml" then blocks[#blocks + 1] = body .. "\n" end
  if lang == "lua" then lua_block = body .. "\n" end
end

local function in_dir(dir, cmd)
  local out = os.tmpname()
  local _, _, code = os.execute(string.format("cd %s && FIXTURE_TOKEN=doc-token %s >%s 2>&1", dir, cmd, out))
  local text = slurp(out)
  os.remove(out)
  return code, text
end

describe("docs/yaml.md", function()
  it("has runnable examples", function()
    assert.is_true(#blocks >= 4)
    assert.truthy(lua_block)
  end)

  for i, body in ipairs(blocks) do
    it("runs yaml example " .. i .. " green", function()
      local dir = os.tmpname()
      os.remove(dir)
      assert(os.execute("mkdir -p " .. dir .. "/spec/data && cp " .. SRC .. "/spec/data/stdio_server.js " .. dir .. "/spec/data/"))
      local f = assert(io.open(dir .. "/suite.test.yaml", "w"))
      f:write(body)
      f:close()
      local code, text = in_dir(dir, BIN .. " suite.test.yaml")
      if i == 1 then
        local c2, lua = in_dir(dir, BIN .. " compile suite.test.yaml")
        assert.equals(0, c2)
        assert.equals(lua_block, lua)
      end
      os.execute("rm -rf " .. dir)
      assert.equals(0, code, text)
      assert.matches(" 0 failed, 0 errored", text, 1, true)
    end)
  end
end)
