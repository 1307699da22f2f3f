// Node agent configuration: defaults, parsing from kebab-case keys (env SLUICE_NODE_AGENT_*) and validation.
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, ConfigReader } from '../lib/config.js';
import type { RawConfig } from '../lib/config.js';
import { parseBytes } from '../lib/quantity.js';
import { DEFAULT_BANDWIDTH_SCALE } from './pm/contention-model.js';
import { DEFAULT_FLOW_HALF_LIFE_MS } from './flows/flow-table.js';

export interface NodeAgentConfig {
  name: string;
  /** 1..254: names the node's default address range 127.0.<index>.0/24. */
  index: number;
  /** First three octets of the node's /24: instances get .2–.254, the agent serves gRPC on .1 (default 127.0.<index>). */
  subnet: string;
  /** 0 = any free port (tests). */
  grpcPort: number;
  /** Port of the /metrics HTTP server on 127.0.<index>.1; 0 = none. */
  metricsPort: number;
  milliCpu: number;
  memoryBytes: number;
  maxInstances: number;
  labels: Record<string, string>;
  /** The queue-proxy entry point run with this Node.js binary. */
  queueProxyScript: string;
  /** Passed to every queue-proxy ("" = no stats reporting). */
  autoscalerAddress: string;
  /** Where `<instance>.function.log` and `<instance>.queue-proxy.log` go. */
  logDir: string;
  /** Working directory of function servers: relative commands and scripts resolve against it. */
  workDir: string;
  /** Default time a stopping queue-proxy may drain in-flight requests. */
  drainTimeoutMs: number;
  /** Booted queue-proxies kept waiting for their instance config, taking Node boot off cold starts; 0 = off. */
  warmQueueProxies: number;
  /** File with the cluster's XDT key, handed to every queue-proxy; "" = XDT off. */
  xdtKeyFile: string;
  /** Directory of the queue-proxies' XDT Unix sockets (one per instance, named by its IP). */
  xdtSocketDir: string;
  /** How long a stopping queue-proxy keeps serving XDT objects not yet retrieved. */
  xdtDrainTimeoutMs: number;
  /** Shared-memory directory for same-node XDT pulls: "auto" (/dev/shm/sluice-xdt/<name>-<pid>), a path of its own, or "off". */
  xdtShmDir: string;
  /** Ingress URL functions call for XDT invoke (SLUICE_ACTIVATOR_URL); "" = not set. */
  activatorUrl: string;
  /** Half-life of the decayed XDT flow rates the node reports to placement (node-agent/flows/). */
  flowHalfLifeMs: number;
  pm: PmConfig;
}

/** The node's persistent memory (node-agent/pm/). */
export interface PmConfig {
  /** auto: DAX when the directory is on a DAX mount, else the emulated device; off: no PM on this node. */
  mode: 'auto' | 'dax' | 'emulated' | 'plain' | 'off';
  /** PM files directory; "" = /dev/shm/sluice-pm/<node> (tmpfs, for the emulation). */
  dir: string;
  /** The emulated device runs the published curve at this fraction of its bandwidth (see node-agent/pm/README.md). */
  bandwidthScale: number;
  /** Writers admitted at once: undefined = calibrated at start, Infinity = unbounded (admission off). */
  writerLimit: number | undefined;
  /** A writer waiting this long goes ahead of fairness: the bound on any writer's wait. */
  agingMs: number;
  /** Predicted PM bytes written per invocation from which a function is a writer. */
  writerThresholdBytes: number;
  /** Where the profiles are kept across restarts. */
  stateFile: string;
  /** An admitted invocation never released (its queue-proxy died) frees its slot after this. */
  leaseMs: number;
}

const COMPONENT = 'node-agent';

/** dist/node-agent/config.js → dist/queue-proxy/main.js. */
export const DEFAULT_QUEUE_PROXY_SCRIPT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../queue-proxy/main.js');

const LABEL_KEY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

/** "zone=a,pm=true" → { zone: "a", pm: "true" }; keys and values follow Kubernetes label syntax. */
export function parseLabels(text: string, key = 'labels'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of text.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const eq = item.indexOf('=');
    const name = eq < 0 ? item : item.slice(0, eq).trim();
    const value = eq < 0 ? undefined : item.slice(eq + 1).trim();
    if (value === undefined || !LABEL_KEY.test(name) || !LABEL_VALUE.test(value) || name.length > 253 || value.length > 63) {
      throw new ConfigError(`${COMPONENT}: ${key} = ${text}, "${item}" must be key=value with Kubernetes label syntax`);
    }
    if (Object.hasOwn(out, name)) throw new ConfigError(`${COMPONENT}: ${key} = ${text}, label ${name} is listed twice`);
    out[name] = value;
  }
  return out;
}

