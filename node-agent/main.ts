// Node agent process: config → logger → gRPC (+ metrics) server → SIGTERM/SIGINT: drain every instance, shut down, exit 0.
import { rawConfigFromEnv } from '../lib/config.js';
import { createLogger } from '../lib/logger.js';
import { loadConfig } from './config.js';
import { startNodeAgent } from './service.js';

let logger = createLogger('node-agent');
try {
  const config = loadConfig(rawConfigFromEnv('NODE_AGENT'));
  logger = createLogger('node-agent', { node: config.name });
  const agent = await startNodeAgent(config, { logger });
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping every instance, then shutting down');
    agent.close().then(
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
  logger.fatal({ err }, 'node agent failed to start');
  process.exit(1);
}
