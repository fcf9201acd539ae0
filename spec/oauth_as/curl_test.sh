#!/usr/bin/env bash
# spec/oauth_as/curl_test.sh: the fixture's OAuth endpoints driven by an
# independent client (curl, openssl, sed), against real `mcptest serve`
# processes on 127.0.0.1: discovery documents, registration, authorization
# code + PKCE, the consent page, the device flow and its verification page,
# client credentials (basic and post), refresh rotation, revocation, and
# each error response. Every server is bounded by `timeout` and stopped on
# exit, however the script ends.
#
#   spec/oauth_as/curl_test.sh [path/to/mcptest]     (default: build/mcptest)
#
# Prints TAP; exits 0 when every check passed, 1 otherwise, 2 when a
# server could not be started.
set -u

BIN=${1:-${MCPTEST_BIN:-build/mcptest}}
[ -x "$BIN" ] || { echo "Bail out! no mcptest binary at $BIN" >&2; exit 2; }
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../lib/scratch.sh" curl # TMP, PIDS, cleanup on exit
N=0
FAILED=0

ok() { # ok DESCRIPTION 'CONDITION': one TAP line per check; CONDITION is shell code
  local desc=$1
  N=$((N + 1))
  if eval "$2" >/dev/null 2>&1; then
    echo "ok $N - $desc"
  else
    echo "not ok $N - $desc"
    FAILED=$((FAILED + 1))
    # the body may hold tokens, codes or secrets: never print their values
    { echo "#   status: $(cat "$TMP/status" 2>/dev/null)"; head -c 600 "$TMP/body" 2>/dev/null \
        | sed -E 's/"(access_token|refresh_token|client_secret|device_code|code)":"[^"]*"/"\1":"[redacted]"/g; s/(name="csrf_token" value=")[^"]*/\1[redacted]/g; s/^/#   /'; echo; } >&2
  fi
}

# Start `mcptest serve --port 0 ARGS...` in the background; sets BASE_<name>.
start_server() {
  local name=$1; shift
  timeout 300 "$BIN" serve --port 0 "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
  PIDS+=($!)
  local i base=""
  for i in $(seq 1 100); do
    base=$(head -n 1 "$TMP/$name.out" 2>/dev/null | tr -d '\r')
    case "$base" in http://127.0.0.1:*) break ;; esac
    sleep 0.1
  done
  case "$base" in
    http://127.0.0.1:*) printf -v "BASE_$name" '%s' "${base%/}" ;;
    *) echo "Bail out! mcptest serve did not print its URL: $(head -c 500 "$TMP/$name.err")"; exit 2 ;;
  esac
}

# req ARGS...: curl with a time limit; body in $TMP/body, headers in
# $TMP/headers, status in $TMP/status (and $STATUS).
req() {
  STATUS=$(curl -sS -m 10 -o "$TMP/body" -D "$TMP/headers" -w '%{http_code}' "$@")
  echo "$STATUS" >"$TMP/status"
}
form() { req -H 'Content-Type: application/x-www-form-urlencoded' "$@"; }

# jget KEY: a string or number member of the JSON body (the fixture writes compact JSON).
jget() { sed -n 's/.*"'"$1"'":"\{0,1\}\([^",}]*\).*/\1/p' "$TMP/body" | head -n 1; }
header() { grep -i "^$1:" "$TMP/headers" | head -n 1 | cut -d' ' -f2- | tr -d '\r'; }
status_is() { [ "$STATUS" = "$1" ]; }
error_is() { [ "$STATUS" = "$1" ] && [ "$(jget error)" = "$2" ]; }
body_has() { grep -qF -- "$1" "$TMP/body"; }
header_has() { header "$1" | grep -qF -- "$2"; }
# query parameter NAME of URL
qparam() { printf '%s' "$2" | sed -n 's/.*[?&]'"$1"'=\([^&]*\).*/\1/p' | sed 's/%3A/:/g; s/%2F/\//g'; }

pkce() { # sets VERIFIER and CHALLENGE (RFC 7636 S256) with openssl
  VERIFIER=$(openssl rand -base64 48 | tr '+/' '-_' | tr -d '=\n')
  CHALLENGE=$(printf '%s' "$VERIFIER" | openssl dgst -sha256 -binary | openssl base64 -A | tr '+/' '-_' | tr -d '=')
}

INIT='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}'
mcp_init() { # mcp_init URL [TOKEN]
  local auth=()
  [ -n "${2:-}" ] && auth=(-H "Authorization: Bearer $2")
  req -X POST "$1" -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' "${auth[@]}" -d "$INIT"
}

