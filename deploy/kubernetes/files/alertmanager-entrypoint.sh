#!/bin/sh
# Starts Alertmanager (Compose profile `alertmanager`) from the template
# monitoring/alertmanager.yml: the route's timings from the environment, and
# the Slack webhook into a file of its own (api_url_file), in /tmp, never in
# the config or a log. sed and sh are in the official image (busybox) and the
# local stand-in alike.
set -eu
dir=/tmp/alertmanager
mkdir -p "$dir"
umask 077
printf '%s' "${ALERTMANAGER_SLACK_WEBHOOK_URL:-}" > "$dir/slack_api_url"
if [ -z "${ALERTMANAGER_SLACK_WEBHOOK_URL:-}" ]; then
  echo "alertmanager-entrypoint: ALERTMANAGER_SLACK_WEBHOOK_URL is empty: notifications to Slack will fail" >&2
fi
duration() {
  case "$2" in
    ''|*[!0-9smhd]*) echo "alertmanager-entrypoint: $1 must be a duration such as 30s, 5m, 4h (got \"$2\")" >&2; exit 1 ;;
  esac
  printf '%s' "$2"
}
group_wait=$(duration ALERTMANAGER_GROUP_WAIT "${ALERTMANAGER_GROUP_WAIT:-30s}")
group_interval=$(duration ALERTMANAGER_GROUP_INTERVAL "${ALERTMANAGER_GROUP_INTERVAL:-5m}")
repeat_interval=$(duration ALERTMANAGER_REPEAT_INTERVAL "${ALERTMANAGER_REPEAT_INTERVAL:-4h}")
sed -e "s/\${GROUP_WAIT}/$group_wait/" \
    -e "s/\${GROUP_INTERVAL}/$group_interval/" \
    -e "s/\${REPEAT_INTERVAL}/$repeat_interval/" \
    /etc/alertmanager/alertmanager.yml.template > "$dir/alertmanager.yml"
exec /bin/alertmanager --config.file="$dir/alertmanager.yml" --storage.path=/alertmanager "$@"
