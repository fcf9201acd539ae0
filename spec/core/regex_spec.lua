-- mcptest.regex over mcptest.core.regex (runtime/regex.c, PCRE2).
local regex = require("mcptest.regex")
local core = require("mcptest.core.regex")

describe("mcptest.regex", function()
  it("finds matches, 1-based and inclusive, unanchored unless asked", function()
    assert.same({ 2, 4 }, { regex.find("b+", "abbbc") })
    assert.is_nil(regex.find("^b", "abc"))
    assert.is_true(regex.test("^H[A-Z]{3}O$", "HELLO"))
    assert.is_false(regex.test("^H[A-Z]{3}O$", "HELLo"))
    assert.is_false(regex.test("x", 42)) -- only strings match
    assert.same({ 5, 5 }, { core.compile("a"):find("a..ba", 2) })
  end)

  it("works in UTF-8, and searches invalid UTF-8 where it is valid", function()
    assert.same({ 4, 7 }, { regex.find("é+", "cafééx") }) -- bytes 4..7: two 2-byte é
    assert.is_true(regex.test("^\\p{Lu}+$", "ÉCOLE"))
    assert.same({ 3, 3 }, { regex.find("x", "\xff\xfex") })
  end)

  it("refuses a pattern that does not compile, naming the character", function()
    local ok, err = pcall(regex.compile, "a(b")
    assert.is_false(ok)
    assert.equals("usage", err.kind)
    assert.matches("bad regular expression at character 4: missing closing parenthesis", err.message, 1, true)
  end)
end)