function memoryBytes(r: ConfigReader, fallback: number): number {
  const text = r.string('memory', String(fallback));
  const bytes = parseBytes(text);
  if (bytes === undefined || bytes < 1) {
    throw new ConfigError(`${COMPONENT}: memory = ${text}, must be a positive number of bytes (or a quantity like "8Gi")`);
  }
  return bytes;
}

export function loadPmConfig(r: ConfigReader, node: string): PmConfig {
  const limitText = r.string('pm-writer-limit', 'auto');
  let writerLimit: number | undefined;
  if (limitText === 'unbounded') writerLimit = Infinity;
  else if (limitText !== 'auto') {
    writerLimit = Number(limitText);
    if (!Number.isInteger(writerLimit) || writerLimit < 1 || writerLimit > 10_000) {
      throw new ConfigError(`${COMPONENT}: pm-writer-limit = ${limitText}, must be auto, unbounded or an integer in [1; 10000]`);
    }
  }
  return {
    mode: r.string('pm-mode', 'auto', ['auto', 'dax', 'emulated', 'plain', 'off']) as PmConfig['mode'],
    dir: r.string('pm-dir', ''),
    bandwidthScale: r.number('pm-bandwidth-scale', DEFAULT_BANDWIDTH_SCALE, 1e-6, 1),
    writerLimit,
    agingMs: r.durationMs('pm-aging', 2_000, 1, 3_600_000),
    writerThresholdBytes: r.bytes('pm-writer-threshold', 64 * 1024, 1, Number.MAX_SAFE_INTEGER),
    leaseMs: r.durationMs('pm-slot-lease', 15 * 60_000, 1_000, 24 * 3_600_000),
    stateFile: path.resolve(r.string('pm-state-file', path.join(os.tmpdir(), 'sluice-pm-state', `${node}.json`))),
  };
}

export function loadConfig(raw: RawConfig): NodeAgentConfig {
  const r = new ConfigReader(raw, COMPONENT);
  const index = r.int('index', 1, 1, 254);
  const subnet = r.string('subnet', `127.0.${index}`);
  if (!/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(subnet) || subnet.split('.').some((o) => Number(o) > 255)) {
    throw new ConfigError(`${COMPONENT}: subnet = ${subnet}, must be the first three octets of an IPv4 /24, e.g. 127.0.1`);
  }
  const config: NodeAgentConfig = {
    name: r.string('name', 'node-1'),
    index,
    subnet,
    grpcPort: r.int('grpc-port', 8070, 0, 65535),
    metricsPort: r.int('metrics-port', 0, 0, 65535),
    milliCpu: r.int('cpu', os.cpus().length * 1000, 1, 1_000_000_000),
    memoryBytes: memoryBytes(r, os.totalmem()),
    maxInstances: r.int('max-instances', 100, 1, 253),
    labels: parseLabels(r.string('labels', '')),
    queueProxyScript: path.resolve(r.string('queue-proxy-script', DEFAULT_QUEUE_PROXY_SCRIPT)),
    autoscalerAddress: r.string('autoscaler-address', '127.0.0.1:8090'),
    logDir: path.resolve(r.string('log-dir', path.join(os.tmpdir(), 'sluice-logs'))),
    workDir: path.resolve(r.string('work-dir', process.cwd())),
    drainTimeoutMs: r.durationMs('drain-timeout', 30_000, 0, 3_600_000),
    warmQueueProxies: r.int('warm-queue-proxies', 1, 0, 16),
    xdtKeyFile: r.string('xdt-key-file', ''),
    xdtSocketDir: path.resolve(r.string('xdt-socket-dir', path.join(os.tmpdir(), 'sluice-xdt'))),
    xdtDrainTimeoutMs: r.durationMs('xdt-drain-timeout', 2 * 60_000, 0, 24 * 3_600_000),
    xdtShmDir: r.string('xdt-shm-dir', 'auto'),
    activatorUrl: r.string('activator-url', ''),
    // Reports arrive about once a second, so a half-life under a second would only measure their jitter.
    flowHalfLifeMs: r.durationMs('flow-half-life', DEFAULT_FLOW_HALF_LIFE_MS, 1_000, 24 * 3_600_000),
    pm: loadPmConfig(r, r.string('name', 'node-1')),
  };
  r.rejectUnknown();
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(config.name)) {
    throw new ConfigError(`${COMPONENT}: name = ${config.name}, must be a DNS name (lowercase letters, digits, "-" and ".")`);
  }
  return config;
}

export function defaultConfig(): NodeAgentConfig {
  return loadConfig({});
}

/** The range the node owns, e.g. "127.0.1.0/24". */
export function addressRange(subnet: string): string {
  return `${subnet}.0/24`;
}

/** The address the agent itself binds: <subnet>.1. */
export function agentHost(subnet: string): string {
  return `${subnet}.1`;
}
