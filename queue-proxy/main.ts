// Queue-proxy process: config (env, or stdin for a warm spare) → logger → startQueueProxy → SIGTERM/SIGINT drain → exit.
//
// SLUICE_QUEUE_PROXY_AWAIT_CONFIG=stdin makes a warm spare: it boots and loads every module (gRPC
// included), sends "ready" over the Node IPC channel when it has one, then waits for one JSON line of
// config on stdin (see stdin-config.ts; same keys and validation as the env). Until then it logs to
// stdout; afterwards to the config's log-file. stdin closing before a config arrives exits 0.
import { Registry } from 'prom-client';
import { rawConfigFromEnv } from '../lib/config.js';
import { createLogger } from '../lib/logger.js';
import { runComponent } from '../lib/process-main.js';
import { loadConfig } from './config.js';
import { startQueueProxy } from './queue-proxy.js';
import { parseConfigLine, readConfigLine } from './stdin-config.js';

let configLine: string | undefined;
if (process.env.SLUICE_QUEUE_PROXY_AWAIT_CONFIG === 'stdin') {
  // Loaded later by the deferred stats reporter; importing it now takes it off the cold-start path.
  await import('../lib/stats-reporter.js');
  process.send?.('ready', () => process.disconnect?.());
  createLogger('queue-proxy', { spare: true }).debug('warm spare waiting for its config on stdin');
  configLine = await readConfigLine(process.stdin);
  if (configLine === undefined) process.exit(0);
}

await runComponent({
  component: 'queue-proxy',
  loadConfig: () => loadConfig(configLine === undefined ? rawConfigFromEnv('QUEUE_PROXY') : parseConfigLine(configLine)),
  logBindings: (config) => ({ namespace: config.namespace, function: config.function, instance: config.instance }),
  logFile: (config) => config.logFile,
  async start(config, logger) {
    const proxy = await startQueueProxy(config, { logger, registry: new Registry() });
    // SIGTERM: scale-down, XDT objects not yet retrieved are still served; SIGINT: the node goes, they go too.
    return { close: (signal) => proxy.drain({ keepXdtObjects: signal !== 'SIGINT' }) };
  },
});
