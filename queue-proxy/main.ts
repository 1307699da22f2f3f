// Queue-proxy process: env config → logger → startQueueProxy → SIGTERM/SIGINT drain → exit.
import { Registry } from 'prom-client';
import { ConfigError, rawConfigFromEnv } from '../lib/config.js';
import { createLogger } from '../lib/logger.js';
import { loadConfig, type QueueProxyConfig } from './config.js';
import { startQueueProxy } from './queue-proxy.js';

let config: QueueProxyConfig;
try {
  config = loadConfig(rawConfigFromEnv('QUEUE_PROXY'));
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`${err.message}\n`);
  process.exit(2);
}

const logger = createLogger('queue-proxy', { namespace: config.namespace, function: config.function, instance: config.instance });
const proxy = await startQueueProxy(config, { logger, registry: new Registry() });

let stopping = false;
const stop = (signal: NodeJS.Signals): void => {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'draining');
  proxy.drain().then(
    () => {
      logger.info('drained; exiting');
      process.exit(0);
    },
    (err: unknown) => {
      logger.error({ err }, 'drain failed');
      process.exit(1);
    },
  );
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
