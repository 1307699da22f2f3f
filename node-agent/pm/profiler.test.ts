// Tests of the PM profiler: moving averages converge, the sensitivity fit recovers a known slope, classification, demand, state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PmProfiler, functionKey, parseProfilerState } from './profiler.js';

/** A seeded PRNG (mulberry32), so "noisy" samples are the same every run. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const near = (got: number, want: number, tolerance: number, what: string) =>
  assert.ok(Math.abs(got - want) <= tolerance, `${what}: got ${got}, want ${want} ± ${tolerance}`);

interface AverageRow {
  name: string;
  alpha?: number;
  samples: number[];
  want: number;
  tolerance: number;
}

const rng = random(1);
const noisy = (value: number, n: number, spread: number) => Array.from({ length: n }, () => value * (1 + spread * (2 * rng() - 1)));

const averageRows: AverageRow[] = [
  { name: 'the first sample initialises the average', samples: [4096], want: 4096, tolerance: 0 },
  { name: 'a steady value stays put', samples: [100, 100, 100, 100], want: 100, tolerance: 0 },
  { name: 'alpha 0.2: one step of 100 → 200 moves a fifth of the way', samples: [100, 200], want: 120, tolerance: 1e-9 },
  { name: 'after a step change, converges within 1% in 21 samples (0.8^21 < 1%)', samples: [1000, ...Array(21).fill(5000)], want: 5000, tolerance: 40 },
  { name: 'noise of ±20% around a steady value averages out to within 5%', samples: noisy(10_000, 200, 0.2), want: 10_000, tolerance: 500 },
  { name: 'alpha 1 keeps only the last sample', alpha: 1, samples: [1, 2, 3, 7], want: 7, tolerance: 0 },
];

for (const row of averageRows) {
  test(`PmProfiler averages: ${row.name}`, () => {
    const profiler = new PmProfiler({ alpha: row.alpha });
    for (const bytes of row.samples) {
      assert.ok(profiler.record('ns/f', { readBytes: bytes / 2, writtenBytes: bytes }));
      assert.ok(profiler.recordDuration('ns/f', bytes / 10, 1));
    }
    const p = profiler.predict('ns/f')!;
    near(p.writtenBytes, row.want, row.tolerance, 'writtenBytes');
    near(p.readBytes, row.want / 2, row.tolerance / 2, 'readBytes');
    near(p.durationMs, row.want / 10, row.tolerance / 10, 'durationMs');
    assert.equal(p.samples, row.samples.length);
  });
}

interface FitRow {
  name: string;
  /** [writers, duration] pairs, fed in order. */
  samples: Array<[number, number]>;
  want: number;
  tolerance: number;
}

const line = (base: number, s: number, writers: number) => base * (1 + s * (writers - 1));
const cycle = (n: number, f: (writers: number, i: number) => number): Array<[number, number]> =>
  Array.from({ length: n }, (_, i) => {
    const writers = 1 + (i % 8);
    return [writers, f(writers, i)];
  });
const fitNoise = random(7);

const fitRows: FitRow[] = [
  { name: 'exact samples: the slope is recovered exactly', samples: cycle(40, (w) => line(100, 0.25, w)), want: 0.25, tolerance: 1e-9 },
  { name: 'an insensitive function: 0', samples: cycle(40, () => 80), want: 0, tolerance: 1e-9 },
  {
    name: '±10% noise: the slope is recovered within 0.03',
    samples: cycle(400, (w) => line(100, 0.5, w) * (1 + 0.1 * (2 * fitNoise() - 1))),
    want: 0.5,
    tolerance: 0.03,
  },
  {
    name: 'the fit forgets: a changed slope is followed',
    samples: [...cycle(200, (w) => line(100, 1, w)), ...cycle(400, (w) => line(100, 0.1, w))],
    want: 0.1,
    tolerance: 0.01,
  },
  { name: 'faster with more writers is clamped to 0', samples: cycle(40, (w) => 100 - 5 * w), want: 0, tolerance: 0 },
  { name: 'every sample at one writer count: slope unknown, stays 0', samples: Array(50).fill([4, 300]), want: 0, tolerance: 0 },
  {
    name: 'a later run at a single writer count keeps the slope learnt before',
    samples: [...cycle(40, (w) => line(50, 0.3, w)), ...Array(30).fill([4, line(50, 0.3, 4)])],
    want: 0.3,
    tolerance: 1e-6,
  },
  { name: 'readers (0 writers) feed no fit', samples: [[0, 10], [0, 500], [0, 20]], want: 0, tolerance: 0 },
];

