// Operator configuration: defaults, parsing from kebab-case keys (env SLUICE_OPERATOR_<KEY>) and validation.
import path from 'node:path';
import { ConfigError, ConfigReader, type RawConfig } from '../lib/config.js';
import type { DesiredConfig } from './desired.js';

export interface OperatorConfig extends DesiredConfig {
  /** Reconciles run at once (different Functions; one Function is never reconciled twice at once). */
  workers: number;
  /** Every Function is reconciled again this often, repairing drift no event reported. */
  resyncPeriodMs: number;
  metricsHost: string;
  /** 0 = no metrics server. */
  metricsPort: number;
}

const COMPONENT = 'operator';

export function defaultConfig(): OperatorConfig {
  return {
    queueProxyImage: 'sluice/queue-proxy:0.1.0',
    imagePullPolicy: 'IfNotPresent',
    autoscalerAddress: '',
    activatorUrl: '',
    schedulerName: 'sluice-scheduler',
    xdtSecret: '',
    xdtSecretNamespace: 'sluice-system',
    domain: 'sluice.localhost',
    pmHostPath: '',
    pmPort: 9095,
    nodeAgentPort: 0,
    xdtShmHostPath: '',
    xdtShmUid: 65532,
    workers: 2,
    resyncPeriodMs: 10 * 60_000,
    metricsHost: '127.0.0.1',
    metricsPort: 9090,
  };
}

export function loadConfig(raw: RawConfig): OperatorConfig {
  const d = defaultConfig();
  const r = new ConfigReader(raw, COMPONENT);
  // Accepted for symmetry with the other components: the operator exists on Kubernetes only.
  r.string('platform', 'kubernetes', ['kubernetes']);
  const config: OperatorConfig = {
    queueProxyImage: r.string('queue-proxy-image', d.queueProxyImage),
    imagePullPolicy: r.string('image-pull-policy', d.imagePullPolicy, ['Always', 'IfNotPresent', 'Never']),
    autoscalerAddress: r.string('autoscaler-address', d.autoscalerAddress),
    activatorUrl: r.string('activator-url', d.activatorUrl),
    schedulerName: r.string('scheduler-name', d.schedulerName),
    xdtSecret: r.string('xdt-secret', d.xdtSecret),
    xdtSecretNamespace: r.string('xdt-secret-namespace', d.xdtSecretNamespace),
    domain: r.string('domain', d.domain),
    pmHostPath: r.string('pm-host-path', d.pmHostPath),
    pmPort: r.int('pm-port', d.pmPort, 1, 65_535),
    nodeAgentPort: r.int('node-agent-port', d.nodeAgentPort, 0, 65_535),
    xdtShmHostPath: r.string('xdt-shm-host-path', d.xdtShmHostPath),
    xdtShmUid: r.int('xdt-shm-uid', d.xdtShmUid, 1, 2 ** 31 - 1),
    workers: r.int('workers', d.workers, 1, 64),
    resyncPeriodMs: r.durationMs('resync-period', d.resyncPeriodMs, 1_000, 24 * 3_600_000),
    metricsHost: r.string('metrics-host', d.metricsHost),
    metricsPort: r.int('metrics-port', d.metricsPort, 0, 65_535),
  };
  r.rejectUnknown();
  if (config.pmHostPath !== '' && !config.pmHostPath.startsWith('/')) {
    throw new ConfigError(`${COMPONENT}: pm-host-path = ${config.pmHostPath}, must be an absolute path (or "" for PM off)`);
  }
  if (config.xdtShmHostPath !== '') {
    if (!config.xdtShmHostPath.startsWith('/')) {
      throw new ConfigError(`${COMPONENT}: xdt-shm-host-path = ${config.xdtShmHostPath}, must be an absolute path (or "" for the same-node fast path off)`);
    }
    // The PM directory is mounted into every user container: XDT segments there would be readable by user code.
    if (config.pmHostPath !== '' && overlaps(config.pmHostPath, config.xdtShmHostPath)) {
      throw new ConfigError(`${COMPONENT}: xdt-shm-host-path = ${config.xdtShmHostPath} overlaps pm-host-path = ${config.pmHostPath}, which user containers mount: keep them apart`);
    }
  }
  return config;
}

/** One directory is the other or inside it. */
function overlaps(a: string, b: string): boolean {
  const inside = (child: string, parent: string) => {
    const rel = path.posix.relative(path.posix.resolve(parent), path.posix.resolve(child));
    return rel === '' || (!rel.startsWith('..') && !path.posix.isAbsolute(rel));
  };
  return inside(a, b) || inside(b, a);
}
