#!/bin/sh
# Keeps the watcher's access log within about (ACCESS_LOG_KEEP + 1) x
# ACCESS_LOG_MAX_MB: once a second, a log past ACCESS_LOG_MAX_MB is renamed to
# access.log.1 (older ones shift up, the oldest is deleted) and Nginx reopens
# its logs (`nginx -s reopen`, USR1), as logrotate would with no cron and no
# extra package. The watcher finishes the renamed file before it opens the new
# one, so no line is lost; it must not fall ACCESS_LOG_KEEP files behind.
# A bad value stops the container.
set -eu

log=/var/log/bluegreen/access.log
max_mb=${ACCESS_LOG_MAX_MB:-100}
keep=${ACCESS_LOG_KEEP:-2}
interval=1

refuse() {
  echo "rotate-access-log: ERROR: $1; refusing to start" >&2
  exit 1
}
case "$max_mb" in
  '' | 0* | *[!0-9]* | ???????*) refuse "ACCESS_LOG_MAX_MB must be a whole number of MB from 1 to 999999, got '$max_mb'" ;;
esac
case "$keep" in
  '' | 0* | *[!0-9]* | ???*) refuse "ACCESS_LOG_KEEP must be a whole number of rotated files from 1 to 99, got '$keep'" ;;
esac
max_bytes=$((max_mb * 1048576))

rotate() {
  rm -f "$log.$keep"
  i=$keep
  while [ "$i" -gt 1 ]; do
    prev=$((i - 1))
    if [ -e "$log.$prev" ]; then mv -f "$log.$prev" "$log.$i"; fi
    i=$prev
  done
  mv -f "$log" "$log.1"
  # Until the reopen Nginx writes on to access.log.1, which the watcher still reads.
  nginx -s reopen
}

watch_size() {
  while sleep "$interval"; do
    size=$(stat -c %s "$log" 2>/dev/null) || continue
    if [ "$size" -ge "$max_bytes" ]; then
      rotate || echo "$0: WARNING: rotation of $log failed; trying again in ${interval}s" >&2
    fi
  done
}

# A reopen hands the new log to the workers' user (they reopen it too). At the
# next start the master opens it again, as root without CAP_DAC_OVERRIDE, so
# it must be root's again (CAP_CHOWN is kept for this), or Nginx cannot start.
# A master that is not root (Kubernetes runs it as uid 101) owns it already.
if [ -e "$log" ] && [ "$(id -u)" = 0 ]; then chown root "$log"; fi

watch_size </dev/null &
echo "$0: rotating $log past ${max_mb} MB, keeping $keep rotated files"