for (const row of fitRows) {
  test(`PmProfiler sensitivity: ${row.name}`, () => {
    const profiler = new PmProfiler();
    for (const [writers, duration] of row.samples) profiler.recordDuration('ns/f', duration, writers);
    near(profiler.predict('ns/f')!.sensitivity, row.want, row.tolerance, 'sensitivity');
  });
}

test('PmProfiler sensitivity: fractional (time-weighted) writer counts work as well', () => {
  const profiler = new PmProfiler();
  for (let i = 0; i < 100; i++) {
    const writers = 1 + (i % 13) * 0.37;
    profiler.recordDuration('ns/f', line(200, 0.15, writers), writers);
  }
  near(profiler.predict('ns/f')!.sensitivity, 0.15, 1e-9, 'sensitivity');
});

interface ClassifyRow {
  name: string;
  reports: Array<[read: number, written: number]>;
  thresholdBytes: number;
  unknownAs?: 'reader' | 'writer';
  want: 'reader' | 'writer';
}

const classifyRows: ClassifyRow[] = [
  { name: 'unknown function: reader by default', reports: [], thresholdBytes: 1024, want: 'reader' },
  { name: 'unknown function: writer when asked to be cautious', reports: [], thresholdBytes: 1024, unknownAs: 'writer', want: 'writer' },
  { name: 'a report of no writes makes a cautious unknown a reader', reports: [[1 << 20, 0]], thresholdBytes: 1024, unknownAs: 'writer', want: 'reader' },
  { name: 'one report above the threshold: writer', reports: [[0, 4096]], thresholdBytes: 1024, want: 'writer' },
  { name: 'exactly at the threshold: writer', reports: [[0, 1024]], thresholdBytes: 1024, want: 'writer' },
  { name: 'just below: reader', reports: [[0, 1023]], thresholdBytes: 1024, want: 'reader' },
  { name: 'reads do not make a writer, however many', reports: [[1 << 30, 10]], thresholdBytes: 1024, want: 'reader' },
  { name: 'a function that stopped writing becomes a reader as its average falls', reports: [[0, 1 << 20], ...Array(40).fill([0, 0])], thresholdBytes: 1024, want: 'reader' },
  { name: 'one small invocation does not unmake a heavy writer', reports: [...Array(5).fill([0, 1 << 20]), [0, 0]], thresholdBytes: 1024, want: 'writer' },
];

for (const row of classifyRows) {
  test(`PmProfiler classify: ${row.name}`, () => {
    const profiler = new PmProfiler({ unknownAs: row.unknownAs });
    for (const [readBytes, writtenBytes] of row.reports) profiler.record('ns/f', { readBytes, writtenBytes });
    assert.equal(profiler.classify('ns/f', row.thresholdBytes), row.want);
  });
}

test('PmProfiler classify: a function known only by durations is still unknown', () => {
  const profiler = new PmProfiler({ unknownAs: 'writer' });
  profiler.recordDuration('ns/f', 10, 1);
  assert.equal(profiler.classify('ns/f', 1), 'writer');
  assert.equal(profiler.predict('ns/f')!.samples, 0);
});