# mcp_session URL [AUTH_HEADER]: initialize + initialized; sets SID
mcp_session() {
  local auth=()
  [ -n "${2:-}" ] && auth=(-H "$2")
  req -X POST "$1" -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' "${auth[@]}" -d "$INIT"
  SID=$(header Mcp-Session-Id)
  curl -sS -m 10 -o /dev/null -X POST "$1" -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
    "${auth[@]}" -H "Mcp-Session-Id: $SID" -d '{"jsonrpc":"2.0","method":"notifications/initialized"}'
}
# mcp_call URL AUTH_HEADER TOOL: tools/call in the session SID
mcp_call() {
  req -X POST "$1" -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' -H "$2" \
    -H "Mcp-Session-Id: $SID" -H 'MCP-Protocol-Version: 2025-11-25' \
    -d '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"'"$3"'","arguments":{"message":"hi"}}}'
}

cat >"$TMP/manual.yaml" <<'EOF'
device_code_ttl: 4
device_interval: 5
challenge_scope: 'mcp:read we"ird\scope'
routes:
  /mcp/fwd: { providers: [forwarded] }
forwarded:
  trusted_remotes: [192.0.2.1]
EOF
cat >"$TMP/chain.yaml" <<'EOF'
providers: [bearer, forwarded, oauth_as]
tokens:
  tok-bob: { subject: bob, roles: [intern] }
acl:
  default: allow
  roles:
    intern: { deny: [echo] }
EOF

start_server auto --auto-approve --token-ttl 4
start_server manual --config "$TMP/manual.yaml"
start_server chain --config "$TMP/chain.yaml"
A=$BASE_auto
B=$BASE_manual
C=$BASE_chain
R="$A/mcp/oauth"
RE=$(printf '%s' "$R" | sed 's/:/%3A/g; s/\//%2F/g')
CB="http://127.0.0.1:45678/callback"
echo "# auto-approve server $A, manual server $B, provider-chain server $C"

# ===== discovery =====
req "$A/.well-known/oauth-authorization-server"
ok "AS metadata is served" 'status_is 200'
ok "AS metadata issuer is the base URL" '[ "$(jget issuer)" = "$A" ]'
ok "AS metadata lists S256 and every endpoint" 'body_has "\"code_challenge_methods_supported\":[\"S256\"]" && body_has "\"token_endpoint\":\"$A/token\"" && body_has "\"device_authorization_endpoint\":\"$A/device_authorization\"" && body_has "\"registration_endpoint\":\"$A/register\"" && body_has "\"revocation_endpoint\":\"$A/revoke\""'
req "$A/.well-known/oauth-protected-resource/mcp/oauth"
ok "PRM (path-inserted) for /mcp/oauth" '[ "$STATUS" = 200 ] && [ "$(jget resource)" = "$R" ]'
ok "PRM names this AS" 'body_has "\"authorization_servers\":[\"$A\"]"'
req "$A/.well-known/oauth-protected-resource"
ok "PRM root form names the base URL" '[ "$STATUS" = 200 ] && [ "$(jget resource)" = "$A" ]'
req "$A/.well-known/oauth-protected-resource/mcp/open"
ok "no PRM for the open route" 'status_is 404'
req -X POST "$A/.well-known/oauth-authorization-server"
ok "metadata refuses POST with 405" 'status_is 405'
mcp_init "$R"
ok "unauthenticated /mcp/oauth gets 401" 'status_is 401'
ok "the challenge carries realm, resource_metadata and scope" 'header_has WWW-Authenticate "Bearer realm=\"mcp\", resource_metadata=\"$A/.well-known/oauth-protected-resource/mcp/oauth\", scope="'
mcp_init "$R" "not-a-token"
ok "a bad token gets 401 invalid_token" '[ "$STATUS" = 401 ] && header_has WWW-Authenticate '\''error="invalid_token"'\'''
mcp_init "$A/mcp/bearer-token" test-bearer-token
ok "/mcp/bearer-token takes test-bearer-token" 'status_is 200'
mcp_init "$A/mcp/bearer-token" wrong
ok "/mcp/bearer-token refuses other tokens" '[ "$STATUS" = 401 ] && header_has WWW-Authenticate '\''error="invalid_token"'\'''
mcp_init "$A/mcp/open"
ok "/mcp/open needs nothing" 'status_is 200'

# ===== registration =====
req -X POST "$A/register" -H 'Content-Type: application/json' \
  -d '{"client_name":"curl test","redirect_uris":["http://127.0.0.1/callback"],"token_endpoint_auth_method":"none","grant_types":["authorization_code","refresh_token"],"application_type":"native"}'
