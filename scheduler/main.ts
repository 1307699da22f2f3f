// Scheduler process: config → logger → gRPC server → SIGTERM/SIGINT graceful shutdown.
import { rawConfigFromEnv } from '../lib/config.js';
import { createLogger } from '../lib/logger.js';
import { loadConfig } from './config.js';
import { startScheduler } from './service.js';

const logger = createLogger('scheduler');
try {
  const config = loadConfig(rawConfigFromEnv('SCHEDULER'));
  const scheduler = await startScheduler(config, { logger });
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    scheduler.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} catch (err) {
  logger.fatal({ err }, 'scheduler failed to start');
  process.exit(1);
}
