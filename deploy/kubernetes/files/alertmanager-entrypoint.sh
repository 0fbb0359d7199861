#!/bin/sh
# Starts Alertmanager (Compose profile `alertmanager`) from the template
# monitoring/alertmanager.yml: the route's timings from the environment, and
# one way to Slack, its secret in a file of its own in /tmp, never in the
# config or a log:
#   ALERTMANAGER_SLACK_BOT_TOKEN set: Slack's Web API with that token
#     (http_config's credentials_file) in ALERTMANAGER_SLACK_CHANNEL, with
#     update_message, so each incident is one message, edited to resolved;
#   otherwise the incoming webhook ALERTMANAGER_SLACK_WEBHOOK_URL
#     (api_url_file), a new message at each change.
# sed and sh are in the official image (busybox) and the local stand-in alike.
set -eu
dir=/tmp/alertmanager
mkdir -p "$dir"
umask 077
duration() {
  case "$2" in
    ''|*[!0-9smhd]*) echo "alertmanager-entrypoint: $1 must be a duration such as 30s, 5m, 4h (got \"$2\")" >&2; exit 1 ;;
  esac
  printf '%s' "$2"
}
group_wait=$(duration ALERTMANAGER_GROUP_WAIT "${ALERTMANAGER_GROUP_WAIT:-30s}")
group_interval=$(duration ALERTMANAGER_GROUP_INTERVAL "${ALERTMANAGER_GROUP_INTERVAL:-5m}")
repeat_interval=$(duration ALERTMANAGER_REPEAT_INTERVAL "${ALERTMANAGER_REPEAT_INTERVAL:-4h}")
token=${ALERTMANAGER_SLACK_BOT_TOKEN:-}
webhook=${ALERTMANAGER_SLACK_WEBHOOK_URL:-}
channel=${ALERTMANAGER_SLACK_CHANNEL:-}
if [ -n "$token" ]; then
  # The ID, not the name: chat.update takes only the ID (Alertmanager edits
  # with the one chat.postMessage answered), and an ID needs no quoting.
  case "$channel" in
    ''|?|[!CGD]*|*[!0-9A-Z]*)
      echo "alertmanager-entrypoint: ALERTMANAGER_SLACK_CHANNEL must be the ID of the channel the bot is in, such as C0123ABCD (at the bottom of the channel's details in Slack), not its name (got \"$channel\")" >&2
      exit 1 ;;
  esac
  if [ -n "$webhook" ]; then
    echo "alertmanager-entrypoint: ALERTMANAGER_SLACK_BOT_TOKEN and ALERTMANAGER_SLACK_WEBHOOK_URL are both set: using the bot token (Slack's Web API, channel $channel, one message per incident edited as it changes); the webhook is not used" >&2
  else
    echo "alertmanager-entrypoint: Slack through the bot token (Slack's Web API, channel $channel, one message per incident edited as it changes)" >&2
  fi
  way=bot-token
  other=webhook
  rm -f "$dir/slack_api_url"
  printf '%s' "$token" > "$dir/slack_bot_token"
else
  if [ -n "$channel" ]; then
    echo "alertmanager-entrypoint: ALERTMANAGER_SLACK_CHANNEL is set but ALERTMANAGER_SLACK_BOT_TOKEN is empty: using the webhook, which posts to its own channel" >&2
  fi
  if [ -z "$webhook" ]; then
    # Kubernetes, where Alertmanager is the only way to Slack, sets it: better
    # not started than running unheard. Compose's profile may run without Slack.
    if [ "${ALERTMANAGER_SLACK_REQUIRED:-}" = true ]; then
      echo "alertmanager-entrypoint: neither ALERTMANAGER_SLACK_BOT_TOKEN nor ALERTMANAGER_SLACK_WEBHOOK_URL is set, and ALERTMANAGER_SLACK_REQUIRED=true: not starting (put one in the Secret alertmanager)" >&2
      exit 1
    fi
    echo "alertmanager-entrypoint: ALERTMANAGER_SLACK_WEBHOOK_URL is empty (and ALERTMANAGER_SLACK_BOT_TOKEN too): notifications to Slack will fail" >&2
  fi
  way=webhook
  other=bot-token
  rm -f "$dir/slack_bot_token"
  printf '%s' "$webhook" > "$dir/slack_api_url"
fi
# The template's lines tagged with the other way go, this way's lose their tag.
sed -e "s/\${GROUP_WAIT}/$group_wait/" \
    -e "s/\${GROUP_INTERVAL}/$group_interval/" \
    -e "s/\${REPEAT_INTERVAL}/$repeat_interval/" \
    -e "s/\${SLACK_CHANNEL}/$channel/" \
    -e "/ #$other\$/d" \
    -e "s/ #$way\$//" \
    /etc/alertmanager/alertmanager.yml.template > "$dir/alertmanager.yml"
exec /bin/alertmanager --config.file="$dir/alertmanager.yml" --storage.path=/alertmanager "$@"
