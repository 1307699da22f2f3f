// Activator entry point: config → logger → platform, stats reporter → servers → SIGTERM/SIGINT drain → exit.
import { Registry, collectDefaultMetrics } from 'prom-client';
import { rawConfigFromEnv } from '../lib/config.js';
import { createPlatform } from '../lib/platform/create.js';
import { runComponent } from '../lib/process-main.js';
import { StatsReporter } from '../lib/stats-reporter.js';
import { startActivator } from './activator.js';
import { loadConfig } from './config.js';

await runComponent({
  component: 'activator',
  loadConfig: () => loadConfig(rawConfigFromEnv('ACTIVATOR')),
  logBindings: (config) => ({ activator: config.activatorId }),
  async start(config, logger) {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    const platform = createPlatform(config.platform, { component: 'activator', platformAddress: config.platformAddress, logger });
    const statsReporter = config.autoscalerAddress === '' ? undefined : new StatsReporter(config.autoscalerAddress, logger);
    const activator = await startActivator(config, { platform, statsReporter, logger, registry });
    return {
      // Drain (≤ drain-timeout) first: requests in flight still report stats and read endpoints.
      async close() {
        await activator.drain();
        await statsReporter?.close();
        await platform.close();
      },
    };
  },
});
