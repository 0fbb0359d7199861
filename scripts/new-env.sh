#!/usr/bin/env bash
# The first `make` on a fresh clone: ENV_FILE from .env.example, readable by
# its owner only (it will hold the Slack webhook), with a random CHAOS_TOKEN,
# so /chaos/* on the pools' direct ports needs the token (make chaos sends
# it) unless someone empties it on purpose.
# Shell, not the host CLI: it is make's $(ENV_FILE) rule, which targets that
# need no Node (down, logs) run too, on a clone with no node_modules yet.
set -euo pipefail
cd "$(dirname "$0")/.."
env_file=${1:?usage: scripts/new-env.sh ENV_FILE}
# 24 random bytes as hex: 48 of the token characters the app accepts (16-512).
token=$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')
umask 077
sed "s/^CHAOS_TOKEN=\$/CHAOS_TOKEN=$token/" .env.example > "$env_file.tmp"
mv "$env_file.tmp" "$env_file"
echo "Created $env_file from .env.example, with a random CHAOS_TOKEN: edit it to set SLACK_WEBHOOK_URL."
