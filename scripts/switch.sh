#!/usr/bin/env bash
# Planned switch of the serving pool: `make switch POOL=green [FORCE=1]`.
# Order matters: check the target, tell the watcher, switch Nginx, persist.
set -euo pipefail

pool=${1:-}
compose=${COMPOSE:-docker compose}
env_file=${ENV_FILE:-.env}

case "$pool" in
  blue | green) ;;
  *) echo "switch: POOL must be blue or green (got '${pool}')" >&2; exit 2 ;;
esac

# One switch, release or rollback at a time: the rest runs again under the
# release tool's lock (`make switch` builds it). A release's own switch goes
# on under the lock the release holds.
tool="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/dist/ops/release/shellTool.js"
if [ "${SWITCH_UNDER_LOCK:-}" != 1 ]; then
  [ -f "$tool" ] || { echo "switch: $tool is missing: run make switch, which builds it" >&2; exit 2; }
  SWITCH_UNDER_LOCK=1 exec node "$tool" with-lock "$env_file" switch -- "${BASH_SOURCE[0]}" "$pool"
fi

if [ "${FORCE:-0}" != 1 ]; then
  # Asked from Nginx's container, over the network Nginx uses: it works for any
  # pool image (nothing of ours needs to be inside it). $APP_PORT is Nginx's.
  # shellcheck disable=SC2016
  if ! $compose exec -T nginx sh -c 'curl -fsS -o /dev/null --max-time 2 "http://$1:${APP_PORT:-3000}/readyz"' sh "app_$pool"; then
    echo "switch: app_$pool is not ready (its /readyz failed); refusing to switch. FORCE=1 overrides." >&2
    exit 1
  fi
fi

ctl="$compose exec -T alert_watcher node dist/watcher/operator/ctl.js"
case "$pool" in blue) from=green ;; *) from=blue ;; esac
reason=${SWITCH_REASON:-manual switch}

# The audit trail (make history); losing an entry must not fail the switch.
audit() {
  $ctl record --action switch --outcome "$1" --pool "$pool" --from-pool "$from" --reason "$reason" \
    --who "${AUDIT_WHO:-unknown}" >/dev/null || echo "switch: WARNING: not recorded in the history" >&2
}

# A marker left by a switch that did not happen would report a real failover
# to $pool as "Planned switch" until it expires. Armed before the announcement,
# so an interrupt during it is covered too; withdrawing is idempotent.
withdraw_unless_switched() {
  local status=$?
  trap - EXIT INT TERM
  if [ "$status" -ne 0 ]; then
    echo "switch: failed or interrupted; withdrawing the planned-switch marker" >&2
    $ctl planned-switch --cancel >&2 ||
      echo "switch: WARNING: could not withdraw the marker; a failover to $pool may be reported as planned until it expires" >&2
    audit failed
  fi
  exit "$status"
}
trap withdraw_unless_switched EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The watcher must know before the first request reaches the new pool, or it
# would page the switch as a failover.
if ! $ctl planned-switch "$pool"; then
  echo "switch: WARNING: could not tell alert_watcher; it may report this switch as a failover" >&2
fi

$compose exec -T nginx switch-pool "$pool"
# Nginx serves $pool now: the marker is right, whatever happens next.
trap - EXIT INT TERM

# A new container (make down && make up) starts from .env: keep the choice
# there, with the release tool's writer (atomic, keeps the file's mode).
node "$tool" set-env "$env_file" "ACTIVE_POOL=$pool"
echo "switch: ACTIVE_POOL=$pool saved in $env_file"
audit ok
