// TEST INFRASTRUCTURE (virtual kubelet). Configuration: kebab-case keys, from env SLUICE_VIRTUAL_KUBELET_<KEY>.
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, ConfigReader } from '../../lib/config.js';
import type { RawConfig } from '../../lib/config.js';
import { parseLabels } from '../config.js';
import { parseImageMap } from './images.js';
import type { ImageEntry } from './images.js';
import { parseQuantity, quantityMilliValue, quantityValue } from './quantity.js';

const COMPONENT = 'virtual-kubelet';

/** dist/node-agent/virtual-kubelet/config.js → the repository root (where `dist/` and the fixtures are). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export interface VirtualKubeletConfig {
  /** The Node's name (kubernetes.io/hostname). */
  name: string;
  /** 1..254: names the default pod range 10.244.<index>.0/24. */
  index: number;
  /** First three octets of the node's /24: InternalIP <subnet>.1, pod IPs <subnet>.2–.254. */
  subnet: string;
  /** Kubeconfig of the agent itself; "" = KUBECONFIG / the default loading rules. */
  kubeconfig: string;
  milliCpu: number;
  memoryBytes: number;
  pods: number;
  ephemeralStorageBytes: number;
  /** Extra Node labels. */
  labels: Record<string, string>;
  /** Where containers run (the repository root: image commands are relative to it). */
  workDir: string;
  /** `<namespace>_<pod>_<container>.log` files. */
  logDir: string;
  /** Per-pod kubeconfigs (mode 0600). */
  runDir: string;
  /** Images beyond the built-in mapping (images.ts), e.g. test fixtures. */
  images: Record<string, ImageEntry>;
  /** Also run the service proxy (kube-proxy stand-in): one node of the cluster should. */
  serviceProxy: boolean;
  /** API server URL written into pods' kubeconfigs; "" = the agent's own kubeconfig's server. */
  podApiServer: string;
  /** CA bundle (PEM file) written into pods' kubeconfigs; "" = the agent's kubeconfig's CA. */
  podCaFile: string;
  nodeStatusIntervalMs: number;
  leaseDurationSeconds: number;
  leaseRenewIntervalMs: number;
  /** Crash-loop and image-pull back-off: first delay and cap (kubelet: 10 s and 5 min). */
  backoffInitialMs: number;
  backoffMaxMs: number;
  kubeletVersion: string;
  /** Longest grace period containers get when the agent itself stops. */
  shutdownGraceMs: number;
  /** The agent's own log file; "" = stdout. */
  logFile: string;
}

function quantityKey(r: ConfigReader, key: string, fallback: string, milli: boolean): number {
  const text = r.string(key, fallback);
  const q = parseQuantity(text);
  const n = q === undefined ? undefined : Number(milli ? quantityMilliValue(q) : quantityValue(q));
  if (n === undefined || !Number.isSafeInteger(n) || n < 1) {
    throw new ConfigError(`${COMPONENT}: ${key} = ${text}, must be a positive Kubernetes quantity (e.g. ${milli ? '4 or 3500m' : '8Gi'})`);
  }
  return n;
}

export function loadConfig(raw: RawConfig): VirtualKubeletConfig {
  const r = new ConfigReader(raw, COMPONENT);
  const index = r.int('index', 1, 1, 254);
  const name = r.string('name', `node-${index}`);
  const subnet = r.string('subnet', `10.244.${index}`);
  if (!/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(subnet) || subnet.split('.').some((o) => Number(o) > 255)) {
    throw new ConfigError(`${COMPONENT}: subnet = ${subnet}, must be the first three octets of an IPv4 /24, e.g. 10.244.1`);
  }
  const base = path.join(os.tmpdir(), 'sluice-virtual-kubelet', name);
  let images: Record<string, ImageEntry>;
  const imagesText = r.string('images', '');
  try {
    images = parseImageMap(imagesText);
  } catch (err) {
    throw new ConfigError(`${COMPONENT}: images = ${imagesText}, ${(err as Error).message}`);
  }
  const config: VirtualKubeletConfig = {
    name,
    index,
    subnet,
    kubeconfig: r.string('kubeconfig', ''),
    milliCpu: quantityKey(r, 'cpu', String(os.cpus().length), true),
    memoryBytes: quantityKey(r, 'memory', String(os.totalmem()), false),
    pods: r.int('pods', 110, 1, 253),
    ephemeralStorageBytes: quantityKey(r, 'ephemeral-storage', '100Gi', false),
    labels: parseLabels(r.string('labels', '')),
    workDir: path.resolve(r.string('work-dir', REPO_ROOT)),
    logDir: path.resolve(r.string('log-dir', path.join(base, 'logs'))),
    runDir: path.resolve(r.string('run-dir', path.join(base, 'run'))),
    images,
    serviceProxy: r.boolean('service-proxy', false),
    podApiServer: r.string('pod-api-server', ''),
    podCaFile: r.string('pod-ca-file', ''),
    nodeStatusIntervalMs: r.durationMs('node-status-interval', 60_000, 1_000, 3_600_000),
    leaseDurationSeconds: r.int('lease-duration', 40, 1, 3600),
    leaseRenewIntervalMs: r.durationMs('lease-renew-interval', 10_000, 100, 3_600_000),
    backoffInitialMs: r.durationMs('backoff', 10_000, 0, 3_600_000),
    backoffMaxMs: r.durationMs('backoff-max', 300_000, 0, 3_600_000),
    kubeletVersion: r.string('kubelet-version', 'v1.36.3'),
    shutdownGraceMs: r.durationMs('shutdown-grace', 10_000, 0, 3_600_000),
    logFile: r.string('log-file', ''),
  };
  r.rejectUnknown();
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(config.name) || config.name.length > 63) {
    throw new ConfigError(`${COMPONENT}: name = ${config.name}, must be a DNS label (lowercase letters, digits, "-" and ".")`);
  }
  if (config.backoffMaxMs < config.backoffInitialMs) {
    throw new ConfigError(`${COMPONENT}: backoff-max = ${config.backoffMaxMs}ms, must be at least backoff (${config.backoffInitialMs}ms)`);
  }
  if (config.leaseRenewIntervalMs >= config.leaseDurationSeconds * 1000) {
    throw new ConfigError(`${COMPONENT}: lease-renew-interval must be shorter than lease-duration (${config.leaseDurationSeconds}s)`);
  }
  return config;
}
