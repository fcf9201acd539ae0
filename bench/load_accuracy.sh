#!/usr/bin/env bash
# Load mode's accuracy (issue 16): at a low fixed rate, the p50 latency
# mcptest reports beside wrk's for the same route (the fixture's
# /mcp/open echo, one kept-alive connection each, one after the other):
#   wrk      1 connection, a request every DELAY_MS after the last answer
#            (bench/fixture_echo_paced.wrk.lua), --latency's 50%
#   mcptest  `mcptest load --rate RATE` (constant-arrival-rate), 1 VU,
#            mcp_req_duration's med
# Rounds alternate wrk and mcptest (the machine's state moves wrk's own p50
# by up to 1.7x between runs minutes apart); the median ratio is the figure.
# usage: bench/load_accuracy.sh [RATE] [DUR] [ROUNDS]   (after a build in build/)
set -euo pipefail
cd "$(dirname "$0")/.."
RATE=${1:-100}
DUR=${2:-10}
ROUNDS=${3:-1}
BIN=build/mcptest
command -v wrk >/dev/null || { echo "wrk is missing (apt-get install wrk)"; exit 2; }
T=$(mktemp -d)
trap 'kill $SPID 2>/dev/null || true; rm -rf "$T"' EXIT
"$BIN" serve --port 0 >"$T/out" 2>/dev/null &
SPID=$!
for _ in $(seq 1 50); do [ -s "$T/out" ] && break; sleep 0.1; done
URL=$(head -n 1 "$T/out")/mcp/open
echo "fixture at $URL; ${RATE}/s for ${DUR}s each; load at start:$(uptime | sed 's/.*load average//')"
SID=$(curl -s -D - -o /dev/null -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
  -d '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"b","version":"1"}}}' \
  "$URL" | grep -i '^mcp-session-id:' | awk '{print $2}' | tr -d '\r')
DELAY=$(awk -v r="$RATE" 'BEGIN { printf "%d", 1000 / r }')
cat >"$T/load.lua" <<'LUA'
local mcp = require("mcptest")
function setup() return { url = os.getenv("URL") } end
function default(data, vu)
  vu.c = vu.c or mcp.connect{ url = data.url, protocol = "2025-11-25" }
  vu.c:call_tool("echo", { message = "hi" })
end
LUA
ratios=()
for r in $(seq 1 "$ROUNDS"); do
  echo "round $r"
  wrk -t1 -c1 -d"${DUR}s" --latency -s bench/fixture_echo_paced.wrk.lua "$URL" -- "$SID" fixture "$DELAY" >"$T/wrk" 2>&1
  W50=$(awk '/Latency Distribution/ {f=1} f && $1 == "50%" {print $2; exit}' "$T/wrk")
  echo "wrk:       p50 $W50 ($(awk '/^requests\/s:/ {print $2}' "$T/wrk") req/s, $(grep '^answers wrong' "$T/wrk"))"
  URL=$URL "$BIN" load "$T/load.lua" --rate "$RATE" --vus 1 --duration "${DUR}s" -q -o json:"$T/m.json" >/dev/null
  line=$(python3 - "$T/m.json" "$W50" <<'PY'
import json, re, sys
m = json.load(open(sys.argv[1]))["metrics"]
d = m["mcp_req_duration{method:tools/call}"]["values"]
v, unit = re.match(r"([\d.]+)(us|ms|s)", sys.argv[2]).groups()
w = float(v) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
print("mcptest:   p50 %.3fms (%d calls, %.1f/s, dropped %d); mcptest/wrk %.3f"
      % (d["med"], d["count"], m["iterations"]["values"]["rate"], m["dropped_iterations"]["values"]["count"], d["med"] / w))
PY
)
  echo "$line"
  ratios+=("${line##* }")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
echo "median mcptest/wrk p50 ratio over $ROUNDS rounds: $(median "${ratios[@]}")   (target within 10%: 0.90-1.10)"
echo "load at end:$(uptime | sed 's/.*load average//')"
