#!/usr/bin/env bash
# Planned switch of the serving pool: `make switch POOL=green [FORCE=1]`.
# Order matters: check the target, tell the watcher, write the control
# volume's file, wait until Nginx serves from it, record. Nothing restarts or
# reloads: Nginx reads the file at run time (nginx/njs/serving-pool.js).
set -euo pipefail

pool=${1:-}
compose=${COMPOSE:-docker compose}
env_file=${ENV_FILE:-.env}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

case "$pool" in
  blue | green) ;;
  *) echo "switch: POOL must be blue or green (got '${pool}')" >&2; exit 2 ;;
esac
: "${POOL_CONTROL_DIR:?switch: POOL_CONTROL_DIR is not set (make switch sets it from $env_file)}"
: "${NGINX_PORT:?switch: NGINX_PORT is not set (make switch sets it from $env_file)}"
control=$POOL_CONTROL_DIR/serving-pool

# One switch, release or rollback at a time: the rest runs again under the
# release tool's lock (`make switch` builds it). A release's own switch goes
# on under the lock the release holds.
tool="$here/../dist/ops/release/shellTool.js"
if [ "${SWITCH_UNDER_LOCK:-}" != 1 ]; then
  [ -f "$tool" ] || { echo "switch: $tool is missing: run make switch, which builds it" >&2; exit 2; }
  SWITCH_UNDER_LOCK=1 exec node "$tool" with-lock "$env_file" switch -- "${BASH_SOURCE[0]}" "$pool"
fi

# Milliseconds since the epoch; whole seconds where bash is older than 5.
now_ms() {
  if [ -n "${EPOCHREALTIME:-}" ]; then
    local t=${EPOCHREALTIME/[.,]/}
    echo $((t / 1000))
  else
    echo $(($(date +%s) * 1000))
  fi
}
# The pool a request sent to Nginx now goes to (its /nginx-health says).
nginx_serving() {
  { curl -sS -D - -o /dev/null --max-time 1 "http://127.0.0.1:$NGINX_PORT/nginx-health" 2>/dev/null || true; } |
    tr -d '\r' | sed -n 's/^[Xx]-[Ss]erving-[Pp]ool: //p'
}

if [ "${FORCE:-0}" != 1 ]; then
  # Every replica of the pool, each on its own direct port: not one that a
  # DNS lookup happens to pick.
  if ! replicas=$(COMPOSE="$compose" "$here/ready.sh" "$pool" 2>&1); then
    printf '%s\n' "$replicas" >&2
    echo "switch: app_$pool is not ready (a replica's /readyz failed, above); refusing to switch. FORCE=1 overrides." >&2
    exit 1
  fi
fi

from=$(nginx_serving)
case "$from" in
  blue | green) ;;
  *) echo "switch: Nginx does not answer on http://127.0.0.1:$NGINX_PORT/nginx-health (is the stack up? make up)" >&2; exit 1 ;;
esac
ctl="$compose exec -T alert_watcher node dist/watcher/operator/ctl.js"
reason=${SWITCH_REASON:-manual switch}

# The audit trail (make history); losing an entry must not fail the switch.
audit() {
  $ctl record --action switch --outcome "$1" --pool "$pool" --from-pool "$from" --reason "$reason" \
    --who "${AUDIT_WHO:-unknown}" >/dev/null || echo "switch: WARNING: not recorded in the history" >&2
}

# Atomically, by rename: Nginx never reads half a file.
write_control() {
  mkdir -p "$POOL_CONTROL_DIR"
  printf '%s\n' "$1" >"$control.tmp" && chmod 0644 "$control.tmp" && mv -f "$control.tmp" "$control"
}

# A marker left by a switch that did not happen would report a real failover
# to $pool as "Planned switch" until it expires; a control file left behind
# would switch later. Armed before the announcement, so an interrupt during
# it is covered too; both undo steps are idempotent.
written=0
undo_unless_switched() {
  local status=$?
  trap - EXIT INT TERM
  if [ "$status" -ne 0 ]; then
    if [ "$written" = 1 ]; then
      write_control "$from" && echo "switch: put $from back in $control" >&2 ||
        echo "switch: WARNING: could not put $from back in $control: check it (make status)" >&2
    fi
    echo "switch: failed or interrupted; withdrawing the planned-switch marker" >&2
    $ctl planned-switch --cancel >&2 ||
      echo "switch: WARNING: could not withdraw the marker; a failover to $pool may be reported as planned until it expires" >&2
    audit failed
  fi
  exit "$status"
}
trap undo_unless_switched EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The watcher must know before the first request reaches the new pool, or it
# would page the switch as a failover.
if ! $ctl planned-switch "$pool"; then
  echo "switch: WARNING: could not tell alert_watcher; it may report this switch as a failover" >&2
fi

started=$(now_ms)
written=1
write_control "$pool" || { echo "switch: cannot write $control (owned by another user? ls -l $POOL_CONTROL_DIR)" >&2; exit 1; }
# Nginx reads the file every 100 ms; 5 s is far past any healthy Nginx.
deadline=$((started + 5000))
while [ "$(nginx_serving)" != "$pool" ]; do
  if [ "$(now_ms)" -gt "$deadline" ]; then
    echo "switch: Nginx still serves from ${from} 5 s after $control said $pool (docker compose logs nginx says why)" >&2
    exit 1
  fi
  sleep 0.01
done
# Nginx serves $pool now: the marker is right, whatever happens next.
trap - EXIT INT TERM
echo "switch: now serving from app_$pool, $(($(now_ms) - started)) ms after the switch (was $from; kept in $control)"
audit ok
