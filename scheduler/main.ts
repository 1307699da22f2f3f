// Scheduler process: config → logger → gRPC server → SIGTERM/SIGINT graceful shutdown.
import { rawConfigFromEnv } from '../lib/config.js';
import { runComponent } from '../lib/process-main.js';
import { loadConfig } from './config.js';
import { startScheduler } from './service.js';

await runComponent({
  component: 'scheduler',
  loadConfig: () => loadConfig(rawConfigFromEnv('SCHEDULER')),
  start: (config, logger) => startScheduler(config, { logger }),
});
