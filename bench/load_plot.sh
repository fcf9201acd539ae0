#!/usr/bin/env bash
# The plot in docs/load.md: a ramping-vus run against the fixture, its k6
# JSON output (--out json=FILE) cut into one-second bins (requests/s, p50
# and p95 of mcp_req_duration), drawn by gnuplot (apt-get install gnuplot-nox).
# usage: bench/load_plot.sh [OUT.svg]    (after a build in build/)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-docs/load-plot.svg}
BIN=build/mcptest
command -v gnuplot >/dev/null || { echo "gnuplot is missing (apt-get install gnuplot-nox)"; exit 2; }
T=$(mktemp -d)
trap 'kill $SPID 2>/dev/null || true; rm -rf "$T"' EXIT
"$BIN" serve --port 0 >"$T/out" 2>/dev/null &
SPID=$!
for _ in $(seq 1 50); do [ -s "$T/out" ] && break; sleep 0.1; done
cat >"$T/ramp.lua" <<'LUA'
local mcp = require("mcptest")
options = { scenarios = { ramp = { executor = "ramping-vus", start_vus = 0,
  stages = { { duration = "10s", target = 32 }, { duration = "5s", target = 32 }, { duration = "5s", target = 0 } } } } }
function setup() return { url = os.getenv("URL") } end
function default(data, vu)
  vu.c = vu.c or mcp.connect{ url = data.url }
  vu.c:call_tool("echo", { message = "hi" })
end
LUA
URL=$(head -n 1 "$T/out")/mcp/open "$BIN" load "$T/ramp.lua" -q --out json="$T/points.json" >/dev/null
# one line per second: second, requests, p50 ms, p95 ms
python3 - "$T/points.json" >"$T/bins.tsv" <<'PY'
import json, sys, datetime
bins, t0 = {}, None
for line in open(sys.argv[1]):
    d = json.loads(line)
    if d["type"] != "Point" or d["metric"] != "mcp_req_duration" or d["data"]["tags"].get("method") != "tools/call":
        continue
    t = datetime.datetime.fromisoformat(d["data"]["time"].replace("Z", "+00:00")).timestamp()
    t0 = t if t0 is None else t0
    bins.setdefault(int(t - t0), []).append(d["data"]["value"])
for s in sorted(bins):
    v = sorted(bins[s])
    print(s, len(v), v[len(v) // 2], v[min(len(v) - 1, int(0.95 * len(v)))])
PY
gnuplot <<GP
set terminal svg size 800,400 font "sans,11" background rgb "white"
set output "$OUT"
set title "mcptest load: ramping-vus 0 -> 32 -> 0 against the fixture's echo (--out json, 1 s bins)"
set xlabel "seconds"
set ylabel "requests/s"
set y2label "latency (ms)"
set ytics nomirror
set y2tics
set key top left
set grid
plot "$T/bins.tsv" using 1:2 with lines lw 2 title "requests/s", \
     "$T/bins.tsv" using 1:3 axes x1y2 with lines lw 2 title "p50 (ms)", \
     "$T/bins.tsv" using 1:4 axes x1y2 with lines lw 2 title "p95 (ms)"
GP
echo "wrote $OUT ($(wc -l <"$T/bins.tsv") one-second bins; load average$(uptime | sed 's/.*load average//'))"
