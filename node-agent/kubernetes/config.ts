// Node agent settings when it runs as a DaemonSet on Kubernetes (platform=kubernetes): the kubelet runs the instances, the agent watches its node,
// owns its PM, keeps its XDT flow profile and the node's XDT segment directory (the same-node fast path).
import { ConfigError, ConfigReader, type RawConfig } from '../../lib/config.js';
import { loadPmConfig, type PmConfig } from '../config.js';
import { DEFAULT_FLOW_HALF_LIFE_MS } from '../flows/flow-table.js';

/** The port of the agent's gRPC server (PmNode, FlowProfile and the NodeAgent subset), the chart's pm.port. */
export const DEFAULT_DAEMON_GRPC_PORT = 9095;

/** Segment files older than this are leaks (a consumer killed before its Pull reached the producer): removed. */
export const DEFAULT_SHM_SWEEP_AGE_MS = 10 * 60_000;

export interface DaemonConfig {
  platform: 'kubernetes';
  /** The node this pod runs on (downward API spec.nodeName). */
  name: string;
  /** Address the metrics and gRPC servers bind (the pod IP). */
  host: string;
  /** 0 = any free port. */
  metricsPort: number;
  /** gRPC: PmNode and FlowProfile (queue-proxies, SDK) and NodeAgent.GetNodePm/GetNodeFlows (the scheduler); 0 = any free port. */
  grpcPort: number;
  /** Half-life of the decayed XDT flow rates the node reports to placement (node-agent/flows/), as the local agent's flow-half-life. */
  flowHalfLifeMs: number;
  /**
   * The node's XDT segment directory (the chart's <xdt.shm.hostPath>/<node>), which every queue-proxy sidecar of the
   * node is given as xdt-shm-dir: the agent creates it (0700, its own uid, never emptied: the queue-proxies outlive
   * an agent restart) and sweeps leaked segments; "" = the fast path is off.
   */
  xdtShmDir: string;
  /** Age (last write) beyond which a segment file in xdtShmDir is removed as leaked. */
  xdtShmSweepAgeMs: number;
  /** The node's PM, the same keys as the local node agent's (pm-mode, pm-dir, …; node-agent/config.ts). */
  pm: PmConfig;
}

export function loadDaemonConfig(raw: RawConfig): DaemonConfig {
  const r = new ConfigReader(raw, 'node-agent');
  const name = r.string('name', '');
  const config: DaemonConfig = {
    platform: r.string('platform', 'kubernetes', ['kubernetes']) as 'kubernetes',
    name,
    host: r.string('host', '0.0.0.0'),
    metricsPort: r.int('metrics-port', 9090, 0, 65_535),
    grpcPort: r.int('grpc-port', DEFAULT_DAEMON_GRPC_PORT, 0, 65_535),
    // The local agent's bounds (node-agent/config.ts): reports arrive about once a second.
    flowHalfLifeMs: r.durationMs('flow-half-life', DEFAULT_FLOW_HALF_LIFE_MS, 1_000, 24 * 3_600_000),
    xdtShmDir: r.string('xdt-shm-dir', ''),
    // A pull names its segment well within xdt-pull-timeout (1 s) of creating it: minutes are far beyond any live one.
    xdtShmSweepAgeMs: r.durationMs('xdt-shm-sweep-age', DEFAULT_SHM_SWEEP_AGE_MS, 10_000, 24 * 3_600_000),
    pm: loadPmConfig(r, name || 'node'),
  };
  r.rejectUnknown();
  if (config.name === '') throw new ConfigError('node-agent: name is required on Kubernetes (set it from spec.nodeName)');
  if (config.xdtShmDir !== '' && !config.xdtShmDir.startsWith('/')) {
    throw new ConfigError(`node-agent: xdt-shm-dir = ${config.xdtShmDir}, must be an absolute path (or "" for the same-node fast path off)`);
  }
  return config;
}
