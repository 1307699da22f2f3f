import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { parseFunctionDefinition } from '../../lib/function-spec.js';
import { defaultConfig } from '../config.js';
import { defaultRegistry, profileFromWeights } from '../default-registry.js';
import type { NodePm } from '../framework.js';
import { schedule } from '../schedule.js';
import { flowsOf, frameworkPod, nodeUnavailable, podRequests, snapshotOf } from './snapshot.js';
import type { NodeFlows__Output } from '../../protos/generated/sluice/nodeagent/v1/NodeFlows.js';

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

const GIB = 2 ** 30;

function flowView(node: string, flows: Array<[string, string, number, number]>, links: Array<[string, number, number]> = [], namespace = 'default'): NodeFlows__Output {
  return {
    node,
    flows: flows.map(([producer, consumer, bytesPerSecond, bytesTotal]) => ({ namespace, producer_function: producer, consumer_function: consumer, bytes_per_second: bytesPerSecond, bytes_total: bytesTotal })),
    links: links.map(([from, secondsPerGiB, samples]) => ({ from_node: from, to_node: node, seconds_per_gib: secondsPerGiB, samples })),
  };
}

test("flowsOf merges the agents' GetNodeFlows as the local platform does and converts them for the plugins", () => {
  // Consumers of p→c on two nodes: one edge, summed; each node's inbound links, concatenated in node-name order.
  const views = new Map<string, NodeFlows__Output>([
    ['node-2', flowView('node-2', [['p', 'c', 300, 3_000], ['p', 'c', 1, 10]], [['node-1', 9, 4]], 'other')],
    ['node-1', flowView('node-1', [['p', 'c', 100, 1_000], ['', 'c', 5, 5], ['p', 'c', -1, 1]], [['node-2', 8, 3], ['node-1', 0.4, 2], ['', 1, 1], ['node-3', 2, 0]])],
    ['node-3', flowView('node-3', [['p', 'c', 50, 500]])],
  ]);
  assert.deepEqual(flowsOf(views), {
    flows: [
      { namespace: 'default', producerFunction: 'p', consumerFunction: 'c', bytesPerSecond: 150, bytesTotal: 1_500 },
      { namespace: 'other', producerFunction: 'p', consumerFunction: 'c', bytesPerSecond: 301, bytesTotal: 3_010 },
    ],
    // A link with no from_node or no samples is junk, left out.
    linkCosts: [
      { fromNode: 'node-2', toNode: 'node-1', secondsPerGiB: 8, samples: 3 },
      { fromNode: 'node-1', toNode: 'node-1', secondsPerGiB: 0.4, samples: 2 },
      { fromNode: 'node-1', toNode: 'node-2', secondsPerGiB: 9, samples: 4 },
    ],
  });
  assert.deepEqual(flowsOf(new Map()), {}, 'no answers: no flows, no link costs (not empty arrays)');
  assert.deepEqual(flowsOf(new Map([['node-1', flowView('node-1', [])]])), {}, 'empty answers');
  // The same answers in another order merge to the same snapshot.
  assert.deepEqual(flowsOf(new Map([...views].reverse())), flowsOf(views));
});

test('snapshotOf carries the flows to the cost-model plugin: a consumer joins its producer against spread, and nothing changes without flows', () => {
  const nodes = [node('node-a'), node('node-b')];
  // The producer and one consumer already on node-b: spread and least-allocated prefer node-a for the next consumer.
  const bound = [pod('p-1', 'node-b', 'Running', 'p'), pod('c-1', 'node-b', 'Running', 'c')];
  const pending = pod('c-2', undefined, 'Pending', 'c');
  const definition = parseFunctionDefinition({ apiVersion: 'sluice.dev/v1alpha1', kind: 'Function', metadata: { name: 'c', namespace: 'default' }, spec: { container: { image: 'x' } } }, 'test');
  const profile = profileFromWeights(defaultRegistry(), defaultConfig().scoreWeights);
  const place = (flows: ReadonlyMap<string, NodeFlows__Output>) => {
    const { snapshot } = snapshotOf(nodes, [...bound, pending], new Map(), flows);
    const result = schedule(frameworkPod(pending, definition), snapshot, profile, () => 0);
    assert.equal(result.code, 'scheduled');
    return { snapshot, result: result as Extract<typeof result, { code: 'scheduled' }> };
  };

  const none = place(new Map());
  assert.equal('flows' in none.snapshot || 'linkCosts' in none.snapshot, false);
  assert.equal(none.result.node, 'node-a');
  assert.ok(none.result.scores.every((s) => s.byPlugin['cost-model'] === 100), 'cost-model neutral without flows');

  // node-b's agent: its consumer pulls 0.5 GiB/s from p (same node), measured cheap; node-a's agent answered empty.
  const flows = new Map([
    ['node-a', flowView('node-a', [])],
    ['node-b', flowView('node-b', [['p', 'c', 0.5 * GIB, 30 * GIB]], [['node-b', 0.2, 10]])],
  ]);
  const withFlows = place(flows);
  assert.deepEqual(withFlows.snapshot.flows, [{ namespace: 'default', producerFunction: 'p', consumerFunction: 'c', bytesPerSecond: 0.5 * GIB, bytesTotal: 30 * GIB }]);
  assert.deepEqual(withFlows.snapshot.linkCosts, [{ fromNode: 'node-b', toNode: 'node-b', secondsPerGiB: 0.2, samples: 10 }]);
  assert.equal(withFlows.result.node, 'node-b', JSON.stringify(withFlows.result.scores));
  const byNode = Object.fromEntries(withFlows.result.scores.map((s) => [s.node, s.byPlugin['cost-model']]));
  assert.deepEqual(byNode, { 'node-a': 0, 'node-b': 100 });
});
