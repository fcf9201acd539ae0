#!/bin/sh
# A headless "browser" for the OAuth specs ($BROWSER): follows the
# authorization URL's redirects (the fixture auto-approves) to the loopback
# callback, as a person's browser would.
curl -s -L -b "" -o /dev/null --max-time 20 "$1" # -b "": keep cookies across the redirects
