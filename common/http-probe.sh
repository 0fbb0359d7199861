#!/bin/bash
# Container health check: GET http://127.0.0.1:<port><path>, exit 0 on a 2xx
# answer within 2 s. Bash's /dev/tcp rather than Node (the slim image has no
# curl): starting Node for each check cost 0.3-0.4 s of CPU, every 5 s, in
# each of three containers, more than the stack spent on its requests at rest.
#   http-probe [port] [path]   (default: $PORT or 3000, /healthz)
port=${1:-${PORT:-3000}}
path=${2:-/healthz}
if ! { exec 3<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null; then
  echo "probe: nothing listens on 127.0.0.1:$port" >&2
  exit 1
fi
printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$path" >&3
if ! read -r -t 2 _ status _ <&3; then
  echo "probe: no answer from 127.0.0.1:$port$path within 2 s" >&2
  exit 1
fi
case "$status" in
  2??) exit 0 ;;
  *)
    echo "probe: 127.0.0.1:$port$path answered ${status:-nothing}" >&2
    exit 1
    ;;
esac
