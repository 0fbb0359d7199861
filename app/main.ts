// Entry point of the app pool image: `node dist/app/main.js`.
import { loadConfig } from '../common/config.js';
import { APP_SECRETS, appSchema } from './config.js';
import { serve } from './lifecycle.js';
import { createApp } from './server.js';

const { config, logger } = loadConfig({ service: 'app', schema: appSchema, secrets: APP_SECRETS });
serve(createApp({ config, logger }), {
  port: config.PORT,
  logger,
  fields: { pool: config.APP_POOL, release: config.RELEASE_ID },
});
