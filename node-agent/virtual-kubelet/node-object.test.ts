import { test } from 'node:test';
import assert from 'node:assert/strict';
import { goArch, leaseObject, machineId, microTime, nodeConditions, nodeObject } from './node-object.js';
import type { HostInfo, NodeIdentity } from './node-object.js';

const NODE: NodeIdentity = {
  name: 'node-1',
  internalIP: '10.244.1.1',
  podCIDR: '10.244.1.0/24',
  milliCpu: 4000,
  memoryBytes: 8 * 1024 ** 3,
  pods: 110,
  ephemeralStorageBytes: 100 * 1024 ** 3,
  labels: { zone: 'a' },
  kubeletVersion: 'v1.36.3',
};
const HOST: HostInfo = { kernelVersion: '6.1.0', osImage: 'Debian', architecture: 'amd64', bootID: 'boot', containerRuntimeVersion: 'process://node-v20' };

test('nodeObject: labels, spec, capacity = allocatable, addresses, node info, Ready', () => {
  const node = nodeObject(NODE, HOST, '2026-01-01T00:00:00Z') as unknown as {
    metadata: { name: string; labels: Record<string, string>; annotations: Record<string, string> };
    spec: unknown;
    status: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- checked field by field
  };
  assert.equal(node.metadata.name, 'node-1');
  assert.deepEqual(node.metadata.labels, {
    'beta.kubernetes.io/arch': 'amd64',
    'beta.kubernetes.io/os': 'linux',
    'kubernetes.io/arch': 'amd64',
    'kubernetes.io/hostname': 'node-1',
    'kubernetes.io/os': 'linux',
    'sluice.dev/virtual-kubelet': 'true',
    zone: 'a',
  });
  assert.match(node.metadata.annotations['sluice.dev/test-infrastructure'], /virtual kubelet/);
  assert.deepEqual(node.spec, { podCIDR: '10.244.1.0/24', podCIDRs: ['10.244.1.0/24'] });
  const resources = { cpu: '4', 'ephemeral-storage': '104857600Ki', 'hugepages-1Gi': '0', 'hugepages-2Mi': '0', memory: '8388608Ki', pods: '110' };
  assert.deepEqual(node.status.capacity, resources);
  assert.deepEqual(node.status.allocatable, resources);
  assert.deepEqual(node.status.addresses, [
    { type: 'InternalIP', address: '10.244.1.1' },
    { type: 'Hostname', address: 'node-1' },
  ]);
  assert.equal(node.status.nodeInfo.kubeletVersion, 'v1.36.3');
  assert.equal(node.status.nodeInfo.machineID, machineId('node-1'));
  assert.match(node.status.nodeInfo.systemUUID, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  assert.deepEqual(
    node.status.conditions.map((c: { type: string; status: string; reason: string }) => `${c.type}=${c.status} ${c.reason}`),
    ['MemoryPressure=False KubeletHasSufficientMemory', 'DiskPressure=False KubeletHasNoDiskPressure', 'PIDPressure=False KubeletHasSufficientPID', 'Ready=True KubeletReady'],
  );
  assert.notEqual(machineId('node-1'), machineId('node-2'));
});

test('nodeConditions: heartbeat moves, transition time only on a change', () => {
  const first = nodeConditions([], 't0', true);
  const second = nodeConditions(first, 't1', true);
  assert.ok(second.every((c) => c.lastHeartbeatTime === 't1' && c.lastTransitionTime === 't0'));
  const stopped = nodeConditions(second, 't2', false);
  const ready = stopped.find((c) => c.type === 'Ready')!;
  assert.deepEqual([ready.status, ready.reason, ready.lastTransitionTime], ['False', 'KubeletNotReady', 't2']);
  assert.equal(stopped.find((c) => c.type === 'MemoryPressure')!.lastTransitionTime, 't0');
});

test('microTime: six fractional digits (metav1.MicroTime)', () => {
  assert.equal(microTime(Date.UTC(2026, 0, 2, 3, 4, 5, 678)), '2026-01-02T03:04:05.678000Z');
  assert.equal(microTime(Date.UTC(2026, 0, 2, 3, 4, 5, 0)), '2026-01-02T03:04:05.000000Z');
});

test('leaseObject: in kube-node-lease, owned by the Node', () => {
  assert.deepEqual(leaseObject('node-1', 'uid-1', 40, Date.UTC(2026, 0, 1)), {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: 'node-1', namespace: 'kube-node-lease', ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: 'node-1', uid: 'uid-1' }] },
    spec: { holderIdentity: 'node-1', leaseDurationSeconds: 40, renewTime: '2026-01-01T00:00:00.000000Z' },
  });
  assert.equal('ownerReferences' in (leaseObject('n', undefined, 40, 0).metadata as object), false);
});

test('goArch', () => {
  assert.deepEqual(['x64', 'arm64', 'ppc64', 'riscv64'].map(goArch), ['amd64', 'arm64', 'ppc64le', 'riscv64']);
});
