import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rawConfigFromEnv } from '../lib/config.js';
import { defaultConfig, loadConfig } from './config.js';

test('every operator key parses from env', () => {
  const env = {
    SLUICE_OPERATOR_PLATFORM: 'kubernetes',
    SLUICE_OPERATOR_QUEUE_PROXY_IMAGE: 'ghcr.io/acme/sluice/queue-proxy:1.0',
    SLUICE_OPERATOR_IMAGE_PULL_POLICY: 'Always',
    SLUICE_OPERATOR_AUTOSCALER_ADDRESS: '10.96.0.9:8090',
    SLUICE_OPERATOR_ACTIVATOR_URL: 'http://10.96.0.8:80',
    SLUICE_OPERATOR_SCHEDULER_NAME: 'sluice',
    SLUICE_OPERATOR_XDT_SECRET: 'sluice-xdt-key',
    SLUICE_OPERATOR_XDT_SECRET_NAMESPACE: 'sluice',
    SLUICE_OPERATOR_DOMAIN: 'fn.example.com',
    SLUICE_OPERATOR_PM_HOST_PATH: '/mnt/pmem0/sluice',
    SLUICE_OPERATOR_PM_PORT: '9096',
    SLUICE_OPERATOR_NODE_AGENT_PORT: '9096',
    SLUICE_OPERATOR_XDT_SHM_HOST_PATH: '/dev/shm/sluice-xdt-k8s',
    SLUICE_OPERATOR_XDT_SHM_UID: '1000',
    SLUICE_OPERATOR_WORKERS: '4',
    SLUICE_OPERATOR_RESYNC_PERIOD: '1m',
    SLUICE_OPERATOR_METRICS_HOST: '10.244.1.5',
    SLUICE_OPERATOR_METRICS_PORT: '0',
  };
  assert.deepEqual(loadConfig(rawConfigFromEnv('OPERATOR', env)), {
    queueProxyImage: 'ghcr.io/acme/sluice/queue-proxy:1.0',
    imagePullPolicy: 'Always',
    autoscalerAddress: '10.96.0.9:8090',
    activatorUrl: 'http://10.96.0.8:80',
    schedulerName: 'sluice',
    xdtSecret: 'sluice-xdt-key',
    xdtSecretNamespace: 'sluice',
    domain: 'fn.example.com',
    pmHostPath: '/mnt/pmem0/sluice',
    pmPort: 9096,
    nodeAgentPort: 9096,
    xdtShmHostPath: '/dev/shm/sluice-xdt-k8s',
    xdtShmUid: 1000,
    workers: 4,
    resyncPeriodMs: 60_000,
    metricsHost: '10.244.1.5',
    metricsPort: 0,
  });
  assert.deepEqual(loadConfig({}), defaultConfig());
  assert.equal(defaultConfig().nodeAgentPort, 0, 'no flow reports unless the chart exposes the agent port');
  assert.deepEqual([defaultConfig().xdtShmHostPath, defaultConfig().xdtShmUid], ['', 65532], 'no same-node fast path unless the chart names the directory');
  // Directories apart, however they are spelled, are fine.
  for (const [pm, shm] of [['/dev/shm/sluice-pm', '/dev/shm/sluice-pm-xdt'], ['/dev/shm/sluice-pm/', '/dev/shm/sluice-xdt'], ['/mnt/pmem0', '/dev/shm/sluice-xdt']]) {
    assert.equal(loadConfig({ 'pm-host-path': pm, 'xdt-shm-host-path': shm }).xdtShmHostPath, shm);
  }
});

test('bad operator settings are refused naming the key', () => {
  const rows: Array<[Record<string, string>, RegExp]> = [
    [{ platform: 'local' }, /platform = local, must be one of kubernetes/],
    [{ 'image-pull-policy': 'Sometimes' }, /image-pull-policy = Sometimes, must be one of Always, IfNotPresent, Never/],
    [{ workers: '0' }, /workers = 0, must be an integer in \[1; 64\]/],
    [{ 'resync-period': '10ms' }, /resync-period = 10ms, must be a duration/],
    [{ 'queue-proxy-imag': 'x' }, /unknown config key "queue-proxy-imag"/],
    [{ 'pm-host-path': 'var/lib/pm' }, /pm-host-path = var\/lib\/pm, must be an absolute path/],
    [{ 'pm-port': '0' }, /pm-port = 0, must be an integer in \[1; 65535\]/],
    [{ 'node-agent-port': '-1' }, /node-agent-port = -1, must be an integer in \[0; 65535\]/],
    [{ 'xdt-shm-host-path': 'dev/shm/x' }, /xdt-shm-host-path = dev\/shm\/x, must be an absolute path/],
    [{ 'xdt-shm-uid': '0' }, /xdt-shm-uid = 0, must be an integer in \[1; 2147483647\]/],
    // User containers mount the PM directory: segments must never be inside it, nor it inside theirs.
    [{ 'pm-host-path': '/dev/shm/sluice-pm', 'xdt-shm-host-path': '/dev/shm/sluice-pm/xdt' }, /xdt-shm-host-path = \/dev\/shm\/sluice-pm\/xdt overlaps pm-host-path/],
    [{ 'pm-host-path': '/dev/shm/sluice/pm', 'xdt-shm-host-path': '/dev/shm/sluice' }, /overlaps pm-host-path = \/dev\/shm\/sluice\/pm/],
    [{ 'pm-host-path': '/dev/shm/sluice/', 'xdt-shm-host-path': '/dev/shm/sluice' }, /overlaps/],
  ];
  for (const [raw, want] of rows) assert.throws(() => loadConfig(raw), want);
});
