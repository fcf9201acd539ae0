#!/usr/bin/env bash
# bench/fixture_vs_everything.sh: requests per second of MCP tools/call
# echo over Streamable HTTP, the fixture (`mcptest serve`) against the
# pinned @modelcontextprotocol/server-everything (streamableHttp mode), with
# wrk on loopback. Every answer is checked (bench/fixture_echo.wrk.lua).
# Only 127.0.0.1 is ever contacted or listened on (server-everything through
# spec/lib/loopback.js); both servers are stopped at the end.
#
#   bench/fixture_vs_everything.sh [path/to/mcptest]
#   env: DURATION (10s), CONNECTIONS (50), THREADS (2), MIN_RATIO (5; 0 = report only)
# Exits 1 when an answer was wrong or the ratio is below MIN_RATIO.
set -u
cd "$(dirname "$0")/.."
BIN=${1:-${MCPTEST_BIN:-build/mcptest}}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-50}
THREADS=${THREADS:-2}
MIN_RATIO=${MIN_RATIO:-5}
EVERYTHING=.deps/npm/node_modules/@modelcontextprotocol/server-everything/dist/index.js
command -v wrk >/dev/null || { echo "wrk is missing (apt-get install wrk, or scripts/deps.sh)" >&2; exit 2; }
[ -x "$BIN" ] || { echo "no mcptest binary at $BIN" >&2; exit 2; }
[ -f "$EVERYTHING" ] || { echo "server-everything missing: run scripts/deps.sh" >&2; exit 2; }
. scripts/env.sh # the Node 20 deps.sh installed when the system one is older
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../spec/lib/scratch.sh" bench # TMP, PIDS, cleanup on exit

INIT='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}'
session() { # url -> prints the session id after initialize + initialized
  local sid
  sid=$(curl -s --max-time 10 -D - -o /dev/null -H 'Content-Type: application/json' \
    -H 'Accept: application/json, text/event-stream' -d "$INIT" "$1" | grep -i '^mcp-session-id:' | awk '{print $2}' | tr -d '\r')
  curl -s --max-time 10 -o /dev/null -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
    -H "Mcp-Session-Id: $sid" -H 'MCP-Protocol-Version: 2025-11-25' \
    -d '{"jsonrpc":"2.0","method":"notifications/initialized"}' "$1"
  echo "$sid"
}
run_wrk() { # label url sid mode [sse]
  echo "== $1: wrk -t$THREADS -c$CONNECTIONS -d$DURATION tools/call echo" >&2
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --timeout 10s -s bench/fixture_echo.wrk.lua "$2" -- "$3" "$4" ${5:-} \
    | tee "$TMP/$1.txt" >&2
  grep -q '^answers wrong: 0 ' "$TMP/$1.txt" || { echo "$1: some answers were wrong" >&2; WRONG=1; }
  awk '/^requests\/s:/ {print $2}' "$TMP/$1.txt"
}
WRONG=0

# the fixture
timeout 600 "$BIN" serve --port 0 >"$TMP/fixture.out" 2>"$TMP/fixture.err" &
PIDS+=($!)
for i in $(seq 1 100); do [ -s "$TMP/fixture.out" ] && break; sleep 0.05; done
FURL=$(head -n1 "$TMP/fixture.out")/mcp/open
FSID=$(session "$FURL")
[ -n "$FSID" ] || { echo "fixture did not give a session" >&2; exit 2; }
FRPS=$(run_wrk fixture "$FURL" "$FSID" fixture)
FSSE=$(run_wrk fixture-sse "$FURL" "$FSID" fixture sse)

# server-everything on a free port
PORT=
for i in $(seq 1 50); do
  p=$((20000 + RANDOM % 40000))
  if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then PORT=$p; break; fi
done
[ -n "$PORT" ] || { echo "no free port" >&2; exit 2; }
PORT=$PORT timeout 600 node -r ./spec/lib/loopback.js "$EVERYTHING" streamableHttp >"$TMP/everything.out" 2>&1 &
PIDS+=($!)
for i in $(seq 1 200); do grep -q 'listening' "$TMP/everything.out" 2>/dev/null && break; sleep 0.05; done
EURL=http://127.0.0.1:$PORT/mcp
ESID=$(session "$EURL")
[ -n "$ESID" ] || { echo "server-everything did not give a session" >&2; cat "$TMP/everything.out" >&2; exit 2; }
ERPS=$(run_wrk everything "$EURL" "$ESID" everything)

ratio() { awk -v f="$1" -v e="$2" 'BEGIN { if (e > 0) printf "%.1f", f / e; else print "inf" }'; }
RATIO=$(ratio "$FRPS" "$ERPS")
echo "fixture (JSON answers): $FRPS req/s  (${RATIO}x)"
echo "fixture (SSE answers):  $FSSE req/s  ($(ratio "$FSSE" "$ERPS")x)"
echo "server-everything:      $ERPS req/s"
echo "ratio:                  ${RATIO}x (target >= ${MIN_RATIO}x)"
[ "$WRONG" = 0 ] || exit 1
awk -v r="$RATIO" -v m="$MIN_RATIO" 'BEGIN { exit (m > 0 && r < m) ? 1 : 0 }'
