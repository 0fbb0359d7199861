#!/usr/bin/env bash
# A pool's replicas (BLUE_REPLICAS / GREEN_REPLICAS), one line each, by index:
#   <index> <container> <state> <address> <host port>
# <address> is what Nginx logs in upstream_addr (and the watcher names in a
# degraded-pool alert); <host port> is the replica's direct port on 127.0.0.1,
# taken from the BLUE_PORT / GREEN_PORT range ("-" when it has none).
# The one place that finds replicas: make chaos, make status and the host-side
# tools (ops/stack/replicas.ts) all read this.
set -euo pipefail

pool=${1:-}
compose=${COMPOSE:-docker compose}
case "$pool" in
  blue | green) ;;
  *) echo "replicas: POOL must be blue or green (got '${pool}')" >&2; exit 2 ;;
esac

ids=$($compose ps --all -q "app_$pool")
if [ -z "$ids" ]; then
  echo "replicas: no app_$pool container: is the stack up (make up)?" >&2
  exit 1
fi
# shellcheck disable=SC2016,SC2086
docker inspect -f '{{index .Config.Labels "com.docker.compose.container-number"}}|{{slice .Name 1}}|{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}|{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}|{{range $p, $b := .NetworkSettings.Ports}}{{range $b}}{{.HostPort}}{{end}}{{end}}' $ids |
  awk -F'|' '{ for (i = 1; i <= 5; i++) if ($i == "") $i = "-"; print $1, $2, $3, $4, $5 }' | sort -n
