# spec/lib/scratch.sh: sourced by the shell tests and benchmarks that start
# servers. Sets TMP (a fresh scratch directory) and PIDS (append the pid of
# every background server); on exit, however the script ends, every pid is
# stopped and TMP removed. Ctrl-C or SIGTERM exits 130 through the same path.
#   . "$(dirname "$0")/../spec/lib/scratch.sh" NAME
TMP=$(mktemp -d "${TMPDIR:-/tmp}/mcptest-${1:-scratch}.XXXXXX")
PIDS=()
mcpt_cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  rm -rf "$TMP"
}
trap mcpt_cleanup EXIT
trap 'exit 130' INT TERM
