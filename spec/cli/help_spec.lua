-- The help is generated from the verbs' option tables; docs/cli.md must
-- say the same: every usage line verbatim, every option and alias, every
-- output format (in the manner of luv's docscov).
local SRC = os.getenv("MCPTEST_SRC") or "."
local cli = require("mcptest.cli")
local parse = require("mcptest.cli.parse")
local help = require("mcptest.cli.help")

local function read(path)
  local f = assert(io.open(path))
  local s = f:read("a")
  f:close()
  return s
end

describe("mcptest help and docs/cli.md", function()
  local doc = read(SRC .. "/docs/cli.md")

  it("has a module with usage, summary, help and main for every verb", function()
    for _, v in ipairs(cli.verbs) do
      local verb = cli.verb(v[1])
      assert.are.equal(v[1], verb.name)
      assert.is_string(verb.summary)
      assert.is_string(verb.help)
      assert.is_true(#verb.usage > 0)
      assert.is_function(verb.main)
      for _, o in ipairs(parse.options(verb)) do
        assert.is_string(o.help, o[1])
        assert.matches("^%-", o[1])
      end
    end
  end)

  it("documents every verb's usage lines verbatim", function()
    local missing = {}
    for _, v in ipairs(cli.verbs) do
      for _, u in ipairs(cli.verb(v[1]).usage) do
        if not doc:find(u, 1, true) then missing[#missing + 1] = u end
      end
    end
    assert.are.same({}, missing)
  end)

  it("documents every option of every verb, each name in backquotes", function()
    local missing = {}
    for _, v in ipairs(cli.verbs) do
      for _, o in ipairs(parse.options(cli.verb(v[1]))) do
        for _, name in ipairs(o) do
          if not doc:find("`" .. name, 1, true) then missing[#missing + 1] = v[1] .. " " .. name end
        end
      end
    end
    assert.are.same({}, missing)
  end)

  it("documents every output format", function()
    for _, name in ipairs(require("mcptest.runner.reporters").names) do
      assert.is_truthy(doc:find("`" .. name .. "`", 1, true), name)
    end
  end)

  it("generates every verb's help with every option in it", function()
    for _, v in ipairs(cli.verbs) do
      local verb = cli.verb(v[1])
      local text = help.verb_text(verb)
      for _, o in ipairs(parse.options(verb)) do
        assert.is_truthy(text:find(help.option_label(o), 1, true), v[1] .. " " .. o[1])
      end
    end
  end)
end)
