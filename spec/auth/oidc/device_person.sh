#!/bin/sh
# spec/auth/oidc/device_person.sh VERIFICATION_URI_COMPLETE: the person of the
# device flow, played with oidc-provider's own pages (no test-only route):
#   1. GET the complete verification URI: a self-submitting form (xsrf, user_code)
#   2. POST it: the "Confirm Device" page, a form with xsrf, user_code, confirm=yes
#   3. POST that, then follow the interaction (the server logs the test user in
#      and grants what was asked) to the "Sign-in Success" page.
# Cookies are kept throughout (the xsrf value is bound to the session cookie).
# Exits 0 when the success page was reached; prints the last page otherwise.
jar=$(mktemp)
page=$(mktemp)
trap 'rm -f "$jar" "$page"' EXIT
field() { sed -n "s/.*name=\"$1\" value=\"\([^\"]*\)\".*/\1/p" "$page" | head -n 1; }
action() { sed -n 's/.*<form[^>]*action="\([^"]*\)".*/\1/p' "$page" | head -n 1; }
c() { curl -s -b "$jar" -c "$jar" --max-time 10 -o "$page" "$@"; }
c "$1" || exit 1
act=$(action); [ -n "$act" ] || { echo "device_person: no form at $1"; cat "$page"; exit 1; }
c --data-urlencode "xsrf=$(field xsrf)" --data-urlencode "user_code=$(field user_code)" "$act" || exit 1
act=$(action)
c -L --data-urlencode "xsrf=$(field xsrf)" --data-urlencode "user_code=$(field user_code)" \
  --data-urlencode "confirm=$(field confirm)" "$act" || exit 1
grep -q "Sign-in Success" "$page" && exit 0
echo "device_person: the sign-in did not succeed; last page:"; cat "$page"
exit 1