REG_ID=$(jget client_id)
ok "registration of a public client answers 201 with a client_id" '[ "$STATUS" = 201 ] && [ -n "$REG_ID" ]'
ok "a public client gets no secret" '! body_has client_secret'
req -X POST "$A/register" -H 'Content-Type: application/json' -d '{"grant_types":["client_credentials"],"scope":"mcp:write"}'
REG_CC=$(jget client_id); REG_CC_SECRET=$(jget client_secret)
ok "registration of a confidential client returns a secret" '[ "$STATUS" = 201 ] && [ -n "$REG_CC_SECRET" ]'
req -X POST "$A/register" -H 'Content-Type: application/json' -d '{"redirect_uris":["http://evil.example/cb"]}'
ok "a non-loopback http redirect URI is invalid_redirect_uri" 'error_is 400 invalid_redirect_uri'
req -X POST "$A/register" -H 'Content-Type: application/json' -d '{"redirect_uris":['
ok "malformed JSON is invalid_client_metadata" 'error_is 400 invalid_client_metadata'
req -X POST "$A/register" -H 'Content-Type: text/plain' -d '{}'
ok "a wrong content type is refused" 'error_is 400 invalid_client_metadata'
req -X POST "$A/register" -H 'Content-Type: application/json' -d '{"redirect_uris":["http://127.0.0.1/cb"],"token_endpoint_auth_method":"private_key_jwt"}'
ok "an unsupported auth method is invalid_client_metadata" 'error_is 400 invalid_client_metadata'

# ===== authorization code + PKCE (auto-approve) =====
pkce
req "$A/authorize?response_type=code&client_id=$REG_ID&redirect_uri=$CB&code_challenge=$CHALLENGE&code_challenge_method=S256&state=curl-state-1&scope=mcp:read%20mcp:write&resource=$RE"
LOC=$(header Location)
CODE=$(qparam code "$LOC")
ok "/authorize redirects to the loopback callback (any port)" '[ "$STATUS" = 302 ] && [ "${LOC%%\?*}" = "$CB" ]'
ok "the redirect carries a code" '[ -n "$CODE" ]'
ok "the state is echoed" '[ "$(qparam state "$LOC")" = "curl-state-1" ]'
ok "iss is the issuer (RFC 9207)" '[ "$(qparam iss "$LOC")" = "$A" ]'
form "$A/token" --data-urlencode grant_type=authorization_code --data-urlencode "code=$CODE" \
  --data-urlencode "redirect_uri=$CB" --data-urlencode "code_verifier=$VERIFIER" --data-urlencode "client_id=$REG_ID" --data-urlencode "resource=$R"
AT=$(jget access_token); RT=$(jget refresh_token)
ok "the code exchanges for tokens" '[ "$STATUS" = 200 ] && [ -n "$AT" ] && [ -n "$RT" ]'
ok "token responses are Bearer and no-store" '[ "$(jget token_type)" = Bearer ] && header_has Cache-Control no-store'
mcp_init "$R" "$AT"
ok "the access token opens /mcp/oauth" 'status_is 200'
mcp_init "$A/mcp/bearer-token" "$AT"
ok "the /mcp/oauth token is refused elsewhere" 'status_is 401'
form "$A/token" --data-urlencode grant_type=authorization_code --data-urlencode "code=$CODE" \
  --data-urlencode "redirect_uri=$CB" --data-urlencode "code_verifier=$VERIFIER" --data-urlencode "client_id=$REG_ID"
ok "a reused code is invalid_grant" 'error_is 400 invalid_grant'
mcp_init "$R" "$AT"
ok "tokens issued from a reused code are revoked" 'status_is 401'
form "$A/token" --data-urlencode grant_type=refresh_token --data-urlencode "refresh_token=$RT" --data-urlencode "client_id=$REG_ID"
ok "so is the refresh token" 'error_is 400 invalid_grant'

