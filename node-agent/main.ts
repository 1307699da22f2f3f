// Node agent process: config → logger → gRPC (+ metrics) server → SIGTERM/SIGINT: drain every instance, shut down, exit 0.
// With platform=kubernetes it runs as a DaemonSet pod instead: the kubelet runs instances, the agent watches its node.
import { rawConfigFromEnv } from '../lib/config.js';
import { loadKubeConfig } from '../lib/kubernetes/client.js';
import { runComponent } from '../lib/process-main.js';
import { loadConfig } from './config.js';
import { loadDaemonConfig } from './kubernetes/config.js';
import { startDaemon } from './kubernetes/daemon.js';
import { startNodeAgent } from './service.js';

const raw = rawConfigFromEnv('NODE_AGENT');

if (raw.platform === 'kubernetes') {
  await runComponent({
    component: 'node-agent',
    loadConfig: () => loadDaemonConfig(raw),
    logBindings: (config) => ({ node: config.name }),
    start: (config, logger) => startDaemon(config, { kubeConfig: loadKubeConfig('node-agent'), logger }),
  });
} else {
  await runComponent({
    component: 'node-agent',
    loadConfig: () => loadConfig(raw),
    logBindings: (config) => ({ node: config.name }),
    // close() stops every instance (≤ drain-timeout each) before the gRPC server goes.
    async start(config, logger) {
      const agent = await startNodeAgent(config, { logger });
      return { close: () => agent.close() };
    },
  });
}
