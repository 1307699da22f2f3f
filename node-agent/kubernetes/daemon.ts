// The node agent as a DaemonSet pod: watches the Sluice instances bound to its node and exports them as metrics,
// owns the node's PM (the device, in the chart's hostPath shared with the function pods of the node, calibration,
// profiler and admission) and keeps the node's XDT flow profile (node-agent/flows/: the consumer queue-proxies'
// reports). Both are served over gRPC (pm-server.ts) to the queue-proxies and SDKs of the node (through the hostPort,
// at status.hostIP) and to the scheduler (GetNodePm, GetNodeFlows, at the pod IP). With xdt-shm-dir it also owns the node's
// XDT segment directory (xdt-shm.ts): created 0700 for the queue-proxy sidecars, swept of leaked segments.
import { chmod } from 'node:fs/promises';
import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from '../../lib/logger.js';
import { FUNCTION_LABEL, MANAGED_BY_LABEL, OPERATOR_NAME } from '../../lib/kubernetes/function-resource.js';
import { Informer } from '../../lib/kubernetes/informer.js';
import { serveMetrics, type MetricsServer } from '../../lib/metrics-server.js';
import { createFlowProfile, type FlowProfile } from '../flows/service.js';
import { startNodePm, type NodePm } from '../pm/start.js';
import type { DaemonConfig } from './config.js';
import { startPmServer, type PmServer } from './pm-server.js';
import { prepareNodeShmDir, startShmSweeper, type ShmSweeper } from './xdt-shm.js';

export interface RunningDaemon {
  metricsPort: number;
  /** Bound port of the gRPC server (PmNode, FlowProfile, NodeAgent.GetNodePm/GetNodeFlows). */
  grpcPort: number;
  /** The node's PM; undefined with pm-mode off. */
  pm: NodePm | undefined;
  /** The node's XDT flow profile (always on). */
  flows: FlowProfile;
  /** The node's XDT segment directory when it is in use (prepared, swept); undefined when off or unusable. */
  xdtShmDir: string | undefined;
  /** Resolves once the first sweep of the segment directory is done (at once when there is none). */
  shmSwept: Promise<void>;
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
  // Always on, as locally: a flow report costs a few map updates, and placement asks for the view at every scheduling.
  const flows = createFlowProfile({ node: config.name, halfLifeMs: config.flowHalfLifeMs, registry, logger: deps.logger });
  const swept = new Counter({
    name: 'sluice_node_agent_xdt_shm_segments_swept_total',
    help: 'XDT same-node segment files the agent removed from its node directory as leaked (older than xdt-shm-sweep-age: a consumer killed before its pull reached the producer).',
    labelNames: ['node'],
    registers: [registry],
  });
  const shm = await startShm(config, deps.logger, (count) => swept.inc({ node: config.name }, count));
  let pm: NodePm | undefined;
  let server: PmServer | undefined;
  let metrics: MetricsServer;
  try {
    pm = await startNodePm(config.pm, { node: config.name, logger: deps.logger, registry });
    if (pm) await shareDirectory(pm.device.dir, deps.logger);
    server = await startPmServer({ host: config.host, port: config.grpcPort, pm, flows, logger: deps.logger });
    metrics = await serveMetrics(registry, config.host, config.metricsPort);
  } catch (err) {
    await server?.close();
    await pm?.close();
    await shm?.stop();
    await pods.stop();
    throw err;
  }
  deps.logger.info(
    { node: config.name, metricsPort: metrics.port, grpcPort: server.port, pmMode: pm?.device.mode ?? 'off', xdtShmDir: shm ? config.xdtShmDir : undefined },
    'node agent watching its node',
  );
  return {
    metricsPort: metrics.port,
    grpcPort: server.port,
    pm,
    flows,
    xdtShmDir: shm ? config.xdtShmDir : undefined,
    shmSwept: shm?.firstSweep ?? Promise.resolve(),
    synced: pods.synced,
    async close() {
      await server.close();
      await pm?.close();
      await shm?.stop();
      await pods.stop();
      await metrics.close();
    },
  };
}

/**
 * The node's XDT segment directory, made this agent's own (0700) and swept; never emptied, since the queue-proxies of
 * the node keep using it across an agent restart. A directory the agent cannot make its own leaves the fast path off on
 * this node (the queue-proxies cannot create segments there either, so their pulls go over TCP) without failing the
 * agent: PM and the flow profile do not depend on it.
 */
async function startShm(config: DaemonConfig, logger: Logger, onSwept: (count: number) => void): Promise<ShmSweeper | undefined> {
  if (config.xdtShmDir === '') return undefined;
  try {
    await prepareNodeShmDir(config.xdtShmDir);
  } catch (err) {
    logger.error({ xdtShmDir: config.xdtShmDir, err: (err as Error).message }, 'XDT segment directory unusable: same-node pulls on this node go over TCP');
    return undefined;
  }
  return startShmSweeper({ dir: config.xdtShmDir, maxAgeMs: config.xdtShmSweepAgeMs, logger, onSwept });
}

/**
 * Function containers of any user write their PM files into the node's directory: it is made world-writable
 * with the sticky bit, as /dev/shm itself is (nobody removes another's files). A directory this agent does
 * not own (e.g. a DAX mount prepared by an admin) is left as it is.
 */
async function shareDirectory(dir: string, logger: Logger): Promise<void> {
  try {
    await chmod(dir, 0o1777);
  } catch (err) {
    logger.warn({ pmDir: dir, err: (err as Error).message }, 'PM directory left with its mode: function containers must be able to write it');
  }
}
