import { test } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { defaultConfig, loadConfig, parseLabels } from './config.js';
import { rawConfigFromEnv } from '../lib/config.js';

test('defaults', () => {
  const config = defaultConfig();
  assert.deepEqual(config, {
    name: 'node-1',
    index: 1,
    subnet: '127.0.1',
    grpcPort: 8070,
    metricsPort: 0,
    milliCpu: os.cpus().length * 1000,
    memoryBytes: os.totalmem(),
    maxInstances: 100,
    labels: {},
    queueProxyScript: config.queueProxyScript,
    autoscalerAddress: '127.0.0.1:8090',
    logDir: path.join(os.tmpdir(), 'sluice-logs'),
    workDir: process.cwd(),
    drainTimeoutMs: 30_000,
    warmQueueProxies: 1,
    xdtKeyFile: '',
    xdtSocketDir: path.join(os.tmpdir(), 'sluice-xdt'),
    xdtDrainTimeoutMs: 120_000,
    xdtShmDir: 'auto',
    activatorUrl: '',
    flowHalfLifeMs: 60_000,
    pm: {
      mode: 'auto',
      dir: '',
      bandwidthScale: 0.05,
      writerLimit: undefined,
      agingMs: 2_000,
      writerThresholdBytes: 64 * 1024,
      stateFile: path.join(os.tmpdir(), 'sluice-pm-state', 'node-1.json'),
      leaseMs: 15 * 60_000,
    },
  });
  // Compiled: dist/node-agent/config.js → dist/queue-proxy/main.js.
  assert.ok(config.queueProxyScript.endsWith(path.join('dist', 'queue-proxy', 'main.js')), config.queueProxyScript);
});

test('loadConfig from env', () => {
  const env = {
    SLUICE_NODE_AGENT_NAME: 'node-7',
    SLUICE_NODE_AGENT_INDEX: '7',
    SLUICE_NODE_AGENT_GRPC_PORT: '9070',
    SLUICE_NODE_AGENT_METRICS_PORT: '9095',
    SLUICE_NODE_AGENT_CPU: '2500',
    SLUICE_NODE_AGENT_MEMORY: '8Gi',
    SLUICE_NODE_AGENT_MAX_INSTANCES: '20',
    SLUICE_NODE_AGENT_LABELS: 'zone=a, sluice.dev/pm=true',
    SLUICE_NODE_AGENT_QUEUE_PROXY_SCRIPT: 'build/qp.js',
    SLUICE_NODE_AGENT_AUTOSCALER_ADDRESS: '',
    SLUICE_NODE_AGENT_LOG_DIR: '/var/log/sluice',
    SLUICE_NODE_AGENT_WORK_DIR: 'examples',
    SLUICE_NODE_AGENT_DRAIN_TIMEOUT: '5s',
    SLUICE_NODE_AGENT_WARM_QUEUE_PROXIES: '0',
    SLUICE_NODE_AGENT_XDT_KEY_FILE: '/etc/sluice/xdt.key',
    SLUICE_NODE_AGENT_XDT_SOCKET_DIR: '/run/sluice-xdt',
    SLUICE_NODE_AGENT_XDT_DRAIN_TIMEOUT: '1m',
    SLUICE_NODE_AGENT_XDT_SHM_DIR: 'off',
    SLUICE_NODE_AGENT_ACTIVATOR_URL: 'http://127.0.0.1:8080',
    SLUICE_NODE_AGENT_FLOW_HALF_LIFE: '2m',
    SLUICE_NODE_AGENT_PM_MODE: 'emulated',
    SLUICE_NODE_AGENT_PM_DIR: '/dev/shm/pm-7',
    SLUICE_NODE_AGENT_PM_BANDWIDTH_SCALE: '0.1',
    SLUICE_NODE_AGENT_PM_WRITER_LIMIT: '3',
    SLUICE_NODE_AGENT_PM_AGING: '500ms',
    SLUICE_NODE_AGENT_PM_WRITER_THRESHOLD: '1Mi',
    SLUICE_NODE_AGENT_PM_STATE_FILE: '/var/lib/sluice/pm.json',
    SLUICE_NODE_AGENT_PM_SLOT_LEASE: '1m',
  };
  assert.deepEqual(loadConfig(rawConfigFromEnv('NODE_AGENT', env)), {
    name: 'node-7',
    index: 7,
    subnet: '127.0.7',
    grpcPort: 9070,
    metricsPort: 9095,
    milliCpu: 2500,
    memoryBytes: 8 * 2 ** 30,
    maxInstances: 20,
    labels: { zone: 'a', 'sluice.dev/pm': 'true' },
    queueProxyScript: path.resolve('build/qp.js'),
    // An empty value takes the default, as for every key.
    autoscalerAddress: '127.0.0.1:8090',
    logDir: '/var/log/sluice',
    workDir: path.resolve('examples'),
    drainTimeoutMs: 5_000,
    warmQueueProxies: 0,
    xdtKeyFile: '/etc/sluice/xdt.key',
    xdtSocketDir: '/run/sluice-xdt',
    xdtDrainTimeoutMs: 60_000,
    xdtShmDir: 'off',
    activatorUrl: 'http://127.0.0.1:8080',
    flowHalfLifeMs: 120_000,
    pm: {
      mode: 'emulated',
      dir: '/dev/shm/pm-7',
      bandwidthScale: 0.1,
      writerLimit: 3,
      agingMs: 500,
      writerThresholdBytes: 2 ** 20,
      stateFile: '/var/lib/sluice/pm.json',
      leaseMs: 60_000,
    },
  });
  assert.equal(loadConfig({ 'pm-writer-limit': 'unbounded' }).pm.writerLimit, Infinity);
  assert.equal(loadConfig({ memory: '1048576' }).memoryBytes, 1048576);
  // A range off loopback, for nodes in network namespaces (the XDT bench's shaped topology).
  assert.equal(loadConfig({ index: '2', subnet: '10.214.2' }).subnet, '10.214.2');
});

