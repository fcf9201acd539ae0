#!/bin/bash
# bench/yaml_suite.sh: YAML suites (issue 12) measured.
#  1. compile a 10,000-test suite (mcptest compile): wall time and peak RSS
#  2. run 1,000 tests against the fixture as a YAML suite and as the same
#     tests written in Lua by hand, side by side (best of 3 each)
# usage: bench/yaml_suite.sh [BIN]   (from the repository root)
set -e
BIN=${1:-build/mcptest}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

gen_yaml() { # N tests
  echo "servers:"
  echo "  fx: { fixture: true }"
  echo "tests:"
  for i in $(seq 1 "$1"); do
    echo "  - name: echo $i"
    echo "    tool: echo"
    echo "    args: { message: m$i, uppercase: true }"
    echo "    expect: { text: M$i, is_error: false, path: { \"\$.content[0].type\": text } }"
  done
}
gen_lua() { # the same tests as a person writes them
  echo 'local mcp = require("mcptest")'
  echo 'describe("bench", function()'
  echo '  local c'
  echo '  lazy_setup(function() c = mcp.connect{ url = mcp.fixture.start{}.url .. "/mcp/open" } end)'
  for i in $(seq 1 "$1"); do
    echo "  it(\"echo $i\", function()"
    echo "    local r = c:call_tool(\"echo\", { message = \"m$i\", uppercase = true })"
    echo "    assert.text_equals(r, \"M$i\")"
    echo "    assert.tool_ok(r)"
    echo "    assert.path_equals(r, \"\$.content[0].type\", \"text\")"
    echo "  end)"
  done
  echo 'end)'
}

gen_yaml 10000 > "$T/big.test.yaml"
echo "compile 10,000 tests ($(wc -c < "$T/big.test.yaml") bytes of YAML):"
for i in 1 2 3; do
  /usr/bin/time -f "  %e s wall, %U s user, peak RSS %M KB" "$BIN" compile "$T/big.test.yaml" > "$T/big.lua"
done
echo "  $(wc -l < "$T/big.lua") lines of Lua"

gen_yaml 1000 > "$T/k.test.yaml"
gen_lua 1000 > "$T/k_spec.lua"
best() { # command... -> best wall time of 3
  local b=
  for i in 1 2 3; do
    local s=$(date +%s.%N)
    "$@" > "$T/out" 2>&1 || { cat "$T/out"; exit 1; }
    local e=$(date +%s.%N)
    local d=$(echo "$e - $s" | bc)
    if [ -z "$b" ] || [ "$(echo "$d < $b" | bc)" = 1 ]; then b=$d; fi
  done
  echo "$b"
}
echo "run 1,000 tests against the fixture (best of 3):"
echo "  YAML suite:     $(best "$BIN" "$T/k.test.yaml") s"
echo "  Lua by hand:    $(best "$BIN" run "$T/k_spec.lua") s"
