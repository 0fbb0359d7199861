// No webhook configured: each alert becomes one JSON log line instead of a
// post, so a stack without Slack still shows what it would have said.
import type { Logger } from '../../common/logger.js';
import type { AlertSink } from './sink.js';

export function createDryRunSink(logger: Logger): AlertSink {
  const log = logger.child({ component: 'slack', dryRun: true });
  return {
    async send(message) {
      log.info({ slack: message }, 'dry-run: alert not posted (no SLACK_WEBHOOK_URL)');
      return 'dry_run';
    },
    async close() {},
  };
}
