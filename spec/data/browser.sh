#!/bin/sh
# A headless "browser" for the OAuth specs ($BROWSER): follows the
# authorization URL's redirects (the fixture auto-approves) to the loopback
# callback, as a person's browser would.
curl -s -L -o /dev/null --max-time 20 "$1"
