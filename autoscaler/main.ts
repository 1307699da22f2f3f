// Autoscaler process entry point: config → logger → platform client → autoscaler (gRPC + metrics) → signal handling.
import { collectDefaultMetrics, Registry } from 'prom-client';
import { rawConfigFromEnv } from '../lib/config.js';
import { createLogger } from '../lib/logger.js';
import { LocalPlatformClient } from '../lib/platform/local-client.js';
import { startAutoscaler } from './autoscaler.js';
import { loadConfig } from './config.js';

async function main(): Promise<void> {
  const logger = createLogger('autoscaler');
  let config;
  try {
    config = loadConfig(rawConfigFromEnv('AUTOSCALER'));
  } catch (err) {
    logger.fatal({ err: (err as Error).message }, 'invalid configuration');
    process.exit(2);
  }
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const platform = new LocalPlatformClient(config.platformAddress, logger);
  const autoscaler = await startAutoscaler(config, { platform, logger, registry });

  // Drain: end watch and stats streams (clients reconnect), stop deciding, close servers, then the platform.
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    autoscaler
      .close()
      .then(() => platform.close())
      .then(
        () => process.exit(0),
        (err: unknown) => {
          logger.error({ err: (err as Error).message }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  createLogger('autoscaler').fatal({ err: (err as Error).message }, 'autoscaler failed to start');
  process.exit(1);
});
