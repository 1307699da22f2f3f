// Activator configuration: defaults, parsing from kebab-case keys (env SLUICE_ACTIVATOR_<KEY>) and validation.
import { readFileSync } from 'node:fs';
import { ConfigError, ConfigReader, type RawConfig } from '../lib/config.js';
import { parseClusterKey } from '../lib/xdt/reference.js';
import { PLATFORM_KINDS, type PlatformKind } from '../lib/platform/create.js';

export interface ActivatorConfig {
  /** Address both the traffic and admin servers bind to. */
  host: string;
  /** Traffic port (HTTP/1.1 + h2c); 0 = any free port. */
  port: number;
  /** Admin port (/metrics, /healthz, /ready); 0 = any free port. */
  adminPort: number;
  /** Host routing suffix: `<fn>.<ns>.<domain>`. */
  domain: string;
  /** host:port of the local platform's gRPC server. */
  /** local: the local platform's gRPC server at platformAddress; kubernetes: the API server (KUBECONFIG or in-cluster). */
  platform: PlatformKind;
  platformAddress: string;
  /** host:port of the autoscaler's gRPC server; "" = no stats, pokes or scale watch. */
  autoscalerAddress: string;
  /** Largest request body accepted, in bytes. */
  maxBodyBytes: number;
  /** Requests that may wait per function. */
  queueDepth: number;
  /** How long a request may wait for capacity; undefined = the function's timeoutSeconds. */
  queueTimeoutMs: number | undefined;
  /** Sent as Retry-After (rounded up to whole seconds) with QUEUE_FULL and NO_CAPACITY. */
  retryAfterMs: number;
  /** Reported as pod_name in Stats. */
  activatorId: string;
  reportingPeriodMs: number;
  /** HTTP/1.1 keep-alive connections per instance. */
  connectionsPerInstance: number;
  /** How long a drain waits for in-flight and queued requests before closing anyway. */
  drainTimeoutMs: number;
  /**
   * File holding the XDT cluster key, for locality-aware routing (the activator reads the producer's node from a
   * reference); "" and no xdtKey = locality routing off.
   */
  xdtKeyFile: string;
  /** The XDT cluster key itself (base64), as a Kubernetes Secret passes it; wins over xdtKeyFile. */
  xdtKey: string;
}

const COMPONENT = 'activator';
const MIB = 2 ** 20;
/** Fallback marking an optional duration as not set. */
const UNSET = -1;
const DNS_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const HOST_PORT = /^[^\s:]+:\d{1,5}$|^\[[0-9a-fA-F:.]+\]:\d{1,5}$/;

export function defaultConfig(): ActivatorConfig {
  return {
    host: '127.0.0.1',
    port: 8080,
    adminPort: 9090,
    domain: 'sluice.localhost',
    platform: 'local',
    platformAddress: '127.0.0.1:8092',
    autoscalerAddress: '127.0.0.1:8090',
    maxBodyBytes: 64 * MIB,
    queueDepth: 10_000,
    queueTimeoutMs: undefined,
    retryAfterMs: 1_000,
    activatorId: `activator-${process.pid}`,
    reportingPeriodMs: 1_000,
    connectionsPerInstance: 256,
    drainTimeoutMs: 30_000,
    xdtKeyFile: '',
    xdtKey: '',
  };
}

function address(key: string, value: string, allowEmpty: boolean): string {
  if ((value === '' && allowEmpty) || HOST_PORT.test(value)) return value;
  throw new ConfigError(`${COMPONENT}: ${key} = ${value}, must be host:port${allowEmpty ? ' or "" (none)' : ''}`);
}

export function loadConfig(raw: RawConfig): ActivatorConfig {
  const d = defaultConfig();
  const r = new ConfigReader(raw, COMPONENT);
  const domain = r.string('domain', d.domain).toLowerCase();
  if (!DNS_NAME.test(domain)) {
    throw new ConfigError(`${COMPONENT}: domain = ${domain}, must be a DNS name such as sluice.local`);
  }
  // "" is a legal value (= none) but the reader treats it as unset, so look at the raw value too.
  const autoscalerValue = r.string('autoscaler-address', d.autoscalerAddress);
  const autoscalerAddress = raw['autoscaler-address'] === '' ? '' : autoscalerValue;
  const queueTimeoutMs = r.durationMs('queue-timeout', UNSET, 1, 3_600_000);
  const config: ActivatorConfig = {
    host: r.string('host', d.host),
    port: r.int('port', d.port, 0, 65_535),
    adminPort: r.int('admin-port', d.adminPort, 0, 65_535),
    domain,
    platform: r.string('platform', d.platform, PLATFORM_KINDS) as PlatformKind,
    platformAddress: address('platform-address', r.string('platform-address', d.platformAddress), false),
    autoscalerAddress: address('autoscaler-address', autoscalerAddress, true),
    maxBodyBytes: r.int('max-body-bytes', d.maxBodyBytes, 1, Number.MAX_SAFE_INTEGER),
    queueDepth: r.int('queue-depth', d.queueDepth, 1, 10_000_000),
    queueTimeoutMs: queueTimeoutMs === UNSET ? undefined : queueTimeoutMs,
    retryAfterMs: r.durationMs('retry-after', d.retryAfterMs, 1_000, 3_600_000),
    activatorId: r.string('activator-id', d.activatorId),
    reportingPeriodMs: r.durationMs('reporting-period', d.reportingPeriodMs, 10, 60_000),
    connectionsPerInstance: r.int('connections-per-instance', d.connectionsPerInstance, 1, 65_536),
    drainTimeoutMs: r.durationMs('drain-timeout', d.drainTimeoutMs, 0, 3_600_000),
    xdtKeyFile: r.string('xdt-key-file', d.xdtKeyFile),
    xdtKey: r.string('xdt-key', d.xdtKey),
  };
  if (config.xdtKey !== '') {
    try {
      parseClusterKey(config.xdtKey);
    } catch (err) {
      throw new ConfigError(`${COMPONENT}: xdt-key: ${(err as Error).message}`);
    }
  }
  if (config.port !== 0 && config.port === config.adminPort) {
    throw new ConfigError(`${COMPONENT}: admin-port = ${config.adminPort}, must differ from port`);
  }
  r.rejectUnknown();
  return config;
}

/**
 * The XDT cluster key from xdt-key, else from the file xdt-key-file; undefined when both are "" (locality routing off).
 * Read at start: an unreadable file or a bad key stops the activator with a ConfigError naming the key.
 */
export function xdtClusterKey(config: Pick<ActivatorConfig, 'xdtKeyFile' | 'xdtKey'>): Buffer | undefined {
  if (config.xdtKey !== '') {
    try {
      return parseClusterKey(config.xdtKey);
    } catch (err) {
      throw new ConfigError(`${COMPONENT}: xdt-key: ${(err as Error).message}`);
    }
  }
  if (config.xdtKeyFile === '') return undefined;
  let text: string;
  try {
    text = readFileSync(config.xdtKeyFile, 'utf8');
  } catch (err) {
    throw new ConfigError(`${COMPONENT}: xdt-key-file = ${config.xdtKeyFile}, cannot be read: ${(err as Error).message}`);
  }
  try {
    return parseClusterKey(text);
  } catch (err) {
    throw new ConfigError(`${COMPONENT}: xdt-key-file = ${config.xdtKeyFile}: ${(err as Error).message}`);
  }
}

/** Retry-After is whole seconds; never advertise 0. */
export function retryAfterSeconds(config: Pick<ActivatorConfig, 'retryAfterMs'>): number {
  return Math.max(1, Math.ceil(config.retryAfterMs / 1000));
}
