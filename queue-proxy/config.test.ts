// Tests for queue-proxy config: defaults, derived values and errors that name the key.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rawConfigFromEnv } from '../lib/config.js';
import { defaultConfig, loadConfig, type QueueProxyConfig } from './config.js';

const REQUIRED = { function: 'echo', instance: 'echo-1' };

test('defaults: only the required keys given', () => {
  const want: QueueProxyConfig = { ...defaultConfig(), ...REQUIRED };
  assert.deepEqual(loadConfig(REQUIRED), want);
  assert.deepEqual(defaultConfig(), {
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
      chunkBytes: 64 * 1024,
      ttlMs: 600_000,
      invokeTtlMs: 60_000,
      pullTimeoutMs: 1_000,
      drainTimeoutMs: 120_000,
      shmDir: '',
      shmMaxObjectBytes: 64 * 2 ** 20,
      shmBudgetBytes: 256 * 2 ** 20,
    },
  });
});

test('XDT keys: sizes take quantities, the mode is checked, bad values name the key', () => {
  assert.equal(loadConfig({ ...REQUIRED, 'xdt-key': 'a2V5' }).xdt.key, 'a2V5', 'the key itself, as a Kubernetes Secret passes it in the env');
  const config = loadConfig({ ...REQUIRED, 'xdt-key-file': '/k', 'xdt-put-buffer-size': '8Mi', 'xdt-put-buffers': '4', 'xdt-mode': 'store-and-forward', 'xdt-ttl': '30s' });
  assert.deepEqual([config.xdt.keyFile, config.xdt.putBufferBytes, config.xdt.putBuffers, config.xdt.mode, config.xdt.ttlMs], ['/k', 8 * 2 ** 20, 4, 'store-and-forward', 30_000]);
  assert.throws(() => loadConfig({ ...REQUIRED, 'xdt-mode': 'teleport' }), /xdt-mode = teleport, must be one of cut-through, store-and-forward/);
  assert.throws(() => loadConfig({ ...REQUIRED, 'xdt-invoke-buffer-size': 'lots' }), /xdt-invoke-buffer-size = lots, must be a byte size/);
  const shm = loadConfig({ ...REQUIRED, 'xdt-shm-dir': '/dev/shm/sluice-xdt/n1', 'xdt-shm-max-object-size': '16Mi', 'xdt-shm-budget': '1Gi', 'node-agent-address': '127.0.0.1:9092' });
  assert.deepEqual([shm.xdt.shmDir, shm.xdt.shmMaxObjectBytes, shm.xdt.shmBudgetBytes, shm.nodeAgentAddress], ['/dev/shm/sluice-xdt/n1', 16 * 2 ** 20, 2 ** 30, '127.0.0.1:9092']);
  assert.throws(() => loadConfig({ ...REQUIRED, 'xdt-shm-budget': 'plenty' }), /xdt-shm-budget = plenty, must be a byte size/);
});

test('reads SLUICE_QUEUE_PROXY_* from the environment', () => {
  const env = {
    SLUICE_QUEUE_PROXY_FUNCTION: 'echo',
    SLUICE_QUEUE_PROXY_INSTANCE: 'echo-3f2a',
    SLUICE_QUEUE_PROXY_BIND_ADDRESS: '127.0.1.2',
    SLUICE_QUEUE_PROXY_CONTAINER_CONCURRENCY: '4',
    SLUICE_QUEUE_PROXY_TIMEOUT: '2m',
    SLUICE_QUEUE_PROXY_AUTOSCALER_ADDRESS: '127.0.0.1:8090',
    OTHER: 'x',
  };
  const got = loadConfig(rawConfigFromEnv('QUEUE_PROXY', env));
  assert.equal(got.instance, 'echo-3f2a');
  assert.equal(got.bindAddress, '127.0.1.2');
  assert.equal(got.userHost, '127.0.1.2', 'user-host defaults to bind-address');
  assert.equal(got.containerConcurrency, 4);
  assert.equal(got.queueDepth, 40, 'queue-depth defaults to 10 × container-concurrency');
  assert.equal(got.timeoutMs, 120_000);
  assert.equal(got.autoscalerAddress, '127.0.0.1:8090');
});

test('derived and explicit values', () => {
  const rows: Array<{ name: string; input: Record<string, string>; want: Partial<QueueProxyConfig> }> = [
    { name: 'explicit queue-depth wins', input: { 'container-concurrency': '2', 'queue-depth': '3' }, want: { containerConcurrency: 2, queueDepth: 3 } },
    { name: 'queue-depth ignored when unlimited', input: { 'container-concurrency': '0', 'queue-depth': '3' }, want: { containerConcurrency: 0, queueDepth: 0 } },
    { name: 'explicit user-host', input: { 'bind-address': '127.0.3.4', 'user-host': '127.0.0.9' }, want: { bindAddress: '127.0.3.4', userHost: '127.0.0.9' } },
    { name: 'port 0 means any', input: { 'traffic-port': '0', 'admin-port': '0', 'metrics-port': '0' }, want: { trafficPort: 0, adminPort: 0, metricsPort: 0 } },
    { name: 'http readiness path', input: { 'readiness-path': '/healthz' }, want: { readinessPath: '/healthz' } },
    { name: 'log file', input: { 'log-file': '/logs/h-1.queue-proxy.log' }, want: { logFile: '/logs/h-1.queue-proxy.log' } },
    { name: 'durations', input: { 'reporting-period': '250ms', 'drain-timeout': '5s' }, want: { reportingPeriodMs: 250, drainTimeoutMs: 5_000 } },
  ];
  for (const row of rows) {
    const got = loadConfig({ ...REQUIRED, ...row.input });
    const picked = Object.fromEntries(Object.keys(row.want).map((k) => [k, got[k as keyof QueueProxyConfig]]));
    assert.deepEqual(picked, row.want, `${row.name}: want ${JSON.stringify(row.want)}, got ${JSON.stringify(picked)}`);
  }
});

test('errors name the key', () => {
  const rows: Array<{ name: string; input: Record<string, string>; want: RegExp }> = [
    { name: 'missing function', input: { instance: 'i' }, want: /function is required/ },
    { name: 'missing instance', input: { function: 'f' }, want: /instance is required/ },
    { name: 'negative concurrency', input: { ...REQUIRED, 'container-concurrency': '-1' }, want: /container-concurrency = -1, must be an integer in \[0; 100000\]/ },
    { name: 'port out of range', input: { ...REQUIRED, 'traffic-port': '70000' }, want: /traffic-port = 70000/ },
    { name: 'bad duration', input: { ...REQUIRED, timeout: 'soon' }, want: /timeout = soon, must be a duration/ },
    { name: 'relative readiness path', input: { ...REQUIRED, 'readiness-path': 'healthz' }, want: /readiness-path = healthz/ },
    { name: 'unknown key', input: { ...REQUIRED, 'queue-dept': '3' }, want: /unknown config key "queue-dept"/ },
  ];
  for (const row of rows) {
    assert.throws(() => loadConfig(row.input), row.want, row.name);
  }
});
