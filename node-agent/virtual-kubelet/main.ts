// TEST INFRASTRUCTURE: the virtual kubelet process (a stand-in for kubelet + container runtime + kube-proxy on a machine
// without containers). Config from env SLUICE_VIRTUAL_KUBELET_* → register the node → run its pods as processes →
// SIGTERM/SIGINT: stop every container, mark the node NotReady, exit 0. The local-mode node agent is node-agent/main.ts.
import { rawConfigFromEnv } from '../../lib/config.js';
import { runComponent } from '../../lib/process-main.js';
import { loadConfig } from './config.js';
import { startVirtualKubelet } from './virtual-kubelet.js';

await runComponent({
  component: 'virtual-kubelet',
  loadConfig: () => loadConfig(rawConfigFromEnv('VIRTUAL_KUBELET')),
  logBindings: (config) => ({ node: config.name }),
  logFile: (config) => config.logFile,
  async start(config, logger) {
    const kubelet = await startVirtualKubelet(config, { logger });
    return { close: () => kubelet.close() };
  },
});
