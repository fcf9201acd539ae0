-- A bounded fuzz of the YAML suite loader, schema and compiler: mutated
-- seed suites (examples/*.test.yaml, spec/data/suite/*.test.yaml) either
-- compile to Lua that parses, or are refused with FILE:LINE:COL messages.
-- Anything else (a Lua error escaping, a message without a position, Lua
-- that does not parse) fails, with the input that did it; such an input
-- goes to spec/data/suite/fuzz/ (the corpus grows with what it finds).
--   MCPTEST_FUZZ_ITERATIONS (default 1500), MCPTEST_FUZZ_SEED (default 1)
local SRC = os.getenv("MCPTEST_SRC") or "."
local loader = require("mcptest.suite.load")
local schema = require("mcptest.suite.schema")
local compile = require("mcptest.suite.compile")

local function slurp(p) local f = assert(io.open(p)); local s = f:read("a"); f:close(); return s end

local seeds = {}
-- spec/data/suite/fuzz/ keeps inputs the fuzz found (each once broke it)
local p = io.popen("ls " .. SRC .. "/examples/*.test.yaml " .. SRC .. "/spec/data/suite/*.test.yaml "
  .. SRC .. "/spec/data/suite/fuzz/*.yaml")
for f in p:lines() do seeds[#seeds + 1] = slurp(f) end
p:close()

local seed = tonumber(os.getenv("MCPTEST_FUZZ_SEED") or "1")
local function rnd(n) seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n + 1 end

local TOKENS = { "{{ steps.a.result.x }}", "{{", "}}", "&a ", "*a", "<<: *a\n", "---\n", "!!str ", "!x ",
  ": ", "- ", "[", "]", "{", "}", "\n  ", "\n", "'", '"', "null", "~", "0x1F", "1e999", "-", "#",
  "tool: echo\n", "expect: { text: x }\n", "steps:\n  - id: a\n    tool: t\n", "lua: |\n  x(\n",
  "server: nope\n", "\t", "\0", "\xff", "|", ">", "?" }

local function mutate(text)
  for _ = 1, rnd(4) do
    local k, at = rnd(5), rnd(#text + 1)
    if k == 1 then text = text:sub(1, at - 1) .. TOKENS[rnd(#TOKENS)] .. text:sub(at)
    elseif k == 2 then text = text:sub(1, at - 1) .. text:sub(at + rnd(20))
    elseif k == 3 then text = text:sub(1, at - 1) .. string.char(rnd(256) - 1) .. text:sub(at + 1)
    elseif k == 4 then -- duplicate a line
      local a = text:find("\n", at, true)
      local b = a and text:find("\n", a + 1, true)
      if a and b then text = text:sub(1, b) .. text:sub(a + 1, b) .. text:sub(b + 1) end
    else text = text:sub(1, at - 1) .. text:sub(rnd(#text + 1), rnd(#text + 1)) .. text:sub(at) end
  end
  return text
end

-- one input: nil when it behaved, else what went wrong
local function try(text)
  local ok, res = pcall(function()
    local s, errs = loader.text(text, "f.test.yaml")
    if s then errs = schema.check(s) end
    if #errs > 0 then
      for _, e in ipairs(errs) do
        if math.type(e.line) ~= "integer" or math.type(e.column) ~= "integer" or e.line < 1
           or type(e.message) ~= "string" or e.message == "" then
          return "an error without a position: " .. tostring(e.message)
        end
      end
      return nil
    end
    local entries = compile.entries(s)
    local lua = compile.readable(entries)
    local fn, perr = load(lua, "=readable", "t")
    local fn2, perr2 = load(compile.aligned(entries), "@f.test.yaml", "t")
    if not fn and not text:find("lua:", 1, true) then return "generated Lua does not parse: " .. perr end
    if (fn == nil) ~= (fn2 == nil) then
      return "the two renderings disagree: " .. tostring(perr) .. " / " .. tostring(perr2)
    end
    return nil
  end)
  if not ok then return "raised: " .. tostring(res) end
  return res
end

describe("suite fuzz", function()
  it("has seeds", function() assert.is_true(#seeds >= 5) end)

  it("handles what it found before", function()
    local q = io.popen("ls " .. SRC .. "/spec/data/suite/fuzz/*.yaml")
    for f in q:lines() do assert.is_nil(try(slurp(f)), f) end
    q:close()
  end)

  it("survives mutated suites", function()
    local n = tonumber(os.getenv("MCPTEST_FUZZ_ITERATIONS") or "1500")
    local deadline = os.clock() + 60
    for i = 1, n do
      local input = mutate(seeds[rnd(#seeds)])
      local bad = try(input)
      if bad then
        error(string.format("iteration %d: %s\ninput (%d bytes):\n%s", i, bad, #input, input), 0)
      end
      if os.clock() > deadline then break end
    end
  end)
end)
