// The notify stage: a notification is worded (wording.ts), laid out for Slack
// (slackMessage.ts), queued (queue.ts) and posted: through the incoming
// webhook (slackClient.ts), or with a bot token through the Web API as one
// message per incident with its thread (slackApp.ts, slackThreads.ts,
// slackWebApi.ts), or logged in dry-run (dryRun.ts). With ALERTMANAGER_URL the conditions also go to
// Alertmanager (alertmanager.ts; the alert's shape in alertmanagerAlert.ts,
// its HTTP API in alertmanagerApi.ts).
export { createDryRunSink } from './dryRun.js';
export { DeliveryQueue, type QueuedAlert } from './queue.js';
export { createSlackClient, type AlertSink, type DeliveryResult } from './slackClient.js';
export { createSlackAppClient } from './slackApp.js';
export { formatSlackMessage, type SlackMessage } from './slackMessage.js';
export { createAlertmanagerNotifier, type AlertmanagerNotifier } from './alertmanager.js';