pkce
req "$A/authorize?response_type=code&client_id=dev-public-client&redirect_uri=$CB&code_challenge=$CHALLENGE&code_challenge_method=S256&state=s2"
CODE=$(qparam code "$(header Location)")
WRONG=$(openssl rand -hex 32)
form "$A/token" -d grant_type=authorization_code -d "code=$CODE" -d "redirect_uri=$CB" -d "code_verifier=$WRONG" -d client_id=dev-public-client
ok "a wrong code_verifier is invalid_grant" 'error_is 400 invalid_grant'
req "$A/authorize?response_type=code&client_id=dev-public-client&redirect_uri=$CB&state=s3"
LOC=$(header Location)
ok "no code_challenge: redirected invalid_request" '[ "$STATUS" = 302 ] && [ "$(qparam error "$LOC")" = invalid_request ] && [ "$(qparam state "$LOC")" = s3 ]'
req "$A/authorize?response_type=code&client_id=dev-public-client&redirect_uri=$CB&code_challenge=$CHALLENGE&code_challenge_method=plain"
ok "code_challenge_method=plain is refused" '[ "$(qparam error "$(header Location)")" = invalid_request ]'
req "$A/authorize?response_type=code&client_id=dev-public-client&redirect_uri=http://evil.example/cb&code_challenge=$CHALLENGE&code_challenge_method=S256"
ok "an unregistered redirect_uri is shown, never redirected" '[ "$STATUS" = 400 ] && [ -z "$(header Location)" ]'
req "$A/authorize?response_type=code&client_id=nobody&redirect_uri=$CB&code_challenge=$CHALLENGE&code_challenge_method=S256"
ok "an unknown client_id is shown as invalid_client" 'error_is 400 invalid_client'
req "$A/authorize?response_type=code&client_id=dev-public-client&redirect_uri=$CB&code_challenge=$CHALLENGE&code_challenge_method=S256&resource=http%3A%2F%2F127.0.0.1%3A1%2Fmcp"
ok "a foreign resource is invalid_target" '[ "$(qparam error "$(header Location)")" = invalid_target ]'
req "$A/authorize?response_type=code&client_id=dev-public-client&redirect_uri=$CB&code_challenge=$CHALLENGE&code_challenge_method=S256&scope=mcp:read&scope=mcp:write"
ok "a duplicated parameter is invalid_request" '[ "$(qparam error "$(header Location)")" = invalid_request ]'
req "$A/authorize?response_type=token&client_id=dev-public-client&redirect_uri=$CB&code_challenge=$CHALLENGE&code_challenge_method=S256"
ok "response_type=token is unsupported_response_type" '[ "$(qparam error "$(header Location)")" = unsupported_response_type ]'
pkce
req "$A/authorize?response_type=code&client_id=dev-public-client&redirect_uri=$CB&code_challenge=$CHALLENGE&code_challenge_method=S256&resource=$RE"
CODE=$(qparam code "$(header Location)")
form "$A/token" -d grant_type=authorization_code -d "code=$CODE" -d "redirect_uri=$CB" -d "code_verifier=$VERIFIER" -d client_id=dev-public-client \
  --data-urlencode "resource=$A/legacy/sse"
ok "a resource differing from the authorization request is invalid_target" 'error_is 400 invalid_target'

