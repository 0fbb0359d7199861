#!/usr/bin/env bash
# The files deploy/kubernetes shares with Compose, copied inside the
# kustomization so `kubectl kustomize deploy/kubernetes` (and `kubectl apply
# -k`) works with kustomize's default load restrictor, which refuses a file
# outside the kustomization's directory. The originals stay the truth: edit
# them, then run `make kubernetes-files`; test/deploy/ fails while a copy differs.
# Shell, not the host CLI: it copies three files and needs no Node.
#   scripts/k8s-files.sh           copy each original over its copy
#   scripts/k8s-files.sh --check   exit 1, naming each copy that differs
set -euo pipefail
cd "$(dirname "$0")/.."
dest=deploy/kubernetes/files
# original → its name in $dest
files=(
  "nginx/templates/default.conf.template default.conf.template"
  "monitoring/alertmanager.yml alertmanager.yml"
  "monitoring/alertmanager-entrypoint.sh alertmanager-entrypoint.sh"
)
status=0
for entry in "${files[@]}"; do
  read -r src name <<<"$entry"
  if [ "${1:-}" = --check ]; then
    if ! cmp -s "$src" "$dest/$name"; then
      echo "k8s-files: $dest/$name differs from $src: run make kubernetes-files" >&2
      status=1
    fi
  else
    cp "$src" "$dest/$name"
    echo "k8s-files: $src -> $dest/$name"
  fi
done
exit "$status"
