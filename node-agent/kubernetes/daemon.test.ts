import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Pod } from '@kubernetes/client-node';
import { DEFAULT_DAEMON_GRPC_PORT, loadDaemonConfig } from './config.js';
import { instancesByFunction } from './daemon.js';

function pod(ns: string, fn: string | undefined, phase: string): V1Pod {
  return { metadata: { namespace: ns, name: 'p', labels: fn ? { 'sluice.dev/function': fn } : {} }, status: { phase } };
}

test('instancesByFunction counts unfinished instances per function', () => {
  const got = instancesByFunction([pod('a', 'hello', 'Running'), pod('a', 'hello', 'Pending'), pod('b', 'hello', 'Running'), pod('a', 'hello', 'Succeeded'), pod('a', undefined, 'Running'), pod('a', 'echo', 'Failed')]);
  assert.deepEqual([...got], [['a/hello', 2], ['b/hello', 1]]);
});

test('loadDaemonConfig: the node, the gRPC port and the PM keys of the local node agent', () => {
  const config = loadDaemonConfig({
    name: 'node-1',
    host: '10.244.1.7',
    'grpc-port': '9096',
    'pm-mode': 'emulated',
    'pm-dir': '/dev/shm/sluice-pm/node-1',
    'pm-state-file': '/dev/shm/sluice-pm/.state/node-1.json',
    'pm-writer-limit': '2',
  });
  assert.deepEqual(
    [config.name, config.host, config.metricsPort, config.grpcPort, config.pm.mode, config.pm.dir, config.pm.stateFile, config.pm.writerLimit, config.pm.agingMs],
    ['node-1', '10.244.1.7', 9090, 9096, 'emulated', '/dev/shm/sluice-pm/node-1', '/dev/shm/sluice-pm/.state/node-1.json', 2, 2_000],
  );
  assert.equal(loadDaemonConfig({ name: 'n' }).grpcPort, DEFAULT_DAEMON_GRPC_PORT);
  assert.equal(loadDaemonConfig({ name: 'n' }).pm.mode, 'auto');
  const rows: Array<[Record<string, string>, RegExp]> = [
    [{}, /name is required on Kubernetes/],
    [{ name: 'n', 'grpc-port': '70000' }, /grpc-port = 70000/],
    [{ name: 'n', 'pm-mode': 'fast' }, /pm-mode = fast, must be one of auto, dax, emulated, plain, off/],
    [{ name: 'n', 'pm-writer-limit': '0' }, /pm-writer-limit = 0/],
    [{ name: 'n', 'index': '2' }, /unknown config key "index"/],
  ];
  for (const [raw, want] of rows) assert.throws(() => loadDaemonConfig(raw), want);
});
