-- mcptest.cli.parse, the parser every verb shares, on its own: option
-- forms, repeats, modes of plain words, "--", errors and suggestions.
local parse = require("mcptest.cli.parse")

local verb = {
  options = {
    { title = "A",
      { "--output", "-o", arg = "FORMAT", repeatable = true, choices = { "tap", "json" },
        what = "output format", help = "" },
      { "--tags", arg = "T", repeatable = true, help = "" },
      { "--timeout", arg = "S", help = "" },
      { "--verbose", "-v", help = "" },
    },
  },
}

describe("mcptest.cli.parse", function()
  it("takes --opt value, --opt=value and aliases, before and after plain words", function()
    local opts, words = parse.parse(verb, { "-o", "tap", "a", "--timeout=5", "b", "-v" })
    assert.are.same({ "tap" }, opts["--output"])
    assert.are.equal("5", opts["--timeout"])
    assert.is_true(opts["--verbose"])
    assert.are.same({ "a", "b" }, words)
  end)

  it("collects a repeatable option in order; the last of another one wins", function()
    local opts = parse.parse(verb, { "--tags", "a", "--tags=b,c", "--timeout", "1", "--timeout", "2" })
    assert.are.same({ "a", "b,c" }, opts["--tags"])
    assert.are.equal("2", opts["--timeout"])
  end)

  it("script mode: the first word is the script, later ones and all after -- are its arguments", function()
    local opts, words, pass = parse.parse(verb, { "s.lua", "x", "-v", "y", "--", "-o", "z" }, 1, "script")
    assert.are.same({ "s.lua" }, words)
    assert.are.same({ "x", "y", "-o", "z" }, pass)
    assert.is_true(opts["--verbose"])
    assert.is_nil(opts["--output"])
  end)

  it("script mode: with no script before --, the word after it is the script", function()
    local opts, words, pass = parse.parse(verb, { "-v", "--", "-odd.lua", "-o" }, 1, "script")
    assert.are.same({ "-odd.lua" }, words)
    assert.are.same({ "-o" }, pass)
    assert.is_true(opts["--verbose"])
  end)

  it("files mode: every plain word is a file; after -- the scripts' arguments", function()
    local _, words, pass = parse.parse(verb, { "a.lua", "b.lua", "--", "c", "-v" }, 1, "files")
    assert.are.same({ "a.lua", "b.lua" }, words)
    assert.are.same({ "c", "-v" }, pass)
  end)

  it("no mode: words after -- are plain words of the verb", function()
    local opts, words = parse.parse(verb, { "x", "--", "-v", "y" })
    assert.are.same({ "x", "-v", "y" }, words)
    assert.is_nil(opts["--verbose"])
  end)

  it("a lone - is a plain word", function()
    local _, words = parse.parse(verb, { "-" })
    assert.are.same({ "-" }, words)
  end)

  it("starts at the given word", function()
    local _, words = parse.parse(verb, { "run", "a.lua" }, 2, "files")
    assert.are.same({ "a.lua" }, words)
  end)

  it("refuses an unknown option, suggesting a close one and, after a word, --", function()
    local ok, msg, hint = parse.parse(verb, { "s.lua", "--tag", "smoke" }, 1, "script")
    assert.is_nil(ok)
    assert.are.equal("unknown option --tag (did you mean --tags?)", msg)
    assert.matches("go after %-%-", hint)
    ok, msg, hint = parse.parse(verb, { "--tag=smoke", "s.lua" }, 1, "script")
    assert.are.equal("unknown option --tag (did you mean --tags?)", msg)
    assert.is_nil(hint)
    ok, msg = parse.parse(verb, { "--frobnicate" })
    assert.are.equal("unknown option --frobnicate", msg)
    ok, msg = parse.parse(verb, { "-o=tap" })
    assert.are.equal("unknown option -o=tap (did you mean -o tap?)", msg)
  end)

  it("refuses a missing value, a value to a flag and a value not among the choices", function()
    local _, msg = parse.parse(verb, { "--timeout" })
    assert.are.equal("option --timeout needs a value (S)", msg)
    _, msg = parse.parse(verb, { "--verbose=1" })
    assert.are.equal("option --verbose takes no value", msg)
    _, msg = parse.parse(verb, { "-o", "xml" })
    assert.are.equal("unknown output format xml (valid: tap, json)", msg)
  end)

  it("knows --help and -h for every verb", function()
    assert.is_true(parse.parse({ options = {} }, { "-h" })["--help"])
    assert.is_true(parse.parse(verb, { "x", "--help" }, 1, "script")["--help"])
  end)

  it("measures edit distance with swaps, and suggests only close names", function()
    assert.are.equal(0, parse.distance("abc", "abc"))
    assert.are.equal(1, parse.distance("--tag", "--tags"))
    assert.are.equal(1, parse.distance("--tgas", "--tags"))
    assert.are.equal(3, parse.distance("kitten", "sitting"))
    local names = { "--tags", "--exclude-tags", "--timeout", "-o", "-v" }
    assert.are.equal("--exclude-tags", parse.suggest("--exlude-tags", names))
    assert.are.equal("--timeout", parse.suggest("--timout", names))
    assert.is_nil(parse.suggest("--frobnicate", names))
    assert.is_nil(parse.suggest("-x", names)) -- two characters: never a guess
  end)
end)
