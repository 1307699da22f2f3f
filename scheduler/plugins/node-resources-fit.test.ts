import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeResourcesFit } from './node-resources-fit.js';
import type { Status } from '../framework.js';
import { GI, MI, makeNode, placed } from '../fixtures.js';

test('nodeResourcesFit', () => {
  const rows: Array<{ name: string; input: Parameters<typeof nodeResourcesFit>; want: Status }> = [
    {
      name: 'empty node fits',
      input: [{ milliCpu: 100, memoryBytes: 128 * MI }, makeNode('n')],
      want: { code: 'success' },
    },
    {
      name: 'exactly full fits',
      input: [{ milliCpu: 500, memoryBytes: GI }, makeNode('n', { milliCpu: 1000, memoryBytes: 2 * GI, instances: [placed('a', 500, GI)] })],
      want: { code: 'success' },
    },
    {
      name: 'cpu short names cpu',
      input: [{ milliCpu: 500, memoryBytes: 128 * MI }, makeNode('n', { milliCpu: 1000, instances: [placed('a', 800)] })],
      want: { code: 'unschedulable', reason: 'insufficient cpu: requests 500m, 200m free of 1000m' },
    },
    {
      name: 'memory short names memory',
      input: [{ milliCpu: 100, memoryBytes: 512 * MI }, makeNode('n', { memoryBytes: GI, instances: [placed('a', 100, 768 * MI)] })],
      want: { code: 'unschedulable', reason: 'insufficient memory: requests 512Mi, 256Mi free of 1Gi' },
    },
    {
      name: 'instance slots exhausted',
      input: [{ milliCpu: 1, memoryBytes: 1 }, makeNode('n', { maxInstances: 2, instances: [placed('a', 0, 0), placed('b', 0, 0)] })],
      want: { code: 'unschedulable', reason: 'too many instances: 2 of 2' },
    },
    {
      name: 'every shortfall is listed',
      input: [{ milliCpu: 300, memoryBytes: 2 * GI }, makeNode('n', { milliCpu: 200, memoryBytes: GI, maxInstances: 0 })],
      want: {
        code: 'unschedulable',
        reason: 'insufficient cpu: requests 300m, 200m free of 200m; insufficient memory: requests 2Gi, 1Gi free of 1Gi; too many instances: 0 of 0',
      },
    },
    {
      name: 'overcommitted node reports 0 free',
      input: [{ milliCpu: 100, memoryBytes: 1 }, makeNode('n', { milliCpu: 100, instances: [placed('a', 150, 0)] })],
      want: { code: 'unschedulable', reason: 'insufficient cpu: requests 100m, 0m free of 100m' },
    },
  ];
  for (const row of rows) {
    assert.deepEqual(nodeResourcesFit(...row.input), row.want, row.name);
  }
});
