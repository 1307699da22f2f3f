import { test } from 'node:test';
import assert from 'node:assert/strict';
import { leastAllocatedFactory, leastAllocatedScore, parseLeastAllocatedArgs } from './least-allocated.js';
import type { LeastAllocatedArgs } from './least-allocated.js';
import { GI, makeNode, placed } from '../fixtures.js';

test('leastAllocatedScore', () => {
  const even: LeastAllocatedArgs = { cpuWeight: 1, memoryWeight: 1 };
  const rows: Array<{ name: string; input: Parameters<typeof leastAllocatedScore>; want: number }> = [
    { name: 'empty node, tiny request', input: [{ milliCpu: 0, memoryBytes: 0 }, makeNode('n'), even], want: 100 },
    {
      name: 'half cpu, quarter memory used after placing',
      input: [{ milliCpu: 500, memoryBytes: GI }, makeNode('n', { milliCpu: 1000, memoryBytes: 4 * GI }), even],
      want: (50 + 75) / 2,
    },
    {
      name: 'placed instances count',
      input: [{ milliCpu: 250, memoryBytes: 0 }, makeNode('n', { milliCpu: 1000, memoryBytes: GI, instances: [placed('a', 250, 0)] }), even],
      want: (50 + 100) / 2,
    },
    {
      name: 'cpu only',
      input: [{ milliCpu: 250, memoryBytes: GI }, makeNode('n', { milliCpu: 1000, memoryBytes: GI }), { cpuWeight: 1, memoryWeight: 0 }],
      want: 75,
    },
    { name: 'full node scores 0', input: [{ milliCpu: 2000, memoryBytes: 4 * GI }, makeNode('n'), even], want: 0 },
    { name: 'no capacity scores 0', input: [{ milliCpu: 0, memoryBytes: 0 }, makeNode('n', { milliCpu: 0, memoryBytes: 0 }), even], want: 0 },
  ];
  for (const row of rows) {
    assert.equal(leastAllocatedScore(...row.input), row.want, row.name);
  }
});

test('least-allocated args are validated', () => {
  assert.deepEqual(parseLeastAllocatedArgs({}), { cpuWeight: 1, memoryWeight: 1 });
  assert.deepEqual(parseLeastAllocatedArgs({ memoryWeight: 3 }), { cpuWeight: 1, memoryWeight: 3 });
  assert.throws(() => leastAllocatedFactory.create({ cpuWeigth: 1 }), /least-allocated: unknown argument "cpuWeigth"/);
  assert.throws(() => leastAllocatedFactory.create({ cpuWeight: -1 }), /cpuWeight = -1, must be a number in \[0; 100\]/);
  assert.throws(() => leastAllocatedFactory.create({ cpuWeight: 0, memoryWeight: 0 }), /must not both be 0/);
});
