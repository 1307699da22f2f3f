// The node agent as a DaemonSet pod: watches the Sluice instances bound to its node and exports them as metrics. PM admission and profiling (issue 5) run here.
import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from '../../lib/logger.js';
import { FUNCTION_LABEL, MANAGED_BY_LABEL, OPERATOR_NAME } from '../../lib/kubernetes/function-resource.js';
import { Informer } from '../../lib/kubernetes/informer.js';
import { serveMetrics, type MetricsServer } from '../../lib/metrics-server.js';
import type { DaemonConfig } from './config.js';

export interface RunningDaemon {
  metricsPort: number;
  synced: Promise<void>;
  close(): Promise<void>;
}

/** Instances per function among the node's pods (pure): what the node hosts, by namespace/function. */
export function instancesByFunction(pods: readonly V1Pod[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const pod of pods) {
    const fn = pod.metadata?.labels?.[FUNCTION_LABEL];
    const phase = pod.status?.phase;
    if (fn === undefined || phase === 'Succeeded' || phase === 'Failed') continue;
    const key = `${pod.metadata!.namespace}/${fn}`;
    out.set(key, (out.get(key) ?? 0) + 1);
  }
  return out;
}

export async function startDaemon(config: DaemonConfig, deps: { kubeConfig: KubeConfig; logger: Logger }): Promise<RunningDaemon> {
  const core = deps.kubeConfig.makeApiClient(CoreV1Api);
  const fieldSelector = `spec.nodeName=${config.name}`;
  const labelSelector = `${MANAGED_BY_LABEL}=${OPERATOR_NAME}`;
  const pods = new Informer<V1Pod>({
    kubeConfig: deps.kubeConfig,
    path: '/api/v1/pods',
    list: () => core.listPodForAllNamespaces({ fieldSelector, labelSelector }),
    fieldSelector,
    labelSelector,
    logger: deps.logger,
    what: 'node pods',
  }).start();
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  new Gauge({
    name: 'sluice_node_agent_instances',
    help: 'Sluice function instances on this node (pods not finished), by function.',
    labelNames: ['node', 'namespace', 'function'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [key, count] of instancesByFunction(pods.list())) {
        const [namespace, fn] = key.split('/');
        this.set({ node: config.name, namespace, function: fn }, count);
      }
    },
  });
  let metrics: MetricsServer;
  try {
    metrics = await serveMetrics(registry, config.host, config.metricsPort);
  } catch (err) {
    await pods.stop();
    throw err;
  }
  deps.logger.info({ node: config.name, metricsPort: metrics.port }, 'node agent watching its node');
  return {
    metricsPort: metrics.port,
    synced: pods.synced,
    async close() {
      await pods.stop();
      await metrics.close();
    },
  };
}
