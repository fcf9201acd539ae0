#!/usr/bin/env bash
# spec/fuzz/run.sh: build the libFuzzer targets (spec/fuzz/fuzz_<name>.c,
# clang + ASan + UBSan, cmake -DMCPTEST_FUZZ=ON) into their own build dir
# and run each for a bounded time from its seed corpus
# (spec/data/fuzz/<name>/). Prints TAP: one line per target, "not ok" on any
# finding (a crash, a sanitizer report, a leak, a timeout, an out-of-memory,
# a broken invariant), with where the input that shows it was saved.
# docs/fuzzing.md says more. A new target (the YAML loader's is the next)
# is a spec/fuzz/fuzz_<name>.c plus seeds in spec/data/fuzz/<name>/: CMake
# and this script find it, nothing else to wire.
#
#   spec/fuzz/run.sh                     every target
#   spec/fuzz/run.sh json sse            some of them
#
# Environment:
#   MCPTEST_FUZZ_SECONDS  time per target (default 25)
#   MCPTEST_FUZZ_BUILD    build dir (default build-fuzz)
#   MCPTEST_FUZZ_CC       the clang to build with (default clang-14, else clang)
#   MCPTEST_FUZZ_ARGS     more libFuzzer flags (e.g. "-max_len=65536 -jobs=2")
set -uo pipefail
cd "$(dirname "$0")/../.."
SRC=$PWD
SECONDS_EACH=${MCPTEST_FUZZ_SECONDS:-25}
BUILD=${MCPTEST_FUZZ_BUILD:-build-fuzz}
case $BUILD in /*) ;; *) BUILD=$SRC/$BUILD ;; esac
CC_FUZZ=${MCPTEST_FUZZ_CC:-$(command -v clang-14 || command -v clang || echo clang-14)}
# A single input that runs longer than this is a finding (a hang, or
# quadratic work): inputs stay a few KiB, so a healthy one takes well
# under a millisecond, even on a loaded machine.
PER_INPUT_TIMEOUT=10

# symbolized stack traces in reports (Debian's llvm-14 has the symbolizer
# outside PATH unless the unversioned llvm package is installed too)
if ! command -v llvm-symbolizer >/dev/null && [ -x /usr/lib/llvm-14/bin/llvm-symbolizer ]; then
  export ASAN_SYMBOLIZER_PATH=${ASAN_SYMBOLIZER_PATH:-/usr/lib/llvm-14/bin/llvm-symbolizer}
fi

if ! [[ $SECONDS_EACH =~ ^[1-9][0-9]*$ ]]; then
  echo "spec/fuzz/run.sh: MCPTEST_FUZZ_SECONDS must be a whole number of seconds, not '$SECONDS_EACH'" >&2
  exit 2
fi

targets=()
if [ $# -gt 0 ]; then
  for t in "$@"; do
    if [ ! -f "spec/fuzz/fuzz_$t.c" ]; then
      echo "spec/fuzz/run.sh: no target '$t' (spec/fuzz/fuzz_$t.c); there are:" \
        $(ls spec/fuzz/fuzz_*.c | sed 's|.*/fuzz_||; s|\.c$||') >&2
      exit 2
    fi
    targets+=("$t")
  done
else
  for f in spec/fuzz/fuzz_*.c; do t=${f##*/fuzz_}; targets+=("${t%.c}"); done
fi

echo "1..${#targets[@]}"
mkdir -p "$BUILD"
if ! { cmake -S . -B "$BUILD" -DCMAKE_C_COMPILER="$CC_FUZZ" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMCPTEST_FUZZ=ON \
         && cmake --build "$BUILD" -j2 --target $(printf 'fuzz_%s ' "${targets[@]}"); } >"$BUILD/build.log" 2>&1; then
  i=0
  for t in "${targets[@]}"; do i=$((i + 1)); echo "not ok $i - fuzz_$t: the fuzz build failed"; done
  tail -n 20 "$BUILD/build.log" | sed 's|^|# |'
  echo "# (needs clang and libFuzzer: Debian's clang-14 and libclang-rt-14-dev; scripts/deps.sh installs them)"
  exit 1
fi

failed=0
i=0
for t in "${targets[@]}"; do
  i=$((i + 1))
  seeds=spec/data/fuzz/$t
  work=$BUILD/corpus/$t       # the grown corpus, kept between runs
  findings=$BUILD/findings/$t # crash-*, leak-*, timeout-*, oom-* inputs
  log=$BUILD/fuzz_$t.log
  mkdir -p "$work" "$findings"
  if [ ! -d "$seeds" ] || [ -z "$(ls -A "$seeds")" ]; then
    echo "not ok $i - fuzz_$t: no seed corpus in $seeds"
    failed=1
    continue
  fi
  dict=()
  [ -f "spec/fuzz/$t.dict" ] && dict=(-dict="spec/fuzz/$t.dict")
  before=$(ls "$findings" | wc -l)
  # shellcheck disable=SC2086 # MCPTEST_FUZZ_ARGS is a list of flags
  UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
    timeout -k 10 $((SECONDS_EACH + 120)) "$BUILD/fuzz_$t" \
      -max_total_time="$SECONDS_EACH" -timeout=$PER_INPUT_TIMEOUT -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$findings/" "${dict[@]}" ${MCPTEST_FUZZ_ARGS:-} \
      "$work" "$seeds" >"$log" 2>&1
  rc=$?
  # with -jobs=N libFuzzer writes each job's output to fuzz-<job>.log in
  # the current directory (no flag moves it) and copies it into $log: keep
  # those files with the build, not in the source tree
  jobs_dir=$BUILD/jobs/$t
  rm -rf "$jobs_dir"
  for f in fuzz-[0-9]*.log; do
    [ -f "$f" ] || continue
    mkdir -p "$jobs_dir" && mv "$f" "$jobs_dir/"
  done
  # one stat block per job: the totals are their sums
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | awk '{ n += $1 } END { if (NR) print n }')
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | awk '{ n += $1 } END { if (NR) print n }')
  after=$(ls "$findings" | wc -l)
  if [ "$rc" = 0 ] && [ "$after" = "$before" ] && [ -n "$runs" ]; then
    echo "ok $i - fuzz_$t: ${SECONDS_EACH} s, $runs inputs ($rate/s), no finding"
  else
    failed=1
    echo "not ok $i - fuzz_$t: a finding (exit $rc); log $log"
    grep -E 'ERROR: |SUMMARY: |invariant broken|runtime error|Test unit written|^==[0-9]+==' "$log" | head -n 12 | sed 's|^|# |'
    newest=$(ls -t "$findings" | head -n 1)
    [ -n "$newest" ] && echo "# reproduce: $BUILD/fuzz_$t $findings/$newest"
  fi
done
exit $failed
