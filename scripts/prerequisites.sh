#!/usr/bin/env bash
# Before `make test`: one line per missing prerequisite, with how to get it.
# Only an old Node stops the run (the test runner needs it); the suites that
# need Docker, kubectl or Chromium skip with a visible message without them,
# and fail instead under REQUIRE_DOCKER=1 (CI).
# Shell, not the host CLI: it checks for Node itself.
set -uo pipefail
missing=0
say() {
  echo "make test: $1" >&2
  missing=$((missing + 1))
}
# undici 8 needs 22.19 (package.json's engines).
node_version=$(node --version 2>/dev/null || echo none)
IFS=. read -r node_major node_minor _ <<<"${node_version#v}"
if ! [[ "$node_major" =~ ^[0-9]+$ && "$node_minor" =~ ^[0-9]+$ ]] || [ "$node_major" -lt 22 ] || { [ "$node_major" -eq 22 ] && [ "$node_minor" -lt 19 ]; }; then
  echo "make test: Node.js 22.19 or later is needed (found: $node_version): install Node 24 from https://nodejs.org or your package manager" >&2
  exit 1
fi
if ! docker info >/dev/null 2>&1; then
  say "no Docker engine answers (docker info): install Docker and start it; the end-to-end suites are skipped"
elif ! docker compose version >/dev/null 2>&1; then
  say "no Compose v2 (docker compose version): install the docker-compose-plugin; the end-to-end suites are skipped"
fi
kubectl_minor=$(kubectl version --client -o json 2>/dev/null | sed -n 's/.*"minor": *"\([0-9]*\).*/\1/p' | head -n1)
if [ -z "$kubectl_minor" ] || [ "$kubectl_minor" -lt 29 ]; then
  say "no kubectl 1.29 or later (found: ${kubectl_minor:+1.}${kubectl_minor:-none}): install it from https://kubernetes.io/docs/tasks/tools/; test/deploy is skipped"
fi
chromium=${CHROMIUM_PATH:-/usr/bin/chromium}
if [ ! -x "$chromium" ]; then
  say "no Chromium at $chromium: apt-get install chromium, or set CHROMIUM_PATH; the status page's browser test is skipped"
fi
if [ "$missing" -gt 0 ] && [ "${REQUIRE_DOCKER:-}" = 1 ]; then
  echo "make test: REQUIRE_DOCKER=1: the suites above will fail rather than skip" >&2
fi
exit 0
