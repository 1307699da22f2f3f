// Queue-proxy process: env config → logger → startQueueProxy → SIGTERM/SIGINT drain → exit.
import { Registry } from 'prom-client';
import { rawConfigFromEnv } from '../lib/config.js';
import { runComponent } from '../lib/process-main.js';
import { loadConfig } from './config.js';
import { startQueueProxy } from './queue-proxy.js';

await runComponent({
  component: 'queue-proxy',
  loadConfig: () => loadConfig(rawConfigFromEnv('QUEUE_PROXY')),
  logBindings: (config) => ({ namespace: config.namespace, function: config.function, instance: config.instance }),
  async start(config, logger) {
    const proxy = await startQueueProxy(config, { logger, registry: new Registry() });
    return { close: () => proxy.drain() };
  },
});
