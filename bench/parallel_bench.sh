#!/usr/bin/env bash
# run -j N (issue 11): wall time of a generated suite tree at -j 1, 2, 4.
# Two trees of FILES files (default 200), each file a describe of 5 tests:
#   wait:  one test waits 40 ms (sys.sleep: a test waiting on a server
#          costs the runner no CPU), four do nothing
#   empty: five tests that do nothing (what a worker per file costs)
# Each figure is the median wall time of RUNS runs (default 3); uptime's
# load average is printed, as other work on the machine skews wall time.
# usage: bench/parallel_bench.sh [RUNS] [FILES] [BIN]   (after a build in build/)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
FILES=${2:-200}
BIN=${3:-build/mcptest}
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
mkdir -p "$DIR/wait" "$DIR/empty"
for i in $(seq -w 1 "$FILES"); do
  cat >"$DIR/wait/f${i}_spec.lua" <<LUA
describe("file $i", function()
  it("waits", function() require("mcptest.core.sys").sleep(0.04) end)
  for k = 1, 4 do it("empty " .. k, function() end) end
end)
LUA
  cat >"$DIR/empty/f${i}_spec.lua" <<LUA
describe("file $i", function()
  for k = 1, 5 do it("empty " .. k, function() end) end
end)
LUA
done
echo "load at start:$(uptime | sed 's/.*load average//'); $(nproc) cores"
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
wall() { # tree, jobs -> seconds of one run
  local t0 t1
  t0=$(date +%s.%N)
  "$BIN" run "$1" -j "$2" -o junit:"$DIR/junit.xml" >/dev/null 2>&1 || true
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f\n", b - a }'
}
for tree in wait empty; do
  one=
  for j in 1 2 4; do
    s=$(for _ in $(seq "$RUNS"); do wall "$DIR/$tree" "$j"; done | median)
    [ -z "$one" ] && one=$s
    awk -v t="$tree" -v j="$j" -v s="$s" -v o="$one" -v n="$FILES" \
      'BEGIN { printf "%-5s %d files -j %d: %6.2f s  (%.2fx of -j 1)\n", t, n, j, s, o / s }'
  done
done
