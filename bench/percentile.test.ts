// Tests for the nearest-rank percentile.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { percentile } from './percentile.js';

test('percentile: nearest rank', () => {
  const rows: Array<{ name: string; input: { samples: number[]; p: number }; want: number }> = [
    { name: 'single sample', input: { samples: [7], p: 50 }, want: 7 },
    { name: 'p50 of odd count is the median', input: { samples: [3, 1, 2], p: 50 }, want: 2 },
    { name: 'p50 of even count is the lower middle', input: { samples: [4, 1, 3, 2], p: 50 }, want: 2 },
    { name: 'p99 of 20 samples is the largest', input: { samples: Array.from({ length: 20 }, (_, i) => i + 1), p: 99 }, want: 20 },
    { name: 'p90 of 10 samples is the 9th', input: { samples: [10, 9, 8, 7, 6, 5, 4, 3, 2, 1], p: 90 }, want: 9 },
    { name: 'p100 is the maximum', input: { samples: [5, 50, 0.5], p: 100 }, want: 50 },
    { name: 'tiny p is the minimum', input: { samples: [5, 50, 0.5], p: 0.001 }, want: 0.5 },
  ];
  for (const row of rows) {
    const got = percentile(row.input.samples, row.input.p);
    assert.equal(got, row.want, `${row.name}: want ${row.want}, got ${got}`);
  }
});

test('percentile: rejects no samples and p outside (0; 100]', () => {
  assert.throws(() => percentile([], 50), /no samples/);
  assert.throws(() => percentile([1], 0), /p = 0/);
  assert.throws(() => percentile([1], 101), /p = 101/);
});

test('percentile: does not reorder the caller array', () => {
  const samples = [3, 1, 2];
  percentile(samples, 50);
  assert.deepEqual(samples, [3, 1, 2]);
});
