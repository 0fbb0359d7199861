#!/bin/sh
# switch-pool blue|green: re-render the upstream with another primary pool,
# check the result with `nginx -t`, then reload. Reload is graceful: old
# workers finish their requests, so nothing in flight is dropped. If the new
# config fails the test, the old files are put back and nothing is reloaded.
set -eu

case "${1:-}" in
  blue | green) ;;
  *) echo "switch-pool: usage: switch-pool blue|green (got '${1:-}')" >&2; exit 2 ;;
esac

conf=/etc/nginx/conf.d/default.conf
state=/etc/nginx/active-pool
cp "$conf" "$conf.previous"
[ -f "$state" ] && cp "$state" "$state.previous"

rollback() {
  mv "$conf.previous" "$conf"
  if [ -f "$state.previous" ]; then mv "$state.previous" "$state"; else rm -f "$state"; fi
  echo "switch-pool: ERROR: $1; the previous configuration keeps serving" >&2
  exit 1
}

# Render with the same two steps as at container start.
(
  export SWITCH_POOL_TO="$1"
  . /docker-entrypoint.d/15-local-resolvers.envsh
  . /docker-entrypoint.d/15-active-pool.envsh
  /docker-entrypoint.d/20-envsubst-on-templates.sh
) >/dev/null || rollback "rendering the template failed"
echo "$1" >"$state"

nginx -t -q 2>/tmp/switch-pool.err || rollback "nginx -t rejected the new config: $(cat /tmp/switch-pool.err)"
nginx -s reload || rollback "nginx -s reload failed"
rm -f "$conf.previous" "$state.previous"
echo "$1" >/var/log/bluegreen/active-pool
echo "switch-pool: now serving from app_$1 (backup: the other pool)"
