#!/usr/bin/env bash
# Runs every HTTP transport spec (spec/transport/http/*_spec.lua) inside mcptest.
# The specs start what they need themselves, each on 127.0.0.1 and a free
# port: server-everything (streamableHttp and sse modes), the fault server
# (spec/transport/http/fault_server.js, plain and TLS with a certificate made by the
# openssl CLI), and stop them in teardown; a server a failing run leaves
# behind is killed when its process handle is collected, and each one is
# bounded in time (timeout / --max-seconds) regardless.
# usage: spec/transport/http/run.sh [extra mcptest run options, e.g. -o tap]
#   MCPTEST_BIN=path/to/mcptest to test another build (default build/mcptest,
#   built here when missing).
set -euo pipefail
cd "$(dirname "$0")/../.."
SRC=$PWD
BIN=${MCPTEST_BIN:-$SRC/build/mcptest}
if [ ! -x "$BIN" ]; then
  cmake -S "$SRC" -B "$SRC/build" >/dev/null && cmake --build "$SRC/build" -j2 >/dev/null
  BIN=$SRC/build/mcptest
fi
SE=.deps/npm/node_modules/@modelcontextprotocol/server-everything/dist/index.js
[ -f "$SE" ] || scripts/deps.sh
. scripts/env.sh # the Node 20 deps.sh installed when the system one is older
for tool in node openssl; do
  command -v "$tool" >/dev/null || { echo "spec/transport/http/run.sh: $tool is needed" >&2; exit 2; }
done
MCPTEST_BIN=$BIN MCPTEST_SRC=$SRC exec timeout 600 "$BIN" run spec/transport/http/sse_spec.lua spec/transport/http/everything_http_spec.lua \
  spec/transport/http/faults_spec.lua "$@"
