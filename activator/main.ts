// Activator entry point: config → logger → platform, stats reporter → servers → SIGTERM/SIGINT drain → exit.
import { Registry, collectDefaultMetrics } from 'prom-client';
import { rawConfigFromEnv } from '../lib/config.js';
import { createLogger } from '../lib/logger.js';
import { LocalPlatformClient } from '../lib/platform/local-client.js';
import { StatsReporter } from '../lib/stats-reporter.js';
import { startActivator, type RunningActivator } from './activator.js';
import { loadConfig } from './config.js';

const config = loadConfig(rawConfigFromEnv('ACTIVATOR'));
const logger = createLogger('activator', { activator: config.activatorId });
const registry = new Registry();
collectDefaultMetrics({ register: registry });

const platform = new LocalPlatformClient(config.platformAddress, logger);
const statsReporter = config.autoscalerAddress === '' ? undefined : new StatsReporter(config.autoscalerAddress, logger);
let activator: RunningActivator | undefined = undefined;

// Registered before the servers start so a signal during startup still ends cleanly.
let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal, drainTimeoutMs: config.drainTimeoutMs }, 'draining');
  await activator?.drain();
  await statsReporter?.close();
  await platform.close();
  logger.info('stopped');
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));

activator = await startActivator(config, { platform, statsReporter, logger, registry });
if (stopping) await activator.drain();
