// Tests of the per-second bucketed window: averages, young data, silence, bounded memory, resize.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MetricWindow } from './metric-window.js';

const T0 = 1_000_000_000;
const S = 1_000;

interface Row {
  name: string;
  windowMs: number;
  writes: Array<[atSecond: number, value: number]>;
  atSecond: number;
  spanMs?: number;
  want: number;
}

const rows: Row[] = [
  { name: 'empty window averages 0', windowMs: 10 * S, writes: [], atSecond: 0, want: 0 },
  { name: 'one write averages over one bucket', windowMs: 10 * S, writes: [[0, 6]], atSecond: 0, want: 6 },
  { name: 'writes in one second add up', windowMs: 10 * S, writes: [[0, 2], [0, 3]], atSecond: 0, want: 5 },
  {
    name: 'data younger than the window: divide by seconds since the first write',
    windowMs: 10 * S,
    writes: [[0, 4], [1, 8]],
    atSecond: 1,
    want: 6,
  },
  { name: 'gaps between writes count as zeros', windowMs: 10 * S, writes: [[0, 8], [3, 0]], atSecond: 3, want: 2 },
  { name: 'seconds after the last write are not counted', windowMs: 10 * S, writes: [[0, 8], [1, 4]], atSecond: 3, want: 6 },
  {
    name: 'a write leaving the span is no longer counted',
    windowMs: 4 * S,
    writes: [[0, 8], [1, 4]],
    atSecond: 4,
    want: 4,
  },
  {
    name: 'full window: divide by the window length',
    windowMs: 4 * S,
    writes: [[0, 100], [1, 4], [2, 4], [3, 4], [4, 4]],
    atSecond: 4,
    want: 4,
  },
  { name: 'data older than the window is gone', windowMs: 4 * S, writes: [[0, 100]], atSecond: 4, want: 0 },
  {
    name: 'panic span of the same window',
    windowMs: 10 * S,
    writes: [[0, 10], [1, 10], [2, 10], [3, 10], [4, 10], [5, 10], [6, 10], [7, 10], [8, 30], [9, 30]],
    atSecond: 9,
    spanMs: 2 * S,
    want: 30,
  },
  {
    name: 'history restarts after a silence longer than the window',
    windowMs: 4 * S,
    writes: [[0, 100], [10, 2]],
    atSecond: 10,
    want: 2,
  },
  {
    name: 'a negative write adjusts a bucket',
    windowMs: 10 * S,
    writes: [[0, 5], [0, -3]],
    atSecond: 0,
    want: 2,
  },
];

for (const row of rows) {
  test(`MetricWindow: ${row.name}`, () => {
    const window = new MetricWindow(row.windowMs);
    for (const [second, value] of row.writes) window.record(T0 + second * S + 123, value);
    const got = window.average(T0 + row.atSecond * S + 500, row.spanMs);
    assert.ok(Math.abs(got - row.want) < 1e-9, `want ${row.want}, got ${got}`);
  });
}

test('MetricWindow: hasDataWithin sees only writes inside the span', () => {
  const window = new MetricWindow(10 * S);
  assert.equal(window.hasDataWithin(T0), false);
  window.record(T0, 0);
  assert.equal(window.hasDataWithin(T0 + 5 * S, 6 * S), true);
  assert.equal(window.hasDataWithin(T0 + 6 * S, 6 * S), false);
  assert.equal(window.hasDataWithin(T0 + 9 * S), true);
});

test('MetricWindow: memory is bounded by the window, not by writes', () => {
  const window = new MetricWindow(5 * S);
  for (let i = 0; i < 10_000; i++) window.record(T0 + i * 100, 1);
  // 10 writes per second of value 1: 10 per bucket.
  assert.equal(window.average(T0 + 9_999 * 100), 10);
});

test('MetricWindow: resize keeps the most recent buckets', () => {
  const window = new MetricWindow(10 * S);
  for (let s = 0; s < 10; s++) window.record(T0 + s * S, s < 8 ? 1 : 5);
  window.resize(2 * S);
  assert.equal(window.average(T0 + 9 * S), 5);
  window.resize(20 * S);
  assert.equal(window.window, 20 * S);
  window.record(T0 + 10 * S, 5);
  // Buckets 8, 9, 10 (5 each): the dropped seconds are not counted as zeros.
  assert.equal(window.average(T0 + 10 * S), 5);
});
