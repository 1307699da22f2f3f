import { test } from 'node:test';
import assert from 'node:assert/strict';
import { flowsFromProto, linkCostsFromProto, nodePmFromProto, snapshotFromProto, snapshotFromRequest } from './proto-convert.js';
import type { NodePm__Output } from '../protos/generated/sluice/nodeagent/v1/NodePm.js';
import type { NodeSnapshot__Output } from '../protos/generated/sluice/scheduler/v1/NodeSnapshot.js';
import type { XdtFlow__Output } from '../protos/generated/sluice/nodeagent/v1/XdtFlow.js';
import type { LinkCost__Output } from '../protos/generated/sluice/nodeagent/v1/LinkCost.js';

function view(partial: Partial<NodePm__Output>): NodePm__Output {
  return { mode: 'NODE_PM_MODE_EMULATED', writer_limit: 2, calibrated: true, functions: [], ...partial };
}

test('nodePmFromProto', () => {
  const fns = [
    { namespace: 'default', function: 'w', written_bytes: 4194304, samples: 7 },
    { namespace: '', function: 'r', written_bytes: 0, samples: 1 },
    // Left out: no reports behind it, no name, a nonsense byte count.
    { namespace: 'default', function: 'none', written_bytes: 10, samples: 0 },
    { namespace: 'default', function: '', written_bytes: 10, samples: 1 },
    { namespace: 'default', function: 'bad', written_bytes: -1, samples: 1 },
  ];
  const rows: Array<{ name: string; input: NodePm__Output | null; want: unknown }> = [
    { name: 'absent: unknown', input: null, want: undefined },
    { name: 'unspecified mode: unknown', input: view({ mode: 'NODE_PM_MODE_UNSPECIFIED' }), want: undefined },
    {
      name: 'emulated, limit 2, predictions by function key',
      input: view({ functions: fns }),
      want: { mode: 'emulated', writerLimit: 2, functions: { 'default/w': { writtenBytes: 4194304, samples: 7 }, 'default/r': { writtenBytes: 0, samples: 1 } } },
    },
    { name: 'limit 0 = unbounded', input: view({ mode: 'NODE_PM_MODE_PLAIN', writer_limit: 0 }), want: { mode: 'plain', writerLimit: Infinity, functions: {} } },
    { name: 'calibrating: limit not known', input: view({ mode: 'NODE_PM_MODE_DAX', calibrated: false, writer_limit: 0 }), want: { mode: 'dax', writerLimit: undefined, functions: {} } },
    { name: 'off: no PM writers at all', input: view({ mode: 'NODE_PM_MODE_OFF', writer_limit: 0 }), want: { mode: 'off', writerLimit: 0, functions: {} } },
  ];
  for (const row of rows) assert.deepEqual(nodePmFromProto(row.input), row.want, row.name);
});

test('snapshotFromProto carries the PM view, and leaves it out when unknown', () => {
  const entry = (name: string, pm: NodePm__Output | null): NodeSnapshot__Output => ({
    node: { name, labels: {}, capacity: { milli_cpu: 1000, memory_bytes: 2 ** 30, instances: 10 }, address_range: '', agent_address: '' },
    instances: [],
    pm,
  });
  const snapshot = snapshotFromProto([entry('a', view({ functions: [{ namespace: 'default', function: 'w', written_bytes: 100_000, samples: 2 }] })), entry('b', null)]);
  assert.deepEqual(snapshot.nodes[0].pm, { mode: 'emulated', writerLimit: 2, functions: { 'default/w': { writtenBytes: 100_000, samples: 2 } } });
  assert.equal('pm' in snapshot.nodes[1], false);
});

function xdtFlow(partial: Partial<XdtFlow__Output>): XdtFlow__Output {
  return { namespace: 'default', producer_function: 'p', consumer_function: 'c', bytes_per_second: 1000, bytes_total: 60_000, ...partial };
}

function linkCost(partial: Partial<LinkCost__Output>): LinkCost__Output {
  return { from_node: 'a', to_node: 'b', seconds_per_gib: 8, samples: 3, ...partial };
}

