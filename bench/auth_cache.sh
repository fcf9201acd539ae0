#!/usr/bin/env bash
# What the token cache costs a run (issue 9's speed targets), against the
# fixture (mcptest serve) on 127.0.0.1:
#   1. wall time of a run that connects and calls one tool with no auth
#      (/mcp/open) against one that reuses a cached OAuth token
#      (/mcp/oauth): median of RUNS runs each, interleaved;
#   2. 16 parallel runs with a fresh cached token against 16 parallel runs
#      whose token expired (one refreshes under the lock, the others wait
#      and reuse it), and each run's lock wait.
# usage: bench/auth_cache.sh [RUNS]   (after a build in build/)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-30}
BIN=$PWD/build/mcptest
. spec/lib/scratch.sh auth-bench
SCRATCH=$TMP
export MCPTEST_HOME=$SCRATCH/home
"$BIN" serve --port 0 --auto-approve >"$SCRATCH/serve.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do [ -s "$SCRATCH/serve.out" ] && break; sleep 0.1; done
BASE=$(head -n 1 "$SCRATCH/serve.out")
export CC_SECRET=dev-confidential-secret # the runs mint again with it
"$BIN" login "$BASE/mcp/oauth" --client-credentials \
  --client-id dev-confidential-client --client-secret-env CC_SECRET >/dev/null
cat >"$SCRATCH/call.lua" <<'LUA'
local mcp = require("mcptest")
local c = mcp.connect{ url = os.getenv("URL") }
c:call_tool("ping", {})
c:close()
print(string.format("LOCKWAIT %.4f", require("mcptest.auth.cache").last_lock_wait or 0))
LUA
ms() { local t0 t1; t0=$(date +%s%N); URL=$1 "$BIN" "$SCRATCH/call.lua" >/dev/null; t1=$(date +%s%N); echo $(( (t1 - t0) / 1000 )); }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
open=(); cached=()
for _ in $(seq "$RUNS"); do
  open+=("$(ms "$BASE/mcp/open")"); cached+=("$(ms "$BASE/mcp/oauth")")
done
mo=$(printf '%s\n' "${open[@]}" | median); mc=$(printf '%s\n' "${cached[@]}" | median)
echo "runs: $RUNS each, load:$(uptime | sed 's/.*load average//')"
echo "no auth (/mcp/open), median wall:        $mo us"
echo "cached token (/mcp/oauth), median wall:  $mc us"
echo "cost of the cached token:                $((mc - mo)) us   target < 2000"
par() { # label
  local t0 t1 pids=()
  t0=$(date +%s%N)
  for i in $(seq 16); do URL=$BASE/mcp/oauth "$BIN" "$SCRATCH/call.lua" >"$SCRATCH/par.$i" 2>&1 & pids+=($!); done
  for p in "${pids[@]}"; do wait "$p" || echo "a run failed: $(cat "$SCRATCH"/par.* | tail -3)"; done
  t1=$(date +%s%N)
  local waits; waits=$(cat "$SCRATCH"/par.* | sed -n 's/^LOCKWAIT //p' | sort -n | tr '\n' ' ')
  echo "$1: 16 parallel runs, wall $(( (t1 - t0) / 1000 )) us; lock waits (s): $waits"
}
cat >"$SCRATCH/expire.lua" <<'LUA'
require("mcptest").tokens.expire(os.getenv("URL"))
LUA
par "fresh token"
URL=$BASE/mcp/oauth "$BIN" "$SCRATCH/expire.lua" >/dev/null
par "expired token (one new token)"
