// The notify stage: a notification is worded (wording.ts), laid out for Slack
// (slackMessage.ts), queued (queue.ts) and posted (slackClient.ts), or logged
// in dry-run (dryRun.ts).
export { createDryRunSink } from './dryRun.js';
export { DeliveryQueue, type QueuedAlert } from './queue.js';
export { createSlackClient, type AlertSink, type DeliveryResult } from './slackClient.js';
export { formatSlackMessage, type SlackMessage } from './slackMessage.js';
