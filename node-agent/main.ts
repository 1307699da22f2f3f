// Node agent process: config → logger → gRPC (+ metrics) server → SIGTERM/SIGINT: drain every instance, shut down, exit 0.
import { rawConfigFromEnv } from '../lib/config.js';
import { runComponent } from '../lib/process-main.js';
import { loadConfig } from './config.js';
import { startNodeAgent } from './service.js';

await runComponent({
  component: 'node-agent',
  loadConfig: () => loadConfig(rawConfigFromEnv('NODE_AGENT')),
  logBindings: (config) => ({ node: config.name }),
  // close() stops every instance (≤ drain-timeout each) before the gRPC server goes.
  async start(config, logger) {
    const agent = await startNodeAgent(config, { logger });
    return { close: () => agent.close() };
  },
});
