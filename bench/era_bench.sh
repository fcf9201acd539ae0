#!/usr/bin/env bash
# Per-era benchmark (issue 14): mcptest against the fixture in each protocol
# era, over stdio (`mcptest serve --stdio`) and Streamable HTTP (`mcptest
# serve`), each against the C floor speaking the same era (stdio_floor and
# http_floor, with --modern for 2026-07-28).
#   1. wall clock: ROUNDS interleaved rounds of CALLS echo calls per client
#      (calls/s and CPU µs per call; noisy on a shared machine);
#   2. instructions per call (user space, valgrind --tool=callgrind, the
#      client process only: the server is a separate process, or a child
#      callgrind does not follow): runs of N1 and N2 calls, difference / (N2 - N1);
#   3. what `protocol = "auto"` costs to connect: instructions of a connect
#      and one call, auto against the era pinned.
# usage: bench/era_bench.sh [ROUNDS] [CALLS]   (after a build in build/; BUILD=dir)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
CALLS=${2:-2000}
WARMUP=200
N1=${BENCH_N1:-200}
N2=${BENCH_N2:-1200}
BUILD=${BUILD:-build}
BIN=$BUILD/mcptest
MODERN=2026-07-28 LEGACY=2025-11-25
field() { sed -E "s/.*\"$1\":([0-9.]+).*/\1/"; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }

work=$(mktemp -d)
"$BIN" serve --port 0 >"$work/url" 2>"$work/fixture.log" &
FX=$!
trap 'kill $FX 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do [ -s "$work/url" ] && break; sleep 0.05; done
URL=$(head -n 1 "$work/url")/mcp/open
STDIO=("$BIN" serve --stdio)

# a client command for (transport, era, who, calls, warmup)
client() {
  local t=$1 era=$2 who=$3 n=$4 w=$5 flag=()
  [ "$era" = "$MODERN" ] && flag=(--modern)
  if [ "$who" = floor ]; then
    if [ "$t" = stdio ]; then echo "$BUILD/stdio_floor ${flag[*]} $n $w -- ${STDIO[*]}"
    else echo "$BUILD/http_floor ${flag[*]} $n $w $URL"; fi
  else
    if [ "$t" = stdio ]; then echo "$BIN bench/era_echo.lua $era $n $w -- ${STDIO[*]}"
    else echo "$BIN bench/era_echo.lua $era $n $w $URL"; fi
  fi
}

echo "fixture at $URL; load at start:$(uptime | sed 's/.*load average//')"
echo "== wall clock: $ROUNDS rounds of $CALLS calls after $WARMUP warm-up calls"
echo "transport  era         floor_calls/s  mcptest_calls/s  rate_ratio  floor_cpu_us  mcptest_cpu_us  cpu_ratio"
for t in stdio http; do
  for era in $MODERN $LEGACY; do
    rates=(); cpus=(); frs=(); mrs=(); fcs=(); mcs=()
    for _ in $(seq 1 "$ROUNDS"); do
      f=$(timeout 600 $(client $t $era floor "$CALLS" $WARMUP) 2>/dev/null | grep '^{"calls')
      m=$(timeout 600 $(client $t $era mcptest "$CALLS" $WARMUP) 2>/dev/null | grep '^{"calls')
      fr=$(echo "$f" | field calls_per_s); mr=$(echo "$m" | field calls_per_s)
      fc=$(echo "$f" | field cpu_us_per_call); mc=$(echo "$m" | field cpu_us_per_call)
      frs+=("$fr"); mrs+=("$mr"); fcs+=("$fc"); mcs+=("$mc")
      rates+=("$(awk "BEGIN{printf \"%.3f\", $mr/$fr}")"); cpus+=("$(awk "BEGIN{printf \"%.2f\", $mc/$fc}")")
    done
    printf "%-9s  %-10s  %13s  %15s  %10s  %12s  %14s  %9s\n" $t $era "$(median "${frs[@]}")" "$(median "${mrs[@]}")" \
      "$(median "${rates[@]}")" "$(median "${fcs[@]}")" "$(median "${mcs[@]}")" "$(median "${cpus[@]}")"
  done
done

# user-space instructions of one client run (callgrind's "Collected")
instr() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'; }
echo "== instructions per call (callgrind, client only: runs of $N1 and $N2 calls, difference / $((N2 - N1)))"
echo "transport  era         floor_instr  mcptest_instr  ratio"
for t in stdio http; do
  for era in $MODERN $LEGACY; do
    f1=$(instr $(client $t $era floor $N1 20)); f2=$(instr $(client $t $era floor $N2 20))
    m1=$(instr $(client $t $era mcptest $N1 20)); m2=$(instr $(client $t $era mcptest $N2 20))
    fi=$(( (f2 - f1) / (N2 - N1) )); mi=$(( (m2 - m1) / (N2 - N1) ))
    printf "%-9s  %-10s  %11s  %13s  %5s\n" $t $era $fi $mi "$(awk "BEGIN{printf \"%.2f\", $mi/$fi}")"
  done
done

echo "== what auto costs: instructions of connect + 1 call (callgrind), and wall ms (median of 5)"
echo "transport  pinned_modern  auto  auto-pinned   pinned_ms  auto_ms"
for t in stdio http; do
  p=$(instr $(client $t $MODERN mcptest 1 0)); a=$(instr $(client $t auto mcptest 1 0))
  pw=(); aw=()
  for _ in 1 2 3 4 5; do
    s=$(date +%s%N); $(client $t $MODERN mcptest 1 0) >/dev/null 2>&1; e=$(date +%s%N); pw+=("$(( (e - s) / 1000000 ))")
    s=$(date +%s%N); $(client $t auto mcptest 1 0) >/dev/null 2>&1; e=$(date +%s%N); aw+=("$(( (e - s) / 1000000 ))")
  done
  printf "%-9s  %13s  %s  %11s   %9s  %7s\n" $t $p $a $((a - p)) "$(median "${pw[@]}")" "$(median "${aw[@]}")"
done
echo "load at end:$(uptime | sed 's/.*load average//')"
