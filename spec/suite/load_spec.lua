-- YAML suites, part 1: loading (mcptest.suite.load over runtime/yaml.c):
-- YAML 1.2 core scalars, anchors/aliases/merge keys, one document, no
-- application tags, and positions of values and keys.
local loader = require("mcptest.suite.load")
local json = require("mcptest.json")

local function load(text) return loader.text(text, "s.test.yaml") end

describe("suite loading", function()
  it("reads YAML 1.2 core scalars: quoted strings stay strings, no/on/yes are strings, integers integers", function()
    local s = assert(load([[
a: "123"
b: '0x1F'
c: no
d: on
e: yes
f: 42
g: -7
h: 1.5
i: true
j: "true"
k: ~
]]))
    local d = s.doc
    assert.equals("123", d.a); assert.equals("0x1F", d.b)
    assert.equals("no", d.c); assert.equals("on", d.d); assert.equals("yes", d.e)
    assert.equals(42, d.f); assert.equals("integer", math.type(d.f))
    assert.equals(-7, d.g); assert.equals("integer", math.type(d.g))
    assert.equals(1.5, d.h); assert.equals("float", math.type(d.h))
    assert.is_true(d.i); assert.equals("true", d.j)
    assert.equals(json.null, d.k) -- kept, so an empty value is reported, not forgotten
  end)

  it("applies anchors, aliases and merge keys", function()
    local s = assert(load([[
defaults: &d { server: api, timeout: 5 }
tests:
  - <<: *d
    name: one
  - <<: *d
    name: two
    timeout: 9
]]))
    assert.equals("api", s.doc.tests[1].server); assert.equals(5, s.doc.tests[1].timeout)
    assert.equals(9, s.doc.tests[2].timeout); assert.equals("two", s.doc.tests[2].name)
  end)

  it("refuses a second document at its line", function()
    local s, errs = load("tests: []\n---\ntests: []\n")
    assert.is_nil(s)
    assert.same({ 2, 1 }, { errs[1].line, errs[1].column })
    assert.matches("second YAML document", errs[1].message)
    assert.truthy(load("---\ntests: []\n...\n")) -- one document with markers is fine
  end)

  it("refuses tags other than the core ones, on scalars and collections", function()
    local _, errs = load("tests:\n  - name: !python/str x\n")
    assert.same({ 2, 11 }, { errs[1].line, errs[1].column })
    assert.matches("tag !python/str is not supported", errs[1].message)
    local _, errs2 = load("tests: !custom [a]\n")
    assert.matches("tag !custom is not supported", errs2[1].message)
    local ok = assert(load("a: !!str 12\nb: !!map {x: 1}\nc: !!seq [1]\n"))
    assert.equals("12", ok.doc.a)
  end)

  it("knows where each value and each key stands", function()
    local s = assert(load("tests:\n  - name: x\n    tool:   echo\n"))
    local t = s.doc.tests[1]
    assert.same({ line = 3, column = 13 }, s:value(t, "tool"))
    assert.same({ line = 3, column = 5 }, s:key(t, "tool"))
    assert.same({ line = 2, column = 5 }, s:at(t))
  end)

  it("reports a syntax error at its line", function()
    local s, errs = load("tests:\n  - name: [x\n")
    assert.is_nil(s)
    assert.equals(3, errs[1].line)
  end)
end)
