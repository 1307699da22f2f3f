import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  aggregateReadBandwidth,
  aggregateWriteBandwidth,
  DEFAULT_BANDWIDTH_SCALE,
  DEFAULT_CONTENTION,
  PUBLISHED_CONTENTION,
  scaledParams,
  validateContentionParams,
} from './contention-model.js';
import type { ContentionParams } from './types.js';

const GB = 1e9;

function close(got: number, want: number, name: string): void {
  assert.ok(Math.abs(got - want) <= 1e-9 * Math.max(1, Math.abs(want)), `${name}: got ${got}, want ${want}`);
}

test('aggregateWriteBandwidth on the published curve', () => {
  // Peak 10.5 GB/s at 4 writers, one writer 1/4 of it, linear decline to 60% at 16 writers.
  const rows: Array<{ writers: number; want: number }> = [
    { writers: 0, want: 0 },
    { writers: -1, want: 0 },
    { writers: 0.5, want: 0.5 * 2.625 * GB },
    { writers: 1, want: 2.625 * GB },
    { writers: 2, want: 5.25 * GB },
    { writers: 3, want: 7.875 * GB },
    { writers: 4, want: 10.5 * GB },
    { writers: 6, want: 10.5 * GB * (1 - 0.4 * (2 / 12)) },
    { writers: 8, want: 10.5 * GB * (1 - 0.4 * (4 / 12)) },
    { writers: 10, want: 10.5 * GB * 0.8 },
    { writers: 16, want: 6.3 * GB },
    { writers: 32, want: 6.3 * GB },
    { writers: 1000, want: 6.3 * GB },
  ];
  for (const row of rows) close(aggregateWriteBandwidth(row.writers, PUBLISHED_CONTENTION), row.want, `${row.writers} writers`);
});

test('aggregateReadBandwidth on the published curve', () => {
  // Linear rise to 37 GB/s at 17 readers, then flat: reads never collapse.
  const rows: Array<{ readers: number; want: number }> = [
    { readers: 0, want: 0 },
    { readers: 1, want: 37 * GB / 17 },
    { readers: 4, want: 4 * 37 * GB / 17 },
    { readers: 17, want: 37 * GB },
    { readers: 64, want: 37 * GB },
  ];
  for (const row of rows) close(aggregateReadBandwidth(row.readers, PUBLISHED_CONTENTION), row.want, `${row.readers} readers`);
});

test('the write curve for other shapes', () => {
  const base: ContentionParams = { ...PUBLISHED_CONTENTION, writePeakBytesPerSecond: 100 };
  const rows: Array<{ name: string; params: ContentionParams; writers: number[]; want: number[] }> = [
    { name: 'peak at one writer', params: { ...base, writePeakWriters: 1, writeSingleFraction: 1, writeFloorWriters: 5, writeFloorFraction: 0.5 }, writers: [1, 2, 3, 5, 9], want: [100, 87.5, 75, 50, 50] },
    { name: 'floor at the peak (a cliff)', params: { ...base, writePeakWriters: 2, writeSingleFraction: 0.5, writeFloorWriters: 2, writeFloorFraction: 0.5 }, writers: [1, 2, 3], want: [50, 100, 50] },
    { name: 'no collapse', params: { ...base, writeFloorFraction: 1 }, writers: [4, 8, 16, 64], want: [100, 100, 100, 100] },
  ];
  for (const row of rows) {
    row.writers.forEach((writers, i) => close(aggregateWriteBandwidth(writers, row.params), row.want[i], `${row.name}, ${writers} writers`));
  }
});

test('scaledParams keeps the shape and scales both peaks', () => {
  const scaled = scaledParams(0.05);
  assert.deepEqual({ ...scaled, writePeakBytesPerSecond: 0, readPeakBytesPerSecond: 0 }, { ...PUBLISHED_CONTENTION, writePeakBytesPerSecond: 0, readPeakBytesPerSecond: 0 });
  close(scaled.writePeakBytesPerSecond, 525e6, 'write peak');
  close(scaled.readPeakBytesPerSecond, 1.85e9, 'read peak');
  assert.equal(DEFAULT_BANDWIDTH_SCALE, 0.05);
  assert.deepEqual(DEFAULT_CONTENTION, scaled);
  // The default makes a 16 MiB write at the peak take a few ms or more (here 32 ms), so the model, not memcpy or timers, sets the pace.
  const seconds = (16 * 1024 * 1024) / aggregateWriteBandwidth(4, DEFAULT_CONTENTION);
  assert.ok(seconds > 0.02 && seconds < 0.05, `${seconds}`);
  for (const bad of [0, -1, NaN, Infinity]) assert.throws(() => scaledParams(bad), RangeError);
});

test('validateContentionParams', () => {
  const rows: Array<{ change: Partial<ContentionParams>; want: RegExp | undefined }> = [
    { change: {}, want: undefined },
    { change: { writePeakBytesPerSecond: 0 }, want: /writePeakBytesPerSecond/ },
    { change: { readPeakBytesPerSecond: Infinity }, want: /readPeakBytesPerSecond/ },
    { change: { writeSingleFraction: 0 }, want: /writeSingleFraction/ },
    { change: { writeFloorFraction: 1.2 }, want: /writeFloorFraction/ },
    { change: { readSingleFraction: NaN }, want: /readSingleFraction/ },
    { change: { writePeakWriters: 0.5 }, want: /writePeakWriters/ },
    { change: { writeFloorWriters: 3 }, want: /writeFloorWriters 3 must be at least writePeakWriters \(4\)/ },
    { change: { readPeakReaders: 0 }, want: /readPeakReaders/ },
  ];
  for (const row of rows) {
    const params = { ...PUBLISHED_CONTENTION, ...row.change };
    if (row.want === undefined) validateContentionParams(params);
    else assert.throws(() => validateContentionParams(params), row.want, JSON.stringify(row.change));
  }
});
