#!/bin/sh
# spec/auth/oidc/browser.sh: the headless "browser" ($BROWSER) for the
# oidc-provider spec. Unlike spec/data/browser.sh it keeps cookies, as a real
# browser does: oidc-provider binds each interaction and its resumption to
# cookies, so a cookie-less `curl -L` ends on its "session not found" page.
# It follows the authorization URL hop by hop (each a GET with the cookie
# jar) to the loopback redirect (the first URL whose path is /callback) and
# delivers that to mcptest's listener.
#   OIDC_BROWSER_LOG=file      append each URL visited, one a line
#   OIDC_BROWSER_TAMPER=drop-iss | wrong-iss   alter the callback's RFC 9207
#                              iss before delivering it (a mix-up attacker)
#   OIDC_BROWSER_CACERT=file   trust this CA (a provider served over https)
jar=$(mktemp)
trap 'rm -f "$jar"' EXIT
url=$1
log() { [ -n "$OIDC_BROWSER_LOG" ] && printf '%s\n' "$1" >>"$OIDC_BROWSER_LOG"; return 0; }
hops=0
while [ -n "$url" ] && [ "$hops" -lt 20 ]; do
  hops=$((hops + 1))
  case "$url" in
    */callback\?*)
      case "$OIDC_BROWSER_TAMPER" in
        drop-iss) url=$(printf '%s' "$url" | sed -E 's/&iss=[^&]*//; s/\?iss=[^&]*&?/?/') ;;
        wrong-iss) url=$(printf '%s' "$url" | sed -E 's/([?&]iss=)[^&]*/\1http%3A%2F%2F127.0.0.1%3A1%2Fevil/') ;;
      esac
      log "$url"
      curl -s -o /dev/null --max-time 10 "$url"
      exit 0 ;;
  esac
  log "$url"
  url=$(curl -s ${OIDC_BROWSER_CACERT:+--cacert "$OIDC_BROWSER_CACERT"} -b "$jar" -c "$jar" -o /dev/null \
    -w '%{redirect_url}' --max-time 10 "$url")
done
log "stopped after $hops hops without reaching a /callback"
exit 1
