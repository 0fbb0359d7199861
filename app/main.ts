// Entry point of the app pool image: `node dist/app/main.js`.
import { loadConfig } from '../common/config.js';
import { APP_SECRETS, appSchema } from './config.js';
import { createApp } from './server.js';

const { config, logger } = loadConfig({ service: 'app', schema: appSchema, secrets: APP_SECRETS });
const app = createApp({ config, logger });

app.server.on('error', (err) => {
  logger.fatal({ err }, 'server error');
  process.exit(1);
});
app.server.listen(config.PORT, () => {
  logger.info({ port: config.PORT, pool: config.APP_POOL, release: config.RELEASE_ID }, 'listening');
});

// `once`: a second signal falls back to Node's default and kills the process,
// the way out if a graceful stop ever hangs.
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    logger.info({ signal }, 'signal received');
    void app.shutdown().then(() => process.exit(0));
  });
}