# ===== client credentials =====
form "$A/token" -u dev-confidential-client:dev-confidential-secret -d grant_type=client_credentials --data-urlencode "resource=$R"
CC=$(jget access_token)
ok "client_secret_basic works" '[ "$STATUS" = 200 ] && [ -n "$CC" ]'
ok "client credentials get no refresh token" '! body_has refresh_token'
mcp_init "$R" "$CC"
ok "the client-credentials token opens /mcp/oauth" 'status_is 200'
form "$A/token" -d grant_type=client_credentials -d client_id=dev-confidential-client -d client_secret=dev-confidential-secret -d scope=mcp:read
ok "client_secret_post works, with a narrower scope" '[ "$STATUS" = 200 ] && [ "$(jget scope)" = mcp:read ]'
form "$A/token" -d grant_type=client_credentials -d "client_id=$REG_CC" -d "client_secret=$REG_CC_SECRET"
ok "a client registered for client_secret_basic is refused with client_secret_post" 'error_is 401 invalid_client && [ -z "$(header WWW-Authenticate)" ]'
req -X POST "$A/register" -H 'Content-Type: application/json' -d '{"grant_types":["client_credentials"],"token_endpoint_auth_method":"client_secret_post"}'
REG_POST=$(jget client_id); REG_POST_SECRET=$(jget client_secret)
form "$A/token" -u "$REG_POST:$REG_POST_SECRET" -d grant_type=client_credentials
ok "a client registered for client_secret_post is refused with Basic, with a Basic challenge" 'error_is 401 invalid_client && header_has WWW-Authenticate Basic'
form "$A/token" -d grant_type=client_credentials -d "client_id=$REG_POST" -d "client_secret=$REG_POST_SECRET"
ok "and accepted with client_secret_post" 'status_is 200'
form "$A/token" -u "$REG_CC:$REG_CC_SECRET" -d grant_type=client_credentials
ok "a registered confidential client works" '[ "$STATUS" = 200 ] && [ "$(jget scope)" = mcp:write ]'
form "$A/token" -u dev-confidential-client:wrong -d grant_type=client_credentials
ok "a wrong secret (basic) is 401 invalid_client with a Basic challenge" 'error_is 401 invalid_client && header_has WWW-Authenticate Basic'
form "$A/token" -d grant_type=client_credentials -d client_id=dev-confidential-client -d client_secret=wrong
ok "a wrong secret (post) is 401 invalid_client" 'error_is 401 invalid_client'
form "$A/token" -u nobody:x -d grant_type=client_credentials
ok "an unknown client is 401 invalid_client" 'error_is 401 invalid_client'
form "$A/token" -u dev-confidential-client:dev-confidential-secret -d grant_type=client_credentials -d scope=mcp:admin
ok "mcp:admin is invalid_scope for the confidential client" 'error_is 400 invalid_scope'
form "$A/token" -u dev-admin-client:dev-admin-secret -d grant_type=client_credentials -d scope=mcp:admin
ok "the admin client gets mcp:admin" '[ "$STATUS" = 200 ] && [ "$(jget scope)" = mcp:admin ]'
form "$A/token" -d grant_type=client_credentials -d client_id=dev-public-client
ok "a public client cannot use client_credentials (unauthorized_client)" 'error_is 400 unauthorized_client'
form "$A/token" -u dev-confidential-client:dev-confidential-secret -d grant_type=password -d username=u -d password=p
ok "grant_type=password is unsupported_grant_type" 'error_is 400 unsupported_grant_type'
form "$A/token" -u dev-confidential-client:dev-confidential-secret -d grant_type=client_credentials -d grant_type=client_credentials
ok "a duplicated parameter at /token is invalid_request" 'error_is 400 invalid_request'
req -X POST "$A/token" -u dev-confidential-client:dev-confidential-secret -H 'Content-Type: application/json' -d '{"grant_type":"client_credentials"}'
ok "a JSON body at /token is invalid_request" 'error_is 400 invalid_request'
form "$A/token" -u dev-confidential-client:dev-confidential-secret --data-binary 'grant_type=client_credentials&scope=%zz'
ok "a malformed form body is invalid_request" 'error_is 400 invalid_request'
form "$A/token" -u dev-confidential-client:dev-confidential-secret -d grant_type=client_credentials -d client_secret=dev-confidential-secret
ok "two client authentication methods are invalid_request" 'error_is 400 invalid_request'
head -c 200000 /dev/zero | tr '\0' 'a' >"$TMP/huge"
form "$A/token" --data-binary "@$TMP/huge"
ok "a huge body is refused" '[ "$STATUS" = 400 ] || [ "$STATUS" = 413 ]'
req "$A/token"
ok "GET /token is 405" 'status_is 405'
req "$A/.well-known/oauth-authorization-server"
ok "the server keeps serving after bad input" 'status_is 200'

# ===== refresh rotation and revocation =====
pkce
req "$A/authorize?response_type=code&client_id=dev-public-client&redirect_uri=$CB&code_challenge=$CHALLENGE&code_challenge_method=S256&resource=$RE"
CODE=$(qparam code "$(header Location)")
form "$A/token" -d grant_type=authorization_code -d "code=$CODE" -d "redirect_uri=$CB" -d "code_verifier=$VERIFIER" -d client_id=dev-public-client
RT1=$(jget refresh_token)
form "$A/token" -d grant_type=refresh_token -d "refresh_token=$RT1" -d client_id=dev-public-client --data-urlencode "resource=$R"
RT2=$(jget refresh_token); AT2=$(jget access_token)
ok "refresh answers a new pair" '[ "$STATUS" = 200 ] && [ -n "$RT2" ] && [ "$RT2" != "$RT1" ]'
mcp_init "$R" "$AT2"
ok "the refreshed access token works" 'status_is 200'
form "$A/token" -d grant_type=refresh_token -d "refresh_token=$RT2" -d client_id=dev-public-client -d scope=mcp:admin
ok "refresh cannot widen the scope" 'error_is 400 invalid_scope'
form "$A/token" -d grant_type=refresh_token -d "refresh_token=$RT2" -d client_id=dev-public-client
RT3=$(jget refresh_token); AT3=$(jget access_token)
ok "the rotated token rotates again" '[ "$STATUS" = 200 ] && [ -n "$RT3" ]'
form "$A/token" -d grant_type=refresh_token -d "refresh_token=$RT1" -d client_id=dev-public-client
ok "an old (rotated) refresh token is invalid_grant" 'error_is 400 invalid_grant'
form "$A/token" -d grant_type=refresh_token -d "refresh_token=$RT3" -d client_id=dev-public-client
ok "reusing a rotated token revoked the whole grant" 'error_is 400 invalid_grant'
mcp_init "$R" "$AT3"
ok "including its access tokens" 'status_is 401'

