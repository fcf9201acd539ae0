#!/usr/bin/env bash
# The command the conformance suite runs per scenario: client.sh SERVER_URL
# (MCP_CONFORMANCE_SCENARIO, MCP_CONFORMANCE_CONTEXT in the environment).
# Runs spec/conformance/client.lua in mcptest ($MCPTEST_BIN, default
# build/mcptest), in a pseudo-terminal (script(1), see below), with a token cache of its own (MCPTEST_HOME, removed
# afterwards), a headless $BROWSER (spec/data/browser.sh: curl following the
# redirects to mcptest's loopback callback), and the context's client_secret
# (if any) in MCP_CONFORMANCE_CLIENT_SECRET, since mcptest takes secrets from
# env vars only.
# mcptest is bounded by CONFORMANCE_CLIENT_TIMEOUT seconds (default 25): the
# suite's own timeout signals only the shell it started, not this script's
# children, and a login whose callback never comes would wait 300 s.
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
bin=${MCPTEST_BIN:-$src/build/mcptest}
home=$(mktemp -d "${TMPDIR:-/tmp}/mcptest-conformance-home.XXXXXX")
trap 'rm -rf "$home"' EXIT
export MCPTEST_HOME=$home
export BROWSER=${CONFORMANCE_BROWSER:-$src/spec/data/browser.sh}
# each secret of the context into its own env var (mcptest reads secrets
# from env vars only): client_secret, private_key_pem, idp_id_token, valid_jwt
ctx_field() {
  node -e 'const c = JSON.parse(process.env.MCP_CONFORMANCE_CONTEXT); const v = c[process.argv[1]]; process.stdout.write(typeof v === "string" ? v : "")' "$1"
}
if [ -n "${MCP_CONFORMANCE_CONTEXT:-}" ]; then
  MCP_CONFORMANCE_CLIENT_SECRET=$(ctx_field client_secret)
  MCP_CONFORMANCE_PRIVATE_KEY=$(ctx_field private_key_pem)
  MCP_CONFORMANCE_ID_TOKEN=$(ctx_field idp_id_token)
  MCP_CONFORMANCE_ASSERTION=$(ctx_field valid_jwt)
  export MCP_CONFORMANCE_CLIENT_SECRET MCP_CONFORMANCE_PRIVATE_KEY MCP_CONFORMANCE_ID_TOKEN MCP_CONFORMANCE_ASSERTION
fi
# A person at a terminal: the scenarios are an interactive user agent (the
# suite's AS approves at once), and mcptest runs an authorization-code
# login on its own (on a 401, a step-up, an AS migration) only in an
# interactive terminal outside CI (DESIGN.md). script(1) gives it a
# pseudo-terminal (stdout and stderr then both arrive on stdout), CI is
# unset for it, and $BROWSER is the person.
cmd=$(printf '%q ' timeout -k 5 "${CONFORMANCE_CLIENT_TIMEOUT:-25}" "$bin" "$here/client.lua" "$@")
env -u CI script -qec "$cmd" /dev/null </dev/null
