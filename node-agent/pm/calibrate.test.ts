import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { aggregateWriteBandwidth, DEFAULT_CONTENTION } from './contention-model.js';
import { calibrate, DEFAULT_SWEEP_WRITERS, pickWriterLimit, summarizeSweep } from './calibrate.js';
import { openPmDevice } from './device.js';
import type { PmModeOption } from './device.js';
import type { CalibrationPoint } from './types.js';

const pts = (...pairs: Array<[number, number]>): CalibrationPoint[] => pairs.map(([writers, writeBytesPerSecond]) => ({ writers, writeBytesPerSecond }));

test('pickWriterLimit', () => {
  const rows: Array<{ name: string; points: CalibrationPoint[]; tolerance?: number; want: number }> = [
    { name: 'no points', points: [], want: Infinity },
    { name: 'one point', points: pts([4, 100]), want: Infinity },
    { name: 'the published shape: peak at 4, 60% at 16', points: pts([1, 25], [2, 50], [4, 100], [6, 93], [8, 87], [12, 73], [16, 60]), want: 4 },
    { name: 'keeps rising: unbounded', points: pts([1, 10], [2, 20], [4, 40], [16, 80]), want: Infinity },
    { name: 'flat: unbounded', points: pts([1, 100], [4, 100], [16, 100]), want: Infinity },
    { name: 'largest within 5% of the best: unbounded', points: pts([1, 50], [4, 100], [16, 95.5]), want: Infinity },
    { name: 'largest just past 5% below: limited', points: pts([1, 50], [4, 100], [16, 94.5]), want: 4 },
    { name: 'a wider tolerance accepts a 10% drop', points: pts([1, 50], [4, 100], [16, 90.5]), tolerance: 0.1, want: Infinity },
    { name: 'ties go to the fewer writers', points: pts([2, 100], [4, 100], [16, 50]), want: 2 },
    { name: 'order does not matter', points: pts([16, 60], [1, 25], [4, 100], [2, 50]), want: 4 },
    { name: 'best at one writer', points: pts([1, 100], [2, 90], [16, 40]), want: 1 },
  ];
  for (const row of rows) assert.equal(pickWriterLimit(row.points, row.tolerance), row.want, row.name);
});

test('summarizeSweep: best pass per count, a collapse only when every pass shows it', () => {
  const writers = [1, 4, 16];
  const rows: Array<{ name: string; passes: number[][]; want: { throughput: number[]; limit: number } }> = [
    { name: 'one pass', passes: [[25, 100, 60]], want: { throughput: [25, 100, 60], limit: 4 } },
    { name: 'two passes, the best of each count', passes: [[25, 90, 60], [20, 100, 58]], want: { throughput: [25, 100, 60], limit: 4 } },
    { name: 'one pass without the drop: noise, unbounded', passes: [[50, 100, 90], [50, 98, 99], [50, 100, 89]], want: { throughput: [50, 100, 99], limit: Infinity } },
    { name: 'rising: unbounded', passes: [[10, 40, 80], [9, 41, 79]], want: { throughput: [10, 41, 80], limit: Infinity } },
    { name: 'no passes', passes: [], want: { throughput: [0, 0, 0], limit: Infinity } },
  ];
  for (const row of rows) {
    const got = summarizeSweep(writers, row.passes);
    assert.deepEqual(got.points.map((p) => p.writeBytesPerSecond), row.want.throughput, row.name);
    assert.deepEqual(got.points.map((p) => p.writers), writers, row.name);
    assert.equal(got.writerLimit, row.want.limit, row.name);
  }
});

async function calibrateOn(mode: PmModeOption) {
  const dir = await mkdtemp('/dev/shm/sluice-pm-calibrate-');
  const device = await openPmDevice({ dir, mode });
  try {
    const start = performance.now();
    const calibration = await calibrate(device);
    const ms = performance.now() - start;
    assert.deepEqual(await readdir(dir), [], 'the sweep removes its files');
    return { calibration, ms };
  } finally {
    await device.close();
    await rm(dir, { recursive: true, force: true });
  }
}

test('calibrate the default emulated device: limit 4, the collapse in the points', async () => {
  const { calibration, ms } = await calibrateOn('emulated');
  assert.equal(calibration.writerLimit, 4, JSON.stringify(calibration.points));
  assert.deepEqual(calibration.points.map((p) => p.writers), DEFAULT_SWEEP_WRITERS);
  for (const point of calibration.points) {
    const model = aggregateWriteBandwidth(point.writers, DEFAULT_CONTENTION);
    const ratio = point.writeBytesPerSecond / model;
    assert.ok(ratio > 0.85 && ratio < 1.05, `${point.writers} writers: ${point.writeBytesPerSecond} B/s, model ${model}`);
  }
  const at = (writers: number) => calibration.points.find((p) => p.writers === writers)?.writeBytesPerSecond ?? NaN;
  assert.ok(at(16) < 0.7 * at(4), 'with 16 writers the device does ~60% of its peak');
  assert.ok(ms < 2000, `the sweep took ${ms} ms`);
});

test('calibrate a plain device: no collapse, unbounded', async () => {
  const { calibration, ms } = await calibrateOn('plain');
  assert.equal(calibration.writerLimit, Infinity, JSON.stringify(calibration.points));
  assert.ok(ms < 2000, `the sweep took ${ms} ms`);
});

test('calibrate options', async () => {
  const dir = await mkdtemp('/dev/shm/sluice-pm-calibrate-');
  const device = await openPmDevice({ dir, mode: 'emulated' });
  try {
    // Unsorted counts come back sorted; a small volume and no minimum time make one quick pass.
    const quick = await calibrate(device, { writers: [4, 1, 16], bytesPerWriter: 1024 * 1024, minSweepMs: 0 });
    assert.deepEqual(quick.points.map((p) => p.writers), [1, 4, 16]);
    assert.equal(quick.writerLimit, 4);
    await assert.rejects(calibrate(device, { writers: [0, 2] }), /writer counts 0,2 must be positive integers/);
    await assert.rejects(calibrate(device, { bytesPerWriter: 0 }), /bytesPerWriter/);
    await assert.rejects(calibrate(device, { minSweepMs: -1 }), /minSweepMs/);
  } finally {
    await device.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('calibrate on a closed device fails and leaves no files', async () => {
  const dir = await mkdtemp('/dev/shm/sluice-pm-calibrate-');
  try {
    const device = await openPmDevice({ dir, mode: 'emulated' });
    await device.close();
    await assert.rejects(calibrate(device, { minSweepMs: 0 }), /PM device closed/);
    assert.deepEqual(await readdir(dir), []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
