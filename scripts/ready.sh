#!/usr/bin/env bash
# make ready: each replica's /readyz on its own direct port, both pools (or
# the one named), as the switch and the release gates ask it: 200 ready, 503
# while chaos is on or it drains. Ports from the replica list
# (scripts/replicas.sh), so it works with any BLUE_PORT / GREEN_PORT and
# replica count. Exit 1 unless every replica listed answered 200.
set -uo pipefail
here=$(dirname "$0")
pools=${1:-blue green}
printf '%-6s %-8s %-22s %s\n' POOL REPLICA ADDRESS READYZ
status=0
for pool in $pools; do
  list=$("$here/replicas.sh" "$pool") || { status=1; continue; }
  while read -r index _container _state _address port; do
    if [ "$port" = - ]; then
      printf '%-6s %-8s %-22s %s\n' "$pool" "$index" - "no direct port"
      status=1
      continue
    fi
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "http://127.0.0.1:$port/readyz")
    [ "$code" = 200 ] || status=1
    [ "$code" = 000 ] && code="no answer"
    printf '%-6s %-8s %-22s %s\n' "$pool" "$index" "127.0.0.1:$port" "$code"
  done <<<"$list"
done
exit "$status"
