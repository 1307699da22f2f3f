// Table tests for the local platform's replica plan.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planReplicas, type InstanceView, type ReplicaPlan } from './replica-plan.js';

const i = (name: string, state: InstanceView['state'], createdAtMs: number): InstanceView => ({ name, state, createdAtMs });

const rows: Array<{ name: string; desired: number; instances: InstanceView[]; want: ReplicaPlan }> = [
  { name: 'zero to zero', desired: 0, instances: [], want: { start: 0, stop: [] } },
  { name: 'scale from zero', desired: 3, instances: [], want: { start: 3, stop: [] } },
  { name: 'terminating ones do not count', desired: 2, instances: [i('a', 'terminating', 1), i('b', 'ready', 2)], want: { start: 1, stop: [] } },
  { name: 'steady', desired: 2, instances: [i('a', 'ready', 1), i('b', 'starting', 2)], want: { start: 0, stop: [] } },
  {
    name: 'not-ready go first',
    desired: 1,
    instances: [i('a', 'ready', 1), i('b', 'starting', 2)],
    want: { start: 0, stop: ['b'] },
  },
  {
    name: 'newest ready go first',
    desired: 1,
    instances: [i('old', 'ready', 1), i('new', 'ready', 5), i('mid', 'ready', 3)],
    want: { start: 0, stop: ['new', 'mid'] },
  },
  { name: 'scale to zero', desired: 0, instances: [i('a', 'ready', 1), i('b', 'terminating', 2)], want: { start: 0, stop: ['a'] } },
];

for (const row of rows) {
  test(`planReplicas: ${row.name}`, () => {
    assert.deepEqual(planReplicas(row.desired, row.instances), row.want);
  });
}
