import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nodePmFromProto, snapshotFromProto } from './proto-convert.js';
import type { NodePm__Output } from '../protos/generated/sluice/nodeagent/v1/NodePm.js';
import type { NodeSnapshot__Output } from '../protos/generated/sluice/scheduler/v1/NodeSnapshot.js';

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
