-- Every public Lua function and client method is documented (in the manner
-- of luv's docscov): a name missing from docs/ fails here.
local SRC = os.getenv("MCPTEST_SRC") or "."

local function read_docs()
  local all = {}
  local p = io.popen("cat " .. SRC .. "/docs/*.md")
  all[#all + 1] = p:read("a")
  p:close()
  return table.concat(all, "\n")
end

describe("documentation coverage", function()
  local docs = read_docs()

  local function check(prefix, tbl, skip)
    local missing = {}
    for name, v in pairs(tbl) do
      if type(v) == "function" and not name:match("^_") and not (skip and skip[name])
         and not docs:find(prefix .. name, 1, true) then
        missing[#missing + 1] = prefix .. name
      end
    end
    table.sort(missing)
    assert.are.same({}, missing)
  end

  it("documents every function of require('mcptest')", function()
    check("mcp.", require("mcptest"))
  end)

  it("documents every client method", function()
    -- internal plumbing the client core uses itself
    local internal = { start = true, await = true, dispatch = true, answer = true, send = true,
                       log = true, list_all = true, handler_failed = true, wake = true }
    check("c:", require("mcptest.client").Client, internal)
  end)

  it("documents every JSON function", function()
    check("json.", require("mcptest.json"))
  end)
end)