test('flowsFromProto keeps valid edges and drops junk', () => {
  const rows: Array<{ name: string; input: XdtFlow__Output; want: unknown[] }> = [
    { name: 'valid', input: xdtFlow({}), want: [{ namespace: 'default', producerFunction: 'p', consumerFunction: 'c', bytesPerSecond: 1000, bytesTotal: 60_000 }] },
    { name: 'empty namespace = default', input: xdtFlow({ namespace: '' }), want: [{ namespace: 'default', producerFunction: 'p', consumerFunction: 'c', bytesPerSecond: 1000, bytesTotal: 60_000 }] },
    { name: 'an idle edge (decayed to 0) is no junk', input: xdtFlow({ bytes_per_second: 0 }), want: [{ namespace: 'default', producerFunction: 'p', consumerFunction: 'c', bytesPerSecond: 0, bytesTotal: 60_000 }] },
    { name: 'no producer', input: xdtFlow({ producer_function: '' }), want: [] },
    { name: 'no consumer', input: xdtFlow({ consumer_function: '' }), want: [] },
    { name: 'negative rate', input: xdtFlow({ bytes_per_second: -1 }), want: [] },
    { name: 'NaN rate', input: xdtFlow({ bytes_per_second: Number.NaN }), want: [] },
    { name: 'infinite rate', input: xdtFlow({ bytes_per_second: Infinity }), want: [] },
    { name: 'negative total', input: xdtFlow({ bytes_total: -5 }), want: [] },
  ];
  for (const row of rows) assert.deepEqual(flowsFromProto([row.input]), row.want, row.name);
});

test('linkCostsFromProto keeps measured links and drops junk', () => {
  const rows: Array<{ name: string; input: LinkCost__Output; want: unknown[] }> = [
    { name: 'cross-node', input: linkCost({}), want: [{ fromNode: 'a', toNode: 'b', secondsPerGiB: 8, samples: 3 }] },
    { name: 'same node', input: linkCost({ to_node: 'a', seconds_per_gib: 0.2 }), want: [{ fromNode: 'a', toNode: 'a', secondsPerGiB: 0.2, samples: 3 }] },
    { name: 'no from node', input: linkCost({ from_node: '' }), want: [] },
    { name: 'no to node', input: linkCost({ to_node: '' }), want: [] },
    { name: 'negative cost', input: linkCost({ seconds_per_gib: -0.1 }), want: [] },
    { name: 'NaN cost', input: linkCost({ seconds_per_gib: Number.NaN }), want: [] },
    { name: 'infinite cost', input: linkCost({ seconds_per_gib: Infinity }), want: [] },
    { name: 'no samples', input: linkCost({ samples: 0 }), want: [] },
  ];
  for (const row of rows) assert.deepEqual(linkCostsFromProto([row.input]), row.want, row.name);
});

test('snapshotFromRequest carries flows and link costs, and leaves them out when there are none', () => {
  const nodes: NodeSnapshot__Output[] = [
    { node: { name: 'a', labels: {}, capacity: { milli_cpu: 1000, memory_bytes: 2 ** 30, instances: 10 }, address_range: '', agent_address: '' }, instances: [], pm: null },
  ];
  const full = snapshotFromRequest({ nodes, flows: [xdtFlow({}), xdtFlow({ consumer_function: '' })], link_costs: [linkCost({}), linkCost({ samples: -1 })] });
  assert.deepEqual(full.flows, [{ namespace: 'default', producerFunction: 'p', consumerFunction: 'c', bytesPerSecond: 1000, bytesTotal: 60_000 }]);
  assert.deepEqual(full.linkCosts, [{ fromNode: 'a', toNode: 'b', secondsPerGiB: 8, samples: 3 }]);
  assert.deepEqual(full.nodes.map((n) => n.name), ['a']);
  const none = snapshotFromRequest({ nodes, flows: [xdtFlow({ bytes_per_second: -1 })], link_costs: [] });
  assert.deepEqual(Object.keys(none), ['nodes']);
});