pkce
req "$A/authorize?response_type=code&client_id=dev-public-client&redirect_uri=$CB&code_challenge=$CHALLENGE&code_challenge_method=S256&resource=$RE&scope=mcp:read%20mcp:write"
CODE=$(qparam code "$(header Location)")
form "$A/token" -d grant_type=authorization_code -d "code=$CODE" -d "redirect_uri=$CB" -d "code_verifier=$VERIFIER" -d client_id=dev-public-client
form "$A/token" -d grant_type=refresh_token -d "refresh_token=$(jget refresh_token)" -d client_id=dev-public-client -d scope=mcp:read
ok "refresh may narrow the access token's scope" '[ "$STATUS" = 200 ] && [ "$(jget scope)" = mcp:read ]'
form "$A/token" -d grant_type=refresh_token -d "refresh_token=$(jget refresh_token)" -d client_id=dev-public-client
ok "but the rotated refresh token keeps the grant's scope (RFC 6749 6)" '[ "$STATUS" = 200 ] && [ "$(jget scope)" = "mcp:read mcp:write" ]'

pkce
req "$A/authorize?response_type=code&client_id=dev-public-client&redirect_uri=$CB&code_challenge=$CHALLENGE&code_challenge_method=S256&resource=$RE"
CODE=$(qparam code "$(header Location)")
form "$A/token" -d grant_type=authorization_code -d "code=$CODE" -d "redirect_uri=$CB" -d "code_verifier=$VERIFIER" -d client_id=dev-public-client
RT=$(jget refresh_token); AT=$(jget access_token)
form "$A/revoke" -d "token=$RT" -d token_type_hint=refresh_token -d client_id=dev-public-client
ok "revoking a refresh token answers 200" 'status_is 200'
form "$A/token" -d grant_type=refresh_token -d "refresh_token=$RT" -d client_id=dev-public-client
ok "a revoked refresh token is invalid_grant" 'error_is 400 invalid_grant'
mcp_init "$R" "$AT"
ok "its access token is revoked with it" 'status_is 401'
form "$A/token" -u dev-confidential-client:dev-confidential-secret -d grant_type=client_credentials
CC2=$(jget access_token)
form "$A/revoke" -u dev-confidential-client:dev-confidential-secret -d "token=$CC2"
ok "a confidential client revokes its access token (basic)" 'status_is 200'
form "$A/introspect" -u dev-admin-client:dev-admin-secret -d "token=$CC2"
ok "introspection says the revoked token is inactive" '[ "$STATUS" = 200 ] && body_has '\''"active":false'\'''
form "$A/introspect" -u dev-admin-client:dev-admin-secret -d "token=$CC"
ok "introspection describes a live token" '[ "$STATUS" = 200 ] && body_has '\''"active":true'\'' && [ "$(jget sub)" = dev-confidential-client ]'
form "$A/revoke" -d token=whatever -d client_id=dev-public-client
ok "an unknown token still revokes with 200" 'status_is 200'
form "$A/revoke" -d client_id=dev-public-client
ok "revocation without a token is invalid_request" 'error_is 400 invalid_request'
form "$A/revoke" -u dev-confidential-client:wrong -d token=x
ok "revocation with a wrong secret is invalid_client" 'error_is 401 invalid_client'

# ===== device flow, auto-approve =====
form "$A/device_authorization" -d client_id=dev-public-client -d scope=mcp:read --data-urlencode "resource=$R"
DC=$(jget device_code)
ok "device authorization answers every field" '[ "$STATUS" = 200 ] && [ -n "$DC" ] && [ -n "$(jget user_code)" ] && [ "$(jget verification_uri)" = "$A/device" ] && body_has verification_uri_complete && [ -n "$(jget expires_in)" ] && [ -n "$(jget interval)" ]'
form "$A/token" -d grant_type=urn:ietf:params:oauth:grant-type:device_code -d "device_code=$DC" -d client_id=dev-public-client
DAT=$(jget access_token)
ok "under --auto-approve the first poll gets tokens" '[ "$STATUS" = 200 ] && [ -n "$DAT" ]'
mcp_init "$R" "$DAT"
ok "the device-flow token opens /mcp/oauth" 'status_is 200'
form "$A/device_authorization" -u dev-confidential-client:dev-confidential-secret -d scope=mcp:read
ok "a client without the device grant is unauthorized_client" 'error_is 400 unauthorized_client'

