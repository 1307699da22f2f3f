// Queue-proxy configuration: defaults, parsing from kebab-case keys (env SLUICE_QUEUE_PROXY_<KEY>) and validation.
//
// Two sources (see main.ts): by default the env variables SLUICE_QUEUE_PROXY_<KEY>. With
// SLUICE_QUEUE_PROXY_AWAIT_CONFIG=stdin the process is a warm spare: it loads its modules, then reads
// one JSON object line on stdin with the same kebab-case keys (e.g. {"function":"hello","log-file":…}).
import { ConfigError, ConfigReader, type RawConfig } from '../lib/config.js';

export interface QueueProxyConfig {
  namespace: string;
  /** Function name; required. */
  function: string;
  /** Instance (pod) name; required. Reported as pod_name and sent as x-sluice-instance. */
  instance: string;
  bindAddress: string;
  /** Traffic port (HTTP/1.1 + h2c); 0 = any free port. */
  trafficPort: number;
  /** Admin port (/ready, /healthz); 0 = any free port. */
  adminPort: number;
  /** Metrics port (/metrics); 0 = any free port. */
  metricsPort: number;
  /** Where the function server listens; defaults to bind-address. */
  userHost: string;
  userPort: number;
  /** Requests in flight to the function at once; 0 = unlimited. */
  containerConcurrency: number;
  /** Requests that may wait for a slot; ignored when containerConcurrency is 0. */
  queueDepth: number;
  /** Per-request budget: queueing, waiting for readiness, and waiting on the function. */
  timeoutMs: number;
  /** "" = TCP connect probe; otherwise HTTP GET on this path expecting 2xx. */
  readinessPath: string;
  /** host:port of the autoscaler's gRPC server; "" = no stats reporting. */
  autoscalerAddress: string;
  reportingPeriodMs: number;
  /** How long a drain waits for in-flight and queued requests before closing anyway. */
  drainTimeoutMs: number;
  /** File the logs are appended to; "" = stdout. Lets a warm spare log where its instance's log belongs. */
  logFile: string;
}

const COMPONENT = 'queue-proxy';
/** Knative's queue-proxy sizes its queue at 10 × containerConcurrency. */
export const QUEUE_DEPTH_PER_CONCURRENCY = 10;

export function defaultConfig(): QueueProxyConfig {
  return {
    namespace: 'default',
    function: '',
    instance: '',
    bindAddress: '127.0.0.1',
    trafficPort: 8012,
    adminPort: 8022,
    metricsPort: 9091,
    userHost: '127.0.0.1',
    userPort: 8080,
    containerConcurrency: 0,
    queueDepth: 0,
    timeoutMs: 300_000,
    readinessPath: '',
    autoscalerAddress: '',
    reportingPeriodMs: 1_000,
    drainTimeoutMs: 30_000,
    logFile: '',
  };
}

function required(key: string, value: string): string {
  if (value === '') throw new ConfigError(`${COMPONENT}: ${key} is required (env SLUICE_QUEUE_PROXY_${key.toUpperCase().replaceAll('-', '_')})`);
  return value;
}

export function loadConfig(raw: RawConfig): QueueProxyConfig {
  const d = defaultConfig();
  const r = new ConfigReader(raw, COMPONENT);
  const bindAddress = r.string('bind-address', d.bindAddress);
  const containerConcurrency = r.int('container-concurrency', d.containerConcurrency, 0, 100_000);
  const queueDepth = r.int('queue-depth', QUEUE_DEPTH_PER_CONCURRENCY * containerConcurrency, 0, 10_000_000);
  const readinessPath = r.string('readiness-path', d.readinessPath);
  if (readinessPath !== '' && !readinessPath.startsWith('/')) {
    throw new ConfigError(`${COMPONENT}: readiness-path = ${readinessPath}, must be empty (TCP probe) or start with "/"`);
  }
  const config: QueueProxyConfig = {
    namespace: r.string('namespace', d.namespace),
    function: required('function', r.string('function', d.function)),
    instance: required('instance', r.string('instance', d.instance)),
    bindAddress,
    trafficPort: r.int('traffic-port', d.trafficPort, 0, 65_535),
    adminPort: r.int('admin-port', d.adminPort, 0, 65_535),
    metricsPort: r.int('metrics-port', d.metricsPort, 0, 65_535),
    userHost: r.string('user-host', bindAddress),
    userPort: r.int('user-port', d.userPort, 1, 65_535),
    containerConcurrency,
    queueDepth: containerConcurrency === 0 ? 0 : queueDepth,
    timeoutMs: r.durationMs('timeout', d.timeoutMs, 1, 24 * 3_600_000),
    readinessPath,
    autoscalerAddress: r.string('autoscaler-address', d.autoscalerAddress),
    reportingPeriodMs: r.durationMs('reporting-period', d.reportingPeriodMs, 10, 60_000),
    drainTimeoutMs: r.durationMs('drain-timeout', d.drainTimeoutMs, 0, 3_600_000),
    logFile: r.string('log-file', d.logFile),
  };
  r.rejectUnknown();
  return config;
}
