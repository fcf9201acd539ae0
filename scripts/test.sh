#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls exactly this):
#   1. dependencies (Debian packages when root, pinned npm servers)
#   2. release build + C unit tests (ctest) + every spec inside mcptest
#   3. the same again in an AddressSanitizer + UBSan build
#   (and once, in the release stage: the conformance suite and the fuzzers)
# Ends with "N passed, M failed" and exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD
scripts/deps.sh || { echo "0 passed, 1 failed (dependencies)"; exit 1; }
. scripts/env.sh

passed=0
failed=0
failed_names=()

record() { # name, exit code
  if [ "$2" = 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); failed_names+=("$1"); fi
}

# Run a command that prints TAP; count its ok / not ok lines ("ok ... # SKIP"
# counts as neither). A command that fails without a failing line (a crash,
# a load error, a leak report), runs no test, or ends without a plan that
# matches the lines it printed, counts as one more failure.
run_tap() { # name, timeout_s, command...
  local name=$1 limit=$2 out rc ok nok skip plan
  shift 2
  out=$(timeout "$limit" "$@" 2>&1)
  rc=$?
  echo "$out" | sed "s|^|  |"
  ok=$(echo "$out" | grep '^ok ' | grep -vc ' # SKIP' || true)
  skip=$(echo "$out" | grep '^ok ' | grep -c ' # SKIP' || true)
  nok=$(echo "$out" | grep -c '^not ok ' || true)
  plan=$(echo "$out" | sed -n 's/^1\.\.\([0-9][0-9]*\)$/\1/p' | tail -n 1)
  passed=$((passed + ok))
  failed=$((failed + nok))
  if [ "$nok" -gt 0 ]; then failed_names+=("$name ($nok)"); fi
  if [ "$rc" != 0 ] && [ "$nok" = 0 ]; then
    failed=$((failed + 1)); failed_names+=("$name (exit $rc)")
  elif [ "$rc" = 0 ] && [ "$ok" = 0 ]; then
    failed=$((failed + 1)); failed_names+=("$name (no test ran)")
  elif [ "$rc" = 0 ] && [ "${plan:-x}" != $((ok + nok + skip)) ]; then
    failed=$((failed + 1)); failed_names+=("$name (plan ${plan:-missing}, $((ok + nok + skip)) results)")
  fi
}

run_suite() { # build_dir, label
  local dir=$1 label=$2 before_p=$passed before_f=$failed
  echo "== $label: C unit tests (ctest)"
  (cd "$dir" && ctest --output-on-failure --timeout 120 --no-tests=error) >"$dir/ctest.log" 2>&1
  local rc=$?
  sed 's|^|  |' "$dir/ctest.log" | tail -n 8
  local cp cf
  cp=$(grep -Eo '[0-9]+ tests failed out of [0-9]+' "$dir/ctest.log" | awk '{print $6-$1}')
  cf=$(grep -Eo '[0-9]+ tests failed out of [0-9]+' "$dir/ctest.log" | awk '{print $1}')
  passed=$((passed + ${cp:-0})); failed=$((failed + ${cf:-0}))
  [ "$rc" != 0 ] && [ "${cf:-0}" = 0 ] && record "$label ctest" 1
  export MCPTEST_BIN=$SRC/$dir/mcptest MCPTEST_SRC=$SRC
  for spec in $(find spec -name '*_spec.lua' -not -path 'spec/data/*' | sort); do
    echo "== $label: $spec"
    run_tap "$label $spec" 600 "$MCPTEST_BIN" run "$spec" -o tap
  done
  for script in $(find spec -name '*_test.sh' -not -path 'spec/data/*' | sort); do
    echo "== $label: $script"
    run_tap "$label $script" 900 bash "$script"
  done
  echo "== $label: $((passed - before_p)) passed, $((failed - before_f)) failed"
}

# --- conformance suite (spec/conformance/run.sh), once, release build only:
# the official MCP conformance suite's client auth scenarios against mcptest.
# ok lines count as passed, not ok lines as failed, except "not ok ... # TODO"
# (expected failures, each listed with its reason in
# spec/conformance/expected.txt), counted apart; a run that exits non-zero
# without a failing line, runs nothing, or misses its plan is one failure more.
# The same for the suite's server scenarios against the fixture
# (spec/conformance/server.sh, both eras, about 20 s; expected failures in
# spec/conformance/server_expected.txt).
run_conformance() { # build_dir [script [what]]
  local out rc ok nok todo plan script=${2:-spec/conformance/run.sh}
  echo "== release: MCP conformance suite, ${3:-client auth scenarios} ($script)"
  out=$(MCPTEST_BIN=$SRC/$1/mcptest timeout 1200 bash "$script" 2>&1)
  rc=$?
  echo "$out" | sed "s|^|  |"
  ok=$(echo "$out" | grep -c '^ok ' || true)
  todo=$(echo "$out" | grep '^not ok ' | grep -c ' # TODO' || true)
  nok=$(( $(echo "$out" | grep -c '^not ok ' || true) - todo ))
  plan=$(echo "$out" | sed -n 's/^1\.\.\([0-9][0-9]*\)$/\1/p' | tail -n 1)
  passed=$((passed + ok))
  failed=$((failed + nok))
  if [ "$nok" -gt 0 ]; then failed_names+=("conformance ($nok)"); fi
  if [ "$rc" != 0 ] && [ "$nok" = 0 ]; then
    failed=$((failed + 1)); failed_names+=("conformance (exit $rc)")
  elif [ "$ok" = 0 ]; then
    failed=$((failed + 1)); failed_names+=("conformance (no scenario passed)")
  elif [ "${plan:-x}" != $((ok + nok + todo)) ]; then
    failed=$((failed + 1)); failed_names+=("conformance (plan ${plan:-missing}, $((ok + nok + todo)) results)")
  fi
  echo "== release conformance: $ok passed, $nok failed, $todo expected failures"
}
# --- end conformance suite

# --- fuzzing harness (spec/fuzz/run.sh), once, in the release stage only:
# builds the libFuzzer targets (clang, ASan + UBSan) into build-fuzz and runs
# each for MCPTEST_FUZZ_SECONDS (25 s by default, about 2 minutes in all);
# a target with a finding is one failure, its input saved under
# build-fuzz/findings/ (docs/fuzzing.md).
run_fuzz() {
  echo "== release: fuzzing (spec/fuzz/run.sh)"
  run_tap "release spec/fuzz/run.sh" 1200 bash spec/fuzz/run.sh
}
# --- end fuzzing harness

echo "== building (release)"
if cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null && cmake --build build -j2 >build.log 2>&1; then
  run_suite build release
  run_conformance build # conformance suite: see run_conformance above
  run_conformance build spec/conformance/server.sh "server scenarios, the fixture in both eras"
  run_fuzz # fuzzing harness: see run_fuzz above
else
  tail -n 30 build.log; record "release build" 1
fi

echo "== building (ASan + UBSan)"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=99
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS=suppressions=$SRC/spec/lsan.supp:print_suppressions=0
if cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DMCPTEST_SANITIZE=ON >/dev/null && cmake --build build-asan -j2 >build-asan.log 2>&1; then
  # slow external suites (oidc-provider's device wait...) run in the release build only
  MCPTEST_SANITIZE_BUILD=1 run_suite build-asan sanitizer
else
  tail -n 30 build-asan.log; record "sanitizer build" 1
fi

if [ "$failed" -gt 0 ]; then
  echo "failures:"; printf '  %s\n' "${failed_names[@]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
