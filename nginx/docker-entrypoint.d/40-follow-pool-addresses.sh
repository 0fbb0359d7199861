#!/bin/sh
# Open-source Nginx resolves app_blue and app_green only when it loads its
# config. A pool container that is re-created, or started again after another
# container took its address, comes back on a new IP, and Nginx would keep
# sending to the old one: that pool would never serve again. This starts a
# background loop that re-resolves both names every few seconds (the same
# lookup as Nginx's: getaddrinfo, via getent) and reloads Nginx when an
# address changed. Only when both names resolve: a reload with a name that
# does not resolve (a stopped pool) fails and keeps the old config anyway.
set -eu

interval=2
names="app_blue app_green"

if ! command -v getent >/dev/null 2>&1; then
  echo "$0: WARNING: no getent in this image; pool addresses are resolved only at start and reload" >&2
  exit 0
fi

# Every address of every pool on one line, or a failure if a name has none.
pool_addresses() {
  for name in $names; do
    found=$(getent ahosts "$name" | awk '{ print $1 }' | sort -u | tr '\n' ' ')
    [ -n "$found" ] || return 1
    printf '%s=%s' "$name" "$found"
  done
}

follow() {
  known=$(pool_addresses) || known=
  while sleep "$interval"; do
    now=$(pool_addresses) || continue
    [ "$now" != "$known" ] || continue
    # An empty `known` means a name did not resolve at start: Nginx could not
    # have started with it, so there is nothing stale to replace yet.
    if [ -n "$known" ]; then
      echo "$0: pool addresses changed ($known -> $now); reloading nginx"
      # nginx -t resolves the names again: never signal a config it would refuse.
      nginx -t -q && nginx -s reload || continue
    fi
    known=$now
  done
}

follow </dev/null &
echo "$0: following the addresses of $names every ${interval}s"
