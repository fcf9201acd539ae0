#!/usr/bin/env bash
# The main job: install what is needed, build build/mcptest, run the
# example suite against the built-in fixture server. (README: the first command.)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
. scripts/env.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j2 >/dev/null
export FIXTURE_TOKEN=${FIXTURE_TOKEN:-test-bearer-token}
build/mcptest examples/fixture_quickstart.lua
