#!/usr/bin/env bash
# make traffic [RPS=5] [DURATION=<seconds>]: steady requests through Nginx's
# public port, a line a second with how many each pool answered and how many
# failed, until Ctrl-C or DURATION; then the totals. What a client sees
# while you drill: a failover shows as green's count rising, its end as
# blue's coming back; and conditions resolve only while traffic flows.
#   scripts/traffic.sh RPS DURATION URL   (DURATION 0: until Ctrl-C)
set -uo pipefail
rps=${1:-5}
duration=${2:-0}
url=${3:?usage: scripts/traffic.sh RPS DURATION URL}
case "$rps" in
  [1-9] | [1-9][0-9] | 1[0-9][0-9] | 200) ;;
  *) echo "traffic: RPS must be a whole number of requests a second from 1 to 200 (got '$rps')" >&2; exit 2 ;;
esac
case "$duration" in
  '' | *[!0-9]*) echo "traffic: DURATION must be a whole number of seconds, 0 for until Ctrl-C (got '$duration')" >&2; exit 2 ;;
esac
gap=$(awk -v r="$rps" 'BEGIN { printf "%.3f", 1 / r }')
total_blue=0 total_green=0 total_failed=0 seconds=0
summary() {
  echo "traffic: ${seconds} s: blue $total_blue, green $total_green, failed $total_failed"
  exit 0
}
trap summary INT TERM
echo "traffic: $rps requests/s to $url$([ "$duration" -gt 0 ] && echo " for $duration s" || echo ", Ctrl-C to stop")"
while [ "$duration" -eq 0 ] || [ "$seconds" -lt "$duration" ]; do
  blue=0 green=0 failed=0
  for _ in $(seq "$rps"); do
    # The status line and X-App-Pool (the pool that answered), from the headers alone.
    answer=$(curl -sS -o /dev/null -D - --max-time 5 "$url" 2>/dev/null | tr -d '\r' | awk 'NR == 1 { s = $2 } tolower($1) == "x-app-pool:" { p = $2 } END { print s, p }')
    case "$answer" in
      '200 blue') blue=$((blue + 1)) ;;
      '200 green') green=$((green + 1)) ;;
      *) failed=$((failed + 1)) ;;
    esac
    sleep "$gap"
  done
  seconds=$((seconds + 1))
  total_blue=$((total_blue + blue)) total_green=$((total_green + green)) total_failed=$((total_failed + failed))
  echo "$(date -u +%H:%M:%S)  blue $blue  green $green  failed $failed"
done
summary
