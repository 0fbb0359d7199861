#!/usr/bin/env bash
# The one .env syntax (docs/configuration.md): KEY=VALUE, one per line, the
# value bare: no quotes, no whitespace, no `#`; a `#` starts a comment only
# at the start of a line. Make, Compose, dotenv and the containers each read
# quotes, inline comments and spaces their own way, so such a line would
# mean different things to each: it is refused, one line per problem, the
# key named and the value never shown (it may be a secret).
#   scripts/check-env.sh FILE   exit 1 after the problems; 0 when none (or no file)
# ops/stack/envSyntax.ts applies the same rule; test/ops/envSyntax.test.ts ties the two.
# Shell, not the host CLI: make runs it while it reads the Makefile, for every
# target (down and logs too, which need no Node), before the CLI is built.
set -uo pipefail
file=${1:?usage: scripts/check-env.sh FILE}
[ -f "$file" ] || exit 0
status=0
n=0
while IFS= read -r line || [ -n "$line" ]; do
  n=$((n + 1))
  line=${line%$'\r'}
  case "$line" in '' | '#'*) continue ;; esac
  key=${line%%=*}
  if [ "$key" = "$line" ] || ! [[ "$key" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then
    echo "$file:$n: expected KEY=VALUE (no spaces around =, no 'export')" >&2
    status=1
    continue
  fi
  value=${line#*=}
  case "$value" in
    *[\"\'\`]*) why="quotes are read differently by Make, Compose and the tools: write the value bare" ;;
    *[[:space:]]*) why="whitespace in a value is read differently by Make, Compose and the tools" ;;
    *'#'*) why="'#' in a value starts a comment for some readers and not others" ;;
    *) continue ;;
  esac
  echo "$file:$n: $key: $why" >&2
  status=1
done <"$file"
exit "$status"
