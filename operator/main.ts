// Operator process: config → logger → Kubernetes credentials → control loop and metrics → SIGTERM/SIGINT → stop.
import { collectDefaultMetrics, Registry } from 'prom-client';
import { rawConfigFromEnv } from '../lib/config.js';
import { loadKubeConfig } from '../lib/kubernetes/client.js';
import { serveMetrics } from '../lib/metrics-server.js';
import { runComponent } from '../lib/process-main.js';
import { loadConfig } from './config.js';
import { startOperator } from './controller.js';

await runComponent({
  component: 'operator',
  loadConfig: () => loadConfig(rawConfigFromEnv('OPERATOR')),
  async start(config, logger) {
    const kubeConfig = loadKubeConfig('operator');
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    const metrics = config.metricsPort === 0 ? undefined : await serveMetrics(registry, config.metricsHost, config.metricsPort);
    const operator = startOperator(config, { kubeConfig, logger, registry });
    logger.info({ server: kubeConfig.getCurrentCluster()?.server, metricsPort: metrics?.port }, 'operator started');
    return {
      async close() {
        await operator.close();
        await metrics?.close();
      },
    };
  },
});
