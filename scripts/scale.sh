#!/usr/bin/env bash
# A pool's replica count, said in one place: `make scale POOL=blue N=4`.
# Written to ENV_FILE (BLUE_REPLICAS or GREEN_REPLICAS), which make up and
# releases read, so neither undoes it (as `docker compose up --scale` would
# be undone); then the pool's service is brought to it. Nginx follows the
# new addresses by itself (`resolve`), without a reload or a recreate.
set -euo pipefail

pool=${1:-}
n=${2:-}
compose=${COMPOSE:-docker compose}
env_file=${ENV_FILE:-.env}

case "$pool" in
  blue | green) ;;
  *) echo "scale: POOL must be blue or green (got '${pool}')" >&2; exit 2 ;;
esac
case "$n" in
  [1-9] | 1[0-9] | 20) ;;
  *) echo "scale: N must be a whole number of replicas from 1 to 20 (got '${n}')" >&2; exit 2 ;;
esac

# Under the release tool's lock, as switches and releases are: a release
# deploying this pool and a scale never overlap.
tool="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/dist/ops/release/shellTool.js"
if [ "${SCALE_UNDER_LOCK:-}" != 1 ]; then
  [ -f "$tool" ] || { echo "scale: $tool is missing: run make scale, which builds it" >&2; exit 2; }
  SCALE_UNDER_LOCK=1 exec node "$tool" with-lock "$env_file" scale -- "${BASH_SOURCE[0]}" "$pool" "$n"
fi

var="$(printf '%s' "$pool" | tr '[:lower:]' '[:upper:]')_REPLICAS"
node "$tool" set-env "$env_file" "$var=$n"
echo "scale: $var=$n saved in $env_file"
$compose up -d --wait --wait-timeout 120 "app_$pool"
echo "scale: app_$pool runs $n replica(s)"
