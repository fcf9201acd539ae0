#!/usr/bin/env bash
# `mcptest run -j` (issue 11) on tests that wait on a real server: a tree of spec files, each
# connecting to the fixture server and calling its `sleep` tool for
# SLEEP seconds (tests that wait on a server), run with -j 1, -j 2 and
# -j 4; wall time, the median of RUNS runs, and the speed-up over -j 1.
# Target: -j 2 on 2 cores at least 1.7x faster than -j 1.
# (bench/parallel_bench.sh waits with sys.sleep; this one on the fixture,
# so the server's CPU shares the 2 cores too.)
# usage: bench/parallel_server_bench.sh [RUNS] [SLEEP] [FILES] [BIN]   (after a build in build/)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
SLEEP=${2:-0.1}
FILES=${3:-200}
BIN=$(realpath "${4:-build/mcptest}")
DIR=$(mktemp -d)
FX=""
trap 'kill $FX 2>/dev/null || true; rm -rf "$DIR"' EXIT
"$BIN" serve --port 0 >"$DIR/serve.out" 2>/dev/null &
FX=$!
for _ in $(seq 100); do [ -s "$DIR/serve.out" ] && break; sleep 0.05; done
URL=$(head -n 1 "$DIR/serve.out")/mcp/open
mkdir -p "$DIR/spec"
for i in $(seq -w 1 "$FILES"); do
  cat >"$DIR/spec/s${i}_spec.lua" <<LUA
local mcp = require("mcptest")
describe("file $i", function()
  local c
  setup(function() c = mcp.connect{ url = "$URL" } end)
  teardown(function() c:close() end)
  it("waits on the server", function()
    assert.tool_ok(c:call_tool("sleep", { seconds = $SLEEP }))
  end)
end)
LUA
done
echo "load at start:$(uptime | sed 's/.*load average//')"
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
wall() { # -j value -> seconds of one run
  local t0 t1
  t0=$(date +%s.%N)
  "$BIN" run "$DIR/spec" -j "$1" -o tap >"$DIR/out" 2>&1 || { tail -20 "$DIR/out"; exit 1; }
  t1=$(date +%s.%N)
  grep -q "^ok $((10#$FILES)) " "$DIR/out" || { echo "not $FILES passing tests"; tail -5 "$DIR/out"; exit 1; }
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f\n", b - a }'
}
declare -A T
for j in 1 2 4; do
  T[$j]=$(for _ in $(seq "$RUNS"); do wall "$j"; done | median)
  awk -v j="$j" -v t="${T[$j]}" -v one="${T[1]}" -v s="$SLEEP" \
    -v n="$FILES" 'BEGIN { printf "-j %d: %d files (a %.2f s server call each) in %.2f s, %.2fx of -j 1\n", j, n, s, t, one / t }'
done
