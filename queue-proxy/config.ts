// Queue-proxy configuration: defaults, parsing from kebab-case keys (env SLUICE_QUEUE_PROXY_<KEY>) and validation.
//
// Two sources (see main.ts): by default the env variables SLUICE_QUEUE_PROXY_<KEY>. With
// SLUICE_QUEUE_PROXY_AWAIT_CONFIG=stdin the process is a warm spare: it loads its modules, then reads
// one JSON object line on stdin with the same kebab-case keys (e.g. {"function":"hello","log-file":…}).
import { ConfigError, ConfigReader, type RawConfig } from '../lib/config.js';
import { DEFAULT_SHM_BUDGET_BYTES, DEFAULT_SHM_MAX_OBJECT_BYTES } from './xdt/shm.js';

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
  /** Node this instance runs on (sealed into XDT references for locality). */
  node: string;
  /** host:port of the node agent's PmNode service (PM-write admission); "" = off. */
  pmAddress: string;
  /** host:port of the node agent's FlowProfile service (XDT flow reports); "" = no reports. */
  nodeAgentAddress: string;
  /** How often pulls are reported to the node agent's flow profile. */
  flowReportPeriodMs: number;
  xdt: XdtConfig;
}

/** The XDT data plane (queue-proxy/xdt/). Off when both keyFile and key are "". */
export interface XdtConfig {
  /** File holding the cluster key (base64, 32 bytes); "" = XDT off unless `key` is set. */
  keyFile: string;
  /** The cluster key itself (base64): on Kubernetes it comes from a Secret through the env. Wins over keyFile. */
  key: string;
  /** Peer port: other queue-proxies pull objects from here; 0 = any free port. */
  port: number;
  /** Unix socket of the local API for the SDK (put, get); "" = TCP on bind-address:local-port. */
  socket: string;
  localPort: number;
  mode: 'cut-through' | 'store-and-forward';
  invokeBuffers: number;
  invokeBufferBytes: number;
  putBuffers: number;
  putBufferBytes: number;
  /** Bytes an inbound object may read ahead of the function (e.g. during a cold start). */
  inboundBytes: number;
  chunkBytes: number;
  /** TTL of objects put without one. */
  ttlMs: number;
  /** TTL of objects passed by invoke or reply (one retrieval, expected within moments). */
  invokeTtlMs: number;
  /** A pull fails with XDT_OBJECT_GONE when the producer has not answered within this time. */
  pullTimeoutMs: number;
  /** How long a draining queue-proxy keeps serving objects not yet retrieved. */
  drainTimeoutMs: number;
  /** The node's shared-memory directory for same-node pulls (the node agent's); "" = every pull over TCP. */
  shmDir: string;
  /** Objects announced up to this size move through a segment; larger or unsized ones over TCP. */
  shmMaxObjectBytes: number;
  /** Segment bytes a producer may be writing at once, over all its pulls. */
  shmBudgetBytes: number;
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
    node: '',
    pmAddress: '',
    nodeAgentAddress: '',
    flowReportPeriodMs: 1_000,
    xdt: {
      keyFile: '',
      key: '',
      port: 8013,
      socket: '',
      localPort: 8014,
      mode: 'cut-through',
      invokeBuffers: 32,
      invokeBufferBytes: 2 ** 20,
      putBuffers: 40,
      putBufferBytes: 5 * 2 ** 20,
      inboundBytes: 32 * 2 ** 20,
      chunkBytes: 64 * 2 ** 10,
      ttlMs: 10 * 60_000,
      invokeTtlMs: 60_000,
      pullTimeoutMs: 1_000,
      drainTimeoutMs: 2 * 60_000,
      shmDir: '',
      shmMaxObjectBytes: DEFAULT_SHM_MAX_OBJECT_BYTES,
      shmBudgetBytes: DEFAULT_SHM_BUDGET_BYTES,
    },
  };
}

const GiB = 2 ** 30;

function loadXdtConfig(r: ConfigReader, d: XdtConfig): XdtConfig {
  return {
    keyFile: r.string('xdt-key-file', d.keyFile),
    key: r.string('xdt-key', d.key),
    port: r.int('xdt-port', d.port, 0, 65_535),
    socket: r.string('xdt-socket', d.socket),
    localPort: r.int('xdt-local-port', d.localPort, 0, 65_535),
    mode: r.string('xdt-mode', d.mode, ['cut-through', 'store-and-forward']) as XdtConfig['mode'],
    invokeBuffers: r.int('xdt-invoke-buffers', d.invokeBuffers, 1, 100_000),
    invokeBufferBytes: r.bytes('xdt-invoke-buffer-size', d.invokeBufferBytes, 4096, GiB),
    putBuffers: r.int('xdt-put-buffers', d.putBuffers, 1, 100_000),
    putBufferBytes: r.bytes('xdt-put-buffer-size', d.putBufferBytes, 4096, GiB),
    inboundBytes: r.bytes('xdt-inbound-size', d.inboundBytes, 64 * 1024, 64 * GiB),
    chunkBytes: r.bytes('xdt-chunk-size', d.chunkBytes, 1024, 16 * 2 ** 20),
    ttlMs: r.durationMs('xdt-ttl', d.ttlMs, 1_000, 7 * 24 * 3_600_000),
    invokeTtlMs: r.durationMs('xdt-invoke-ttl', d.invokeTtlMs, 1_000, 24 * 3_600_000),
    pullTimeoutMs: r.durationMs('xdt-pull-timeout', d.pullTimeoutMs, 10, 60_000),
    drainTimeoutMs: r.durationMs('xdt-drain-timeout', d.drainTimeoutMs, 0, 24 * 3_600_000),
    shmDir: r.string('xdt-shm-dir', d.shmDir),
    shmMaxObjectBytes: r.bytes('xdt-shm-max-object-size', d.shmMaxObjectBytes, 0, 64 * GiB),
    shmBudgetBytes: r.bytes('xdt-shm-budget', d.shmBudgetBytes, 0, 64 * GiB),
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
    node: r.string('node', d.node),
    pmAddress: r.string('pm-address', d.pmAddress),
    nodeAgentAddress: r.string('node-agent-address', d.nodeAgentAddress),
    flowReportPeriodMs: r.durationMs('flow-report-period', d.flowReportPeriodMs, 10, 60_000),
    xdt: loadXdtConfig(r, d.xdt),
  };
  r.rejectUnknown();
  return config;
}