test('PmProfiler demand: seconds of the node per resource; unknown functions get the mean', () => {
  const profiler = new PmProfiler({ capacity: { cpuCores: 4, readBytesPerSecond: 2e9, writeBytesPerSecond: 5e8 } });
  assert.deepEqual(profiler.demand('ns/new'), { cpu: 0, pmRead: 0, pmWrite: 0 });
  profiler.record('ns/w', { readBytes: 1e8, writtenBytes: 1e8 });
  profiler.recordDuration('ns/w', 400, 2);
  const w = profiler.demand('ns/w');
  near(w.pmWrite, 0.2, 1e-12, 'pmWrite');
  near(w.pmRead, 0.05, 1e-12, 'pmRead');
  near(w.cpu, 0.1, 1e-12, 'cpu');
  profiler.record('ns/r', { readBytes: 4e8, writtenBytes: 0 });
  const unknown = profiler.demand('ns/new');
  near(unknown.pmWrite, 0.1, 1e-12, 'mean pmWrite');
  near(unknown.pmRead, 0.125, 1e-12, 'mean pmRead');
});

test('PmProfiler: bad samples are refused, not learnt', () => {
  const profiler = new PmProfiler();
  assert.equal(profiler.record('ns/f', { readBytes: -1, writtenBytes: 0 }), false);
  assert.equal(profiler.record('ns/f', { readBytes: 0, writtenBytes: Number.NaN }), false);
  assert.equal(profiler.recordDuration('ns/f', 0, 1), false);
  assert.equal(profiler.recordDuration('ns/f', Infinity, 1), false);
  assert.equal(profiler.predict('ns/f'), undefined);
  assert.throws(() => new PmProfiler({ alpha: 0 }), RangeError);
  assert.throws(() => new PmProfiler({ fitDecay: 1.5 }), RangeError);
  assert.throws(() => new PmProfiler({ capacity: { cpuCores: 0 } }), RangeError);
});

test('PmProfiler: snapshot → JSON → parse → restore gives the same predictions and the fit continues', () => {
  const a = new PmProfiler();
  for (const [writers, duration] of cycle(20, (w) => line(100, 0.25, w))) {
    a.record(functionKey('ns', 'f'), { readBytes: 10, writtenBytes: 1 << 20 });
    a.recordDuration(functionKey('ns', 'f'), duration, writers);
  }
  a.record(functionKey('', 'g'), { readBytes: 5, writtenBytes: 0 });
  const { state, skipped } = parseProfilerState(JSON.parse(JSON.stringify(a.snapshot())));
  assert.deepEqual(skipped, []);
  const b = new PmProfiler();
  let changes = 0;
  b.onChange(() => changes++);
  b.restore(state);
  assert.equal(changes, 0, 'restoring is not a change to save');
  assert.deepEqual([...b.entries()], [...a.entries()]);
  assert.deepEqual(b.predict('default/g'), a.predict('default/g'));
  for (const p of [a, b]) p.recordDuration('ns/f', line(100, 0.25, 8), 8);
  assert.deepEqual(b.predict('ns/f'), a.predict('ns/f'));
  assert.equal(changes, 1);
  assert.equal(b.forget('ns/f'), true);
  assert.equal(b.predict('ns/f'), undefined);
});

test('parseProfilerState: wrong shapes throw, bad entries are skipped', () => {
  assert.throws(() => parseProfilerState([]), /not a JSON object/);
  assert.throws(() => parseProfilerState({ version: 2, functions: {} }), /unknown version/);
  assert.throws(() => parseProfilerState({ version: 1 }), /functions/);
  const good = { readBytes: 1, writtenBytes: 2, usageSamples: 1, durationMs: 3, durationSamples: 1, sensitivity: 0, fit: [0, 0, 0, 0, 0] };
  const { state, skipped } = parseProfilerState({
    version: 1,
    functions: { 'ns/ok': good, 'ns/neg': { ...good, readBytes: -1 }, 'ns/frac': { ...good, usageSamples: 1.5 }, 'ns/fit': { ...good, fit: [1, 2] }, 'ns/str': 'x' },
  });
  assert.deepEqual(Object.keys(state.functions), ['ns/ok']);
  assert.deepEqual(skipped, ['ns/neg', 'ns/frac', 'ns/fit', 'ns/str']);
});
