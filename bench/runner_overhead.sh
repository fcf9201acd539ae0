#!/usr/bin/env bash
# The runner's own cost per test (issue 11): a generated suite of empty
# tests (50 describe blocks of 100 `it`, 5,000 tests) run with each report
# format, against a file with no test; CPU time (user + system, from
# /usr/bin/time) per test, the median of RUNS runs. CPU rather than wall
# time, so a loaded machine skews it less. Target: under 0.2 ms per empty
# test with the terminal report and with JUnit to a file.
# usage: bench/runner_overhead.sh [RUNS] [BIN]   (after a build in build/)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-5}
BIN=${2:-build/mcptest}
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
{
  echo 'for d = 1, 50 do'
  echo '  describe("block " .. d, function()'
  echo '    for i = 1, 100 do it("test " .. i, function() end) end'
  echo '  end)'
  echo 'end'
} >"$DIR/empty_spec.lua"
echo 'describe("nothing", function() end)' >"$DIR/none_spec.lua"
echo "load at start:$(uptime | sed 's/.*load average//')"

cpu() { # file, -o value -> CPU seconds of one run
  /usr/bin/time -o "$DIR/time" -f '%U %S' "$BIN" "$1" -o "$2" --allow-empty >/dev/null 2>&1 || true
  awk '{ printf "%.3f\n", $1 + $2 }' "$DIR/time"
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

for fmt in terminal tap json "junit:$DIR/junit.xml"; do
  base=$(for _ in $(seq "$RUNS"); do cpu "$DIR/none_spec.lua" "$fmt"; done | median)
  full=$(for _ in $(seq "$RUNS"); do cpu "$DIR/empty_spec.lua" "$fmt"; done | median)
  awk -v f="${fmt%%:*}" -v b="$base" -v t="$full" \
    'BEGIN { printf "%-9s 5000 empty tests: %.2f s CPU, empty file %.2f s: %.3f ms per test\n", f, t, b, (t - b) / 5 }'
done