# ===== device flow with a person (manual server) =====
form "$B/device_authorization" -d client_id=dev-public-client -d scope=mcp:read
DC=$(jget device_code); UC=$(jget user_code)
poll() { form "$B/token" -d grant_type=urn:ietf:params:oauth:grant-type:device_code -d "device_code=$1" -d client_id=dev-public-client; }
poll "$DC"
ok "first poll: authorization_pending" 'error_is 400 authorization_pending'
poll "$DC"
ok "polling faster than the interval: slow_down" 'error_is 400 slow_down'
req -c "$TMP/jar" "$B/device?user_code=$UC"
RID=$(sed -n 's/.*name="request_id" value="\([^"]*\)".*/\1/p' "$TMP/body" | head -n 1)
CSRF=$(sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' "$TMP/body" | head -n 1)
ok "the verification page shows the code and a form" '[ "$STATUS" = 200 ] && body_has "$UC" && [ -n "$CSRF" ]'
form "$B/device" -d "user_code=$UC" -d "request_id=$RID" -d "csrf_token=$CSRF" -d decision=approve
ok "approving without the CSRF cookie is refused" 'status_is 403'
form -b "$TMP/jar" "$B/device" -H "Origin: $B" -d "user_code=$UC" -d "request_id=$RID" -d "csrf_token=$CSRF" -d decision=approve
ok "approving with the cookie works" '[ "$STATUS" = 200 ] && body_has Approved'
poll "$DC"
ok "after approval the poll gets tokens" '[ "$STATUS" = 200 ] && [ -n "$(jget access_token)" ]'
poll "$DC"
ok "the device code is single-use" 'error_is 400 invalid_grant'
req "$B/device"
ok "the verification page offers code entry" '[ "$STATUS" = 200 ] && body_has '\''name="user_code"'\'''
req "$B/device?user_code=BBBB-BBBB"
ok "an unknown user code is reported" 'status_is 400'

form "$B/device_authorization" -d client_id=dev-public-client
DC=$(jget device_code); UC=$(jget user_code)
req -c "$TMP/jar2" "$B/device?user_code=$UC"
RID=$(sed -n 's/.*name="request_id" value="\([^"]*\)".*/\1/p' "$TMP/body" | head -n 1)
CSRF=$(sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' "$TMP/body" | head -n 1)
form -b "$TMP/jar2" "$B/device" -d "user_code=$UC" -d "request_id=$RID" -d "csrf_token=$CSRF" -d decision=deny
poll "$DC"
ok "a denied device code is access_denied" 'error_is 400 access_denied'

form "$B/device_authorization" -d client_id=dev-public-client
DC=$(jget device_code)
EXP=$(jget expires_in)
ok "device_code_ttl from the config file is used" '[ "$EXP" = 4 ]'
sleep 4.5
poll "$DC"
ok "after expires_in the poll is expired_token" 'error_is 400 expired_token'

# ===== consent page (manual server) =====
pkce
req -c "$TMP/jar3" -H 'Accept: text/html' "$B/authorize?response_type=code&client_id=dev-public-client&redirect_uri=$CB&code_challenge=$CHALLENGE&code_challenge_method=S256&state=c1&scope=mcp:read"
RID=$(sed -n 's/.*name="request_id" value="\([^"]*\)".*/\1/p' "$TMP/body" | head -n 1)
CSRF=$(sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' "$TMP/body" | head -n 1)
ok "/authorize without auto-approve shows a consent page" '[ "$STATUS" = 200 ] && header_has Content-Type text/html && body_has Approve && [ -n "$RID" ]'
ok "the consent page cannot be framed" 'header_has X-Frame-Options DENY'
form "$B/authorize/consent" -d "request_id=$RID" -d "csrf_token=$CSRF" -d decision=approve
ok "a consent post without the CSRF cookie is refused" 'status_is 403'
form -b "$TMP/jar3" "$B/authorize/consent" -H "Origin: http://evil.example" -d "request_id=$RID" -d "csrf_token=$CSRF" -d decision=approve
ok "a cross-origin consent post is refused" 'status_is 403'
form -b "$TMP/jar3" "$B/authorize/consent" -H "Origin: $B" -d "request_id=$RID" -d "csrf_token=$CSRF" -d decision=approve
LOC=$(header Location)
ok "approving redirects with code and state" '[ "$STATUS" = 302 ] && [ -n "$(qparam code "$LOC")" ] && [ "$(qparam state "$LOC")" = c1 ]'
form "$B/token" -d grant_type=authorization_code -d "code=$(qparam code "$LOC")" -d "redirect_uri=$CB" -d "code_verifier=$VERIFIER" -d client_id=dev-public-client
ok "the consented code exchanges" '[ "$STATUS" = 200 ] && [ "$(jget scope)" = mcp:read ]'
pkce
req -c "$TMP/jar4" "$B/authorize?response_type=code&client_id=dev-public-client&redirect_uri=$CB&code_challenge=$CHALLENGE&code_challenge_method=S256&state=c2"
RID=$(sed -n 's/.*name="request_id" value="\([^"]*\)".*/\1/p' "$TMP/body" | head -n 1)
CSRF=$(sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' "$TMP/body" | head -n 1)
form -b "$TMP/jar4" "$B/authorize/consent" -d "request_id=$RID" -d "csrf_token=$CSRF" -d decision=deny
LOC=$(header Location)
ok "denying redirects with access_denied and the state" '[ "$STATUS" = 302 ] && [ "$(qparam error "$LOC")" = access_denied ] && [ "$(qparam state "$LOC")" = c2 ]'

# ===== scopes at the MCP route (step-up challenge) =====
form "$A/token" -u dev-confidential-client:dev-confidential-secret -d grant_type=client_credentials --data-urlencode "resource=$R"
RW=$(jget access_token)
mcp_session "$R" "Authorization: Bearer $RW"
mcp_call "$R" "Authorization: Bearer $RW" admin_reset
ok "a tool needing mcp:admin answers 403 insufficient_scope" '[ "$STATUS" = 403 ] && header_has WWW-Authenticate "scope=\"mcp:admin\", error=\"insufficient_scope\"" && header_has WWW-Authenticate resource_metadata='
mcp_call "$R" "Authorization: Bearer $RW" write_note
ok "a tool needing mcp:write works with mcp:write" 'status_is 200'
form "$A/token" -u dev-admin-client:dev-admin-secret -d grant_type=client_credentials --data-urlencode "resource=$R"
ADM=$(jget access_token)
mcp_session "$R" "Authorization: Bearer $ADM"
mcp_call "$R" "Authorization: Bearer $ADM" admin_reset
ok "the admin client may call it" 'status_is 200 && ! body_has insufficient_scope'

# ===== provider chain and ACL (--config with providers, tokens, acl) =====
mcp_session "$C/mcp/oauth" "Authorization: Bearer tok-bob"
ok "a static token is accepted on /mcp/oauth when the chain has bearer" 'status_is 200'
mcp_call "$C/mcp/oauth" "Authorization: Bearer tok-bob" ping
ok "the ACL lets bob ping" 'status_is 200 && body_has "\"result\""'
mcp_call "$C/mcp/oauth" "Authorization: Bearer tok-bob" echo
ok "the ACL denies echo to the intern role (deny wins)" 'body_has "\"error\"" && ! body_has "\"result\""'
mcp_session "$C/mcp/oauth" "X-Forwarded-User: carol"
ok "forwarded headers are accepted" 'status_is 200'
mcp_call "$C/mcp/oauth" "X-Forwarded-User: carol" echo
ok "carol has no intern role and may echo" 'status_is 200 && body_has "\"result\""'
mcp_init "$C/mcp/oauth" "junk-token"
ok "when all providers reject: 401 with the first provider's answer" '[ "$STATUS" = 401 ] && header_has WWW-Authenticate "error=\"invalid_token\"" && header_has WWW-Authenticate "resource_metadata=\"$C/.well-known/oauth-protected-resource/mcp/oauth\""'
mcp_init "$C/mcp/open"
ok "/mcp/open stays open with a provider chain configured" 'status_is 200'
mcp_session "$B/mcp/fwd" "X-Forwarded-User: carol"
ok "forwarded headers from a remote not in trusted_remotes are no credentials" '[ "$STATUS" = 401 ] && ! header_has WWW-Authenticate error='
mcp_init "$B/mcp/oauth"
ok "challenge values are quoted and escaped (RFC 7235)" 'header_has WWW-Authenticate "scope=\"mcp:read we\\\"ird\\\\scope\""'

# ===== access-token lifetime (--token-ttl 4 on the auto server) =====
form "$A/token" -u dev-confidential-client:dev-confidential-secret -d grant_type=client_credentials --data-urlencode "resource=$R"
SHORT=$(jget access_token)
ok "--token-ttl sets expires_in" '[ "$(jget expires_in)" = 4 ]'
mcp_init "$R" "$SHORT"
ok "the short-lived token works at first" 'status_is 200'
sleep 4.5
mcp_init "$R" "$SHORT"
ok "and is refused once expired" '[ "$STATUS" = 401 ] && header_has WWW-Authenticate '\''error="invalid_token"'\'''

echo "1..$N"
if [ "$FAILED" -gt 0 ]; then
  echo "# $FAILED of $N checks failed" >&2
  exit 1
fi
echo "# all $N checks passed"
exit 0
