// Autoscaler process entry point: config → logger → platform client → autoscaler (gRPC + metrics) → signal handling.
import { collectDefaultMetrics, Registry } from 'prom-client';
import { rawConfigFromEnv } from '../lib/config.js';
import { createPlatform } from '../lib/platform/create.js';
import { runComponent } from '../lib/process-main.js';
import { startAutoscaler } from './autoscaler.js';
import { loadConfig } from './config.js';

await runComponent({
  component: 'autoscaler',
  loadConfig: () => loadConfig(rawConfigFromEnv('AUTOSCALER')),
  async start(config, logger) {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    const platform = createPlatform(config.platform, { component: 'autoscaler', platformAddress: config.platformAddress, logger });
    const autoscaler = await startAutoscaler(config, { platform, logger, registry });
    return {
      // Drain: end watch and stats streams (clients reconnect), stop deciding, close servers, then the platform.
      async close() {
        await autoscaler.close();
        await platform.close();
      },
    };
  },
});
