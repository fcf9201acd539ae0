-- The skills extension (io.modelcontextprotocol/skills, SEP-2640):
-- c:list_skills() and c:load_skill() against the fixture in both eras
-- (honest, and with each of its three lies: size, digest, frontmatter),
-- against entries that break the rules, against a server without the
-- extension, and against the official TypeScript SDK v2's own skills
-- server (spec/data/sdk2_skills_server.cjs), an implementation mcptest
-- did not write.
local mcp = require("mcptest")
local json = require("mcptest.json")
local http = require("mcptest.http")
local server = require("mcptest.server")

local SRC = os.getenv("MCPTEST_SRC") or "."
local SDK2 = os.getenv("MCPTEST_SDK2_DIR") or (SRC .. "/.deps/npm-sdk2")
local HELLO = "skill://fixture/hello/SKILL.md"
local SUMMARIZE = "skill://fixture/summarize/SKILL.md"
local STYLE = "skill://fixture/summarize/references/STYLE.md"

local fixtures = {}
local function fixture(tamper)
  local key = tamper or "honest"
  if not fixtures[key] then fixtures[key] = mcp.fixture.start{ skills_tamper = tamper } end
  return fixtures[key]
end
teardown(function() for _, f in pairs(fixtures) do f:stop() end end)

local function connect(era, tamper)
  return mcp.connect{ url = fixture(tamper).url .. "/mcp/open", timeout = 10,
                      protocol = era == "modern" and "2026-07-28" or "2025-11-25" }
end

local function skill_reads(fx)
  local stats = json.decode(assert(http.request{ url = fx.url .. "/" }).body).stats
  return stats.skill_file_reads or 0
end

local function by_uri(list)
  local t = {}
  for _, e in ipairs(list) do t[e.uri] = e end
  return t
end

