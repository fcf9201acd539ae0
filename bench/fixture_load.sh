#!/usr/bin/env bash
# bench/fixture_load.sh: a load test of the fixture on loopback. 200
# concurrent clients (wrk connections) call tools/call echo for 10 seconds
# with JSON answers, then for 10 seconds with SSE answers, then 10 more
# with JSON; every answer must be right (id and text match the request,
# status 200, no socket errors), and the server's RSS, sampled every
# second, must level off: the peak of the last phase may not exceed the
# peak of the first by more than 25% + 8 MiB.
#
#   bench/fixture_load.sh [path/to/mcptest]
#   env: CONNECTIONS (200), DURATION (10s), THREADS (2), CHECK_RSS (1)
# Prints one line per phase and "load: ok" or "load: FAILED: why"; exit 0/1.
set -u
cd "$(dirname "$0")/.."
BIN=${1:-${MCPTEST_BIN:-build/mcptest}}
CONNECTIONS=${CONNECTIONS:-200}
DURATION=${DURATION:-10s}
THREADS=${THREADS:-2}
CHECK_RSS=${CHECK_RSS:-1}
command -v wrk >/dev/null || { echo "wrk is missing (apt-get install wrk, or scripts/deps.sh)" >&2; exit 2; }
[ -x "$BIN" ] || { echo "no mcptest binary at $BIN" >&2; exit 2; }
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../spec/lib/scratch.sh" load # TMP, PIDS, cleanup on exit

timeout 900 "$BIN" serve --port 0 >"$TMP/out" 2>"$TMP/err" &
SPID=$!
PIDS+=($SPID)
for i in $(seq 1 200); do [ -s "$TMP/out" ] && break; sleep 0.05; done
URL=$(head -n1 "$TMP/out")/mcp/open
case "$URL" in http://127.0.0.1:*) ;; *) echo "load: FAILED: the fixture did not start: $(cat "$TMP/err")"; exit 1 ;; esac
SID=$(curl -s --max-time 10 -D - -o /dev/null -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
  -d '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"load","version":"1"}}}' \
  "$URL" | grep -i '^mcp-session-id:' | awk '{print $2}' | tr -d '\r')
[ -n "$SID" ] || { echo "load: FAILED: no session"; exit 1; }

MPID=$(pgrep -P $SPID | head -n1) # the server itself, below `timeout`
[ -n "$MPID" ] || MPID=$SPID
rss() { awk '/^VmRSS:/ {print $2}' "/proc/$MPID/status" 2>/dev/null || echo 0; }
FAIL=""
phase() { # label [sse]
  local label=$1 peak=0 r
  ( while kill -0 $SPID 2>/dev/null; do rss; sleep 1; done ) >"$TMP/rss.$label" &
  local sampler=$!
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --timeout 10s -s bench/fixture_echo.wrk.lua "$URL" -- "$SID" fixture ${2:-} \
    >"$TMP/wrk.$label" 2>&1
  kill $sampler 2>/dev/null; wait $sampler 2>/dev/null
  for r in $(cat "$TMP/rss.$label"); do [ "$r" -gt "$peak" ] && peak=$r; done
  local right wrong rps sock
  right=$(awk '/^answers right:/ {print $3}' "$TMP/wrk.$label")
  wrong=$(awk '/^answers wrong:/ {print $3}' "$TMP/wrk.$label")
  rps=$(awk '/^requests\/s:/ {print $2}' "$TMP/wrk.$label")
  sock=$(grep '^socket errors:' "$TMP/wrk.$label")
  echo "$label: $CONNECTIONS clients, $DURATION: $right right, ${wrong:-?} wrong, $rps req/s; $sock; peak RSS ${peak} KiB"
  [ "${wrong:-1}" = 0 ] && [ "${right:-0}" -gt 0 ] || FAIL="$FAIL $label:wrong-answers"
  echo "$sock" | grep -q 'connect 0, read 0, write 0, timeout 0' || FAIL="$FAIL $label:socket-errors"
  PEAK=$peak
}
phase json1; P1=$PEAK
phase sse sse
phase json2; P3=$PEAK
kill -0 $SPID 2>/dev/null || FAIL="$FAIL server-died"
if [ "$CHECK_RSS" = 1 ]; then
  LIMIT=$(( P1 + P1 / 4 + 8192 ))
  echo "RSS: first phase peak $P1 KiB, last phase peak $P3 KiB (limit $LIMIT KiB)"
  [ "$P3" -le "$LIMIT" ] || FAIL="$FAIL rss-grew"
fi
# the server still answers, and stops cleanly
curl -s --max-time 5 -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
  -H 'Accept: application/json, text/event-stream' -H "Mcp-Session-Id: $SID" \
  -d '{"jsonrpc":"2.0","id":1,"method":"ping"}' "$URL" | grep -q 200 || FAIL="$FAIL no-answer-after-load"
kill -TERM $SPID; wait $SPID; RC=$?
[ "$RC" = 0 ] || FAIL="$FAIL exit-$RC"
if [ -n "$FAIL" ]; then echo "load: FAILED:$FAIL"; exit 1; fi
echo "load: ok"
