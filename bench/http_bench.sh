#!/usr/bin/env bash
# Streamable HTTP benchmark (issue 3): mcptest vs the bare libcurl floor,
# against server-everything over HTTP on 127.0.0.1, one server for the whole
# run, rounds interleaved so machine noise hits both alike. Each round: 200
# warm-up calls, then CALLS sequential tools/call echo in one session.
# Prints each round and the median ratios. Every client run is bounded (timeout 600).
# usage: bench/http_bench.sh [ROUNDS] [CALLS]   (after a build in build/;
#        BUILD=dir to use another build directory)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-5}
CALLS=${2:-2000}
WARMUP=200
BUILD=${BUILD:-build}
SE=.deps/npm/node_modules/@modelcontextprotocol/server-everything/dist/index.js
[ -f "$SE" ] || scripts/deps.sh
. scripts/env.sh # the Node 20 deps.sh installed when the system one is older
BIN=$BUILD/mcptest
FLOOR=$BUILD/http_floor
field() { sed -E "s/.*\"$1\":([0-9.]+).*/\1/"; }

PORT=$(node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
PORT=$PORT timeout 900 node -r ./spec/lib/loopback.js "$SE" streamableHttp >/dev/null 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
URL=http://127.0.0.1:$PORT/mcp
for _ in $(seq 1 100); do
  curl -s --max-time 2 -o /dev/null "http://127.0.0.1:$PORT/" && break
  sleep 0.1
done

echo "server-everything streamableHttp at $URL; $CALLS calls per round after $WARMUP warm-up calls; load at start:$(uptime | sed 's/.*load average//')"
echo "round  floor_calls/s  mcptest_calls/s  rate_ratio  floor_cpu_us  mcptest_cpu_us  cpu_ratio  floor_rss_kib  mcptest_rss_kib"
ratios=(); cpus=(); rsss=()
for r in $(seq 1 "$ROUNDS"); do
  f=$(timeout 600 "$FLOOR" "$CALLS" "$WARMUP" "$URL")
  m=$(timeout 600 "$BIN" bench/http_echo.lua "$CALLS" "$WARMUP" "$URL" 2>/dev/null | grep "^{\"calls")
  fr=$(echo "$f" | field calls_per_s); mr=$(echo "$m" | field calls_per_s)
  fc=$(echo "$f" | field cpu_us_per_call); mc=$(echo "$m" | field cpu_us_per_call)
  frss=$(echo "$f" | field max_rss_kib); rss=$(echo "$m" | field max_rss_kib)
  rr=$(awk "BEGIN{printf \"%.3f\", $mr/$fr}"); cr=$(awk "BEGIN{printf \"%.2f\", $mc/$fc}")
  ratios+=("$rr"); cpus+=("$cr"); rsss+=("$rss")
  printf "%5d  %13s  %15s  %10s  %12s  %14s  %9s  %13s  %15s\n" "$r" "$fr" "$mr" "$rr" "$fc" "$mc" "$cr" "$frss" "$rss"
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
echo "median rate ratio (mcptest/floor): $(median "${ratios[@]}")   target >= 0.90"
echo "median CPU-per-call ratio:         $(median "${cpus[@]}")   (no target since the one request path; was <= 2.00)"
echo "max peak RSS (KiB):                $(printf '%s\n' "${rsss[@]}" | sort -n | tail -n 1)   target < 15360"
echo "load at end:$(uptime | sed 's/.*load average//')"