for _, era in ipairs({ "modern", "legacy" }) do
  describe("skills against the fixture (" .. era .. ")", function()
    it("lists both skills with digests and sizes, and reads no skill file to do so", function()
      local c = connect(era)
      assert.are.equal(era, c.era)
      assert.is_table(c.capabilities.extensions["io.modelcontextprotocol/skills"])
      local before = skill_reads(fixture())
      local list = c:list_skills()
      assert.are.equal(2, #list)
      local s = by_uri(list)[SUMMARIZE]
      assert.are.equal("summarize", s.frontmatter.name)
      assert.are.equal("mcptest", s.frontmatter.metadata.author)
      assert.are.equal(2, #s.resources)
      assert.matches("^sha256:%x+$", s.resources[1].digest)
      assert.are.equal(before, skill_reads(fixture()), "list_skills must not prefetch skill files")
      local loaded = c:load_skill(s)
      assert.are.equal(before + 2, skill_reads(fixture()))
      assert.are.equal("summarize", loaded.frontmatter.name)
      assert.matches("^\n# Summarize", loaded.body)
      assert.matches("^# House style", loaded.files[STYLE].bytes)
      assert.are.same({ SUMMARIZE, STYLE }, loaded.order)
      assert.skill_verifies(c, by_uri(list)[HELLO])
      assert.skills_verify(c)
      c:close()
    end)

    for _, case in ipairs({
      { "size", STYLE, "size check failed: read 65 bytes, the skill entry lists 55" },
      { "digest", STYLE, "digest check failed: read sha256:" },
      { "frontmatter", SUMMARIZE, "frontmatter check failed: description: the entry has" },
    }) do
      local how, uri, says = case[1], case[2], case[3]
      it("refuses a skill whose " .. how .. " does not match, naming the check and the file", function()
        local c = connect(era, how)
        local list = by_uri(c:list_skills())
        local ok, err = pcall(c.load_skill, c, list[SUMMARIZE])
        assert.is_false(ok)
        assert.are.equal("protocol", err.kind)
        assert.are.equal(how, err.check)
        assert.are.equal(uri, err.uri)
        assert.error_message_contains(err, uri .. ": " .. says)
        assert.skill_fails_check(c, list[SUMMARIZE], how)
        assert.is_not.skill_verifies(c, list[SUMMARIZE])
        assert.skill_verifies(c, list[HELLO]) -- the lie is about summarize only
        assert.is_not.skills_verify(c)
        c:close()
      end)
    end
  end)
end

describe("skill entries", function()
  local function entry(over)
    local e = { uri = HELLO, frontmatter = { name = "hello", description = "Greets the user by name." },
                resources = { { uri = HELLO, digest = "sha256:" .. ("0"):rep(64), size = 1 } } }
    for k, v in pairs(over or {}) do e[k] = v end
    return e
  end

  it("refuses an entry that breaks the rules before reading anything", function()
    local c = connect("modern")
    local before = skill_reads(fixture())
    for _, case in ipairs({
      { entry({ uri = "skill://fixture/hello/README.md" }), "must be a URI ending in /SKILL.md" },
      { entry({ frontmatter = { name = "hello" } }), "frontmatter must be an object with string name and description" },
      { entry({ resources = { { uri = HELLO, digest = "md5:abc", size = 1 } } }), "digest must be \"sha256:\"" },
      { entry({ resources = { { uri = HELLO, digest = "sha256:" .. ("0"):rep(64), size = -1 } } }), "size must be" },
      { entry({ resources = { { uri = "skill://fixture/hello/x.md", digest = "sha256:" .. ("0"):rep(64), size = 1 } } }),
        "resources must include " .. HELLO },
      { entry({ resources = { { uri = HELLO, digest = "sha256:" .. ("0"):rep(64), size = 1 },
                              { uri = "skill://fixture/other/x.md", digest = "sha256:" .. ("0"):rep(64), size = 1 } } }),
        "is outside the skill directory" },
    }) do
      local ok, err = pcall(c.load_skill, c, case[1])
      assert.is_false(ok)
      assert.are.equal("entry", err.check)
      assert.error_message_contains(err, case[2])
    end
    assert.are.equal(before, skill_reads(fixture()))
    c:close()
  end)

  it("checks the size before the digest, and a listed file the server does not return", function()
    local c = connect("legacy")
    local e = by_uri(c:list_skills())[HELLO]
    local wrong = json.decode(json.encode(e))
    wrong.resources[1].size = wrong.resources[1].size + 1
    assert.skill_fails_check(c, wrong, "size")
    wrong = json.decode(json.encode(e))
    wrong.resources[1].digest = "sha256:" .. ("a"):rep(64)
    assert.skill_fails_check(c, wrong, "digest")
    wrong = json.decode(json.encode(e))
    wrong.resources[#wrong.resources + 1] = { uri = "skill://fixture/hello/missing.md",
                                              digest = "sha256:" .. ("0"):rep(64), size = 0 }
    assert.skill_fails_check(c, wrong, "missing")
    c:close()
  end)
end)

describe("a server without the skills extension", function()
  it("is told apart: list_skills and load_skill name the extension", function()
    local srv = server.new{ config = { port = 0 }, catalog = {
      tools = { { name = "t", inputSchema = { type = "object" }, run = function() return { content = {} } end } } } }
    srv:streamable_http("/mcp")
    local base = assert(srv:start())
    local c = mcp.connect{ url = base .. "/mcp", timeout = 5 }
    local ok, err = pcall(c.list_skills, c)
    assert.is_false(ok)
    assert.error_message_contains(err, "does not declare the io.modelcontextprotocol/skills extension")
    assert.is_not.skills_verify(c)
    c:close()
    srv:stop()
  end)
end)

describe("skills against the official TypeScript SDK v2's skills server", function()
  for _, protocol in ipairs({ "2026-07-28", "2025-11-25" }) do
    it("lists and verifies its skills (" .. protocol .. ")", function()
      local c = mcp.connect{ command = { "node", SRC .. "/spec/data/sdk2_skills_server.cjs", SDK2 },
                             timeout = 30, protocol = protocol }
      local list = c:list_skills()
      assert.are.equal(2, #list)
      assert.skills_verify(c)
      local s = by_uri(list)["skill://summarize/SKILL.md"]
      local loaded = c:load_skill(s)
      -- its YAML reader and ours agree: a folded scalar, a quoted string, a flow list
      assert.are.equal("Summarizes a text in the house style.\n", loaded.frontmatter.description)
      assert.are.equal("1.0", loaded.frontmatter.metadata.version)
      assert.are.same({ "Read", "Grep" }, loaded.frontmatter["allowed-tools"])
      local wrong = json.decode(json.encode(s))
      wrong.frontmatter.description = "something else"
      assert.skill_fails_check(c, wrong, "frontmatter")
      c:close()
    end)
  end
end)