test('loadConfig rejects bad values naming the key', () => {
  const rows: Array<{ name: string; input: Record<string, string>; want: RegExp }> = [
    { name: 'index 0', input: { index: '0' }, want: /node-agent: index = 0, must be an integer in \[1; 254\]/ },
    { name: 'index 255', input: { index: '255' }, want: /index = 255/ },
    { name: 'subnet of four octets', input: { subnet: '10.214.1.0' }, want: /subnet = 10.214.1.0, must be the first three octets of an IPv4 \/24/ },
    { name: 'subnet octet 256', input: { subnet: '10.256.1' }, want: /subnet = 10.256.1/ },
    { name: 'grpc port', input: { 'grpc-port': '-1' }, want: /grpc-port = -1, must be an integer in \[0; 65535\]/ },
    { name: 'cpu fraction', input: { cpu: '1.5' }, want: /cpu = 1.5, must be an integer/ },
    { name: 'memory', input: { memory: 'lots' }, want: /memory = lots, must be a positive number of bytes/ },
    { name: 'max instances', input: { 'max-instances': '300' }, want: /max-instances = 300, must be an integer in \[1; 253\]/ },
    { name: 'labels', input: { labels: 'zone' }, want: /labels = zone, "zone" must be key=value/ },
    { name: 'label value', input: { labels: 'zone=a b' }, want: /labels = zone=a b/ },
    { name: 'drain timeout', input: { 'drain-timeout': 'soon' }, want: /drain-timeout = soon, must be a duration in \[0s; 1h\]/ },
    { name: 'warm queue-proxies', input: { 'warm-queue-proxies': '17' }, want: /warm-queue-proxies = 17, must be an integer in \[0; 16\]/ },
    { name: 'name', input: { name: 'Node_1' }, want: /name = Node_1, must be a DNS name/ },
    { name: 'flow half-life not a duration', input: { 'flow-half-life': 'often' }, want: /flow-half-life = often, must be a duration in \[1s; 24h\]/ },
    { name: 'pm mode', input: { 'pm-mode': 'nvme' }, want: /pm-mode = nvme, must be one of auto, dax, emulated, plain, off/ },
    { name: 'pm writer limit', input: { 'pm-writer-limit': '0' }, want: /pm-writer-limit = 0, must be auto, unbounded or an integer in \[1; 10000\]/ },
    { name: 'unknown key', input: { 'max-instance': '3' }, want: /unknown config key "max-instance"/ },
  ];
  for (const row of rows) {
    assert.throws(() => loadConfig(row.input), row.want, row.name);
  }
});

test('flow-half-life: a duration in [1s; 24h], default 60s', () => {
  const rows: Array<{ value: string | number | undefined; want?: number; error?: RegExp }> = [
    { value: undefined, want: 60_000 },
    { value: '', want: 60_000 },
    { value: '30s', want: 30_000 },
    { value: '1m30s', want: 90_000 },
    { value: '1s', want: 1_000 },
    { value: '24h', want: 24 * 3_600_000 },
    // A bare number is milliseconds, as for every duration key.
    { value: '5000', want: 5_000 },
    { value: 2_000, want: 2_000 },
    { value: '999ms', error: /node-agent: flow-half-life = 999ms, must be a duration in \[1s; 24h\]/ },
    { value: '0s', error: /flow-half-life = 0s/ },
    { value: '25h', error: /flow-half-life = 25h/ },
    { value: '-1s', error: /flow-half-life = -1s/ },
    { value: 'soon', error: /flow-half-life = soon/ },
  ];
  for (const row of rows) {
    const raw = { 'flow-half-life': row.value };
    if (row.error) assert.throws(() => loadConfig(raw), row.error, String(row.value));
    else assert.equal(loadConfig(raw).flowHalfLifeMs, row.want, String(row.value));
  }
});

test('parseLabels', () => {
  assert.deepEqual(parseLabels(''), {});
  assert.deepEqual(parseLabels('a=1,b='), { a: '1', b: '' });
  assert.throws(() => parseLabels('a=1,a=2'), /label a is listed twice/);
});
