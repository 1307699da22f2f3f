import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import type { NodePm } from '../framework.js';
import { nodeUnavailable, podRequests, snapshotOf } from './snapshot.js';

function node(name: string, extra: { ready?: string; unschedulable?: boolean; taint?: string; labels?: Record<string, string> } = {}): V1Node {
  return {
    metadata: { name, labels: extra.labels ?? { 'kubernetes.io/hostname': name } },
    spec: { unschedulable: extra.unschedulable, taints: extra.taint ? [{ key: extra.taint, effect: 'NoSchedule' }] : undefined },
    status: { allocatable: { cpu: '2', memory: '4Gi', pods: '20' }, conditions: [{ type: 'Ready', status: extra.ready ?? 'True', reason: 'KubeletReady' }] },
  };
}

function pod(name: string, nodeName: string | undefined, phase = 'Running', fn = 'hello'): V1Pod {
  return {
    metadata: { name, namespace: 'default', labels: { 'sluice.dev/function': fn } },
    spec: {
      nodeName,
      containers: [
        { name: 'user-container', resources: { requests: { cpu: '100m', memory: '128Mi' } } },
        { name: 'queue-proxy', resources: { requests: { cpu: '25m', memory: '64Mi' } } },
      ],
    },
    status: { phase },
  };
}

test('podRequests sums every container, the queue-proxy sidecar included', () => {
  assert.deepEqual(podRequests(pod('a', undefined)), { milliCpu: 125, memoryBytes: 192 * 2 ** 20 });
  assert.deepEqual(podRequests({ spec: { containers: [{ name: 'x' }] } }), { milliCpu: 0, memoryBytes: 0 });
});

test('nodeUnavailable names why a node takes no pods', () => {
  const cases: Array<[V1Node, string | undefined]> = [
    [node('ok'), undefined],
    [node('c', { unschedulable: true }), 'node is cordoned (unschedulable)'],
    [node('nr', { ready: 'Unknown' }), 'node is not ready (KubeletReady)'],
    [node('t', { taint: 'node.kubernetes.io/not-ready' }), 'node has taint node.kubernetes.io/not-ready:NoSchedule'],
  ];
  for (const [n, want] of cases) assert.equal(nodeUnavailable(n), want, n.metadata?.name);
});

test('snapshotOf places bound, unfinished pods on their nodes and leaves out nodes that take nothing', () => {
  const { snapshot, unavailable } = snapshotOf(
    [node('node-2'), node('node-1'), node('node-3', { ready: 'False' })],
    [pod('a', 'node-1'), pod('b', 'node-1', 'Pending'), pod('c', 'node-1', 'Succeeded'), pod('d', undefined), pod('e', 'node-2', 'Failed')],
  );
  assert.deepEqual(snapshot.nodes.map((n) => [n.name, n.instances.length]), [['node-1', 2], ['node-2', 0]]);
  assert.deepEqual(snapshot.nodes[0].capacity, { milliCpu: 2000, memoryBytes: 4 * 2 ** 30, instances: 20 });
  assert.deepEqual(snapshot.nodes[0].instances[0], { namespace: 'default', function: 'hello', milliCpu: 125, memoryBytes: 192 * 2 ** 20 });
  assert.deepEqual(Object.keys(unavailable), ['node-3']);
});

test('snapshotOf gives each node its PM view when its agent answered, and none (unknown) otherwise', () => {
  const views = new Map<string, NodePm>([
    ['node-1', { mode: 'emulated', writerLimit: 4, functions: { 'default/pm': { writtenBytes: 2 ** 22, samples: 3 } } }],
    // A view of a node that takes no pods is not a node of the snapshot.
    ['node-3', { mode: 'dax', writerLimit: Infinity, functions: {} }],
  ]);
  const { snapshot } = snapshotOf([node('node-1'), node('node-2'), node('node-3', { unschedulable: true })], [], views);
  assert.deepEqual(
    snapshot.nodes.map((n) => [n.name, n.pm]),
    [
      ['node-1', views.get('node-1')],
      ['node-2', undefined],
    ],
  );
  assert.equal('pm' in snapshot.nodes[1], false, 'an unknown view is absent, as the framework expects');
  assert.equal('pm' in snapshotOf([node('node-1')], []).snapshot.nodes[0], false, 'no views asked: every view unknown');
});
