#!/bin/sh
# A "browser" ($BROWSER) that never signs in: it answers mcptest's loopback
# callback itself, as a stale tab or an attacker might, for
# spec/auth/callback_spec.lua.
#   BAD_CALLBACK=state    a code with another state than the request's
#   BAD_CALLBACK=denied   error=access_denied with the request's state
url=$1
redirect=$(printf '%s' "$url" | sed -E 's/.*[?&]redirect_uri=([^&]*).*/\1/' | sed 's/%3A/:/g; s/%2F/\//g')
state=$(printf '%s' "$url" | sed -E 's/.*[?&]state=([^&]*).*/\1/')
case "$BAD_CALLBACK" in
  state) q="code=forged-code&state=not-$state" ;;
  denied) q="error=access_denied&error_description=the+person+said+no&state=$state" ;;
  *) exit 1 ;;
esac
curl -s -o /dev/null --max-time 10 "$redirect?$q"
