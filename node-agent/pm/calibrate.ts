// The PM performance model of a node: a short write-concurrency sweep on its device → the writer limit that maximizes aggregate write throughput.
import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Calibration, CalibrationPoint, PmDevice } from './types.js';

export const DEFAULT_SWEEP_WRITERS: readonly number[] = Object.freeze([1, 2, 4, 6, 8, 12, 16]);
/**
 * 2 MiB per writer: one pass over the default counts on the default emulated device (write peak
 * 525 MB/s) takes about 0.3 s of model time, and the shortest round (one writer, 16 ms) is still long
 * next to 1 ms timer granularity.
 */
export const DEFAULT_BYTES_PER_WRITER = 2 * 1024 * 1024;
/** No collapse when the largest writer count keeps at least 95% of the best throughput. */
export const DEFAULT_COLLAPSE_TOLERANCE = 0.05;
/**
 * Three passes on the default emulated device (about 0.9 s): a busy core can hold a 16 ms round
 * back by a few ms (20%, enough to move the peak), and three chances make it unlikely that every
 * round of one count is held back. Without a model (plain tmpfs) a pass takes tens of ms, so this
 * is a few dozen passes.
 */
export const DEFAULT_MIN_SWEEP_MS = 800;

export interface CalibrateOptions {
  /** Writer counts to measure, in any order. */
  writers?: readonly number[];
  bytesPerWriter?: number;
  tolerance?: number;
  /**
   * The sweep repeats whole passes over the writer counts until it has taken this long (at least
   * one pass). Without a model a round is a millisecond or a few, where scheduling noise alone is
   * tens of percent, so many passes are needed. Default DEFAULT_MIN_SWEEP_MS.
   */
  minSweepMs?: number;
}

/**
 * The writer count with the highest throughput (the fewest writers among ties), or Infinity when the
 * largest count measured is within `tolerance` of the best: the device shows no collapse, so
 * limiting writers would only cost throughput. No points: Infinity (nothing to limit on).
 */
export function pickWriterLimit(points: readonly CalibrationPoint[], tolerance = DEFAULT_COLLAPSE_TOLERANCE): number {
  if (points.length === 0) return Infinity;
  let best = points[0];
  let largest = points[0];
  for (const point of points) {
    if (point.writeBytesPerSecond > best.writeBytesPerSecond || (point.writeBytesPerSecond === best.writeBytesPerSecond && point.writers < best.writers)) best = point;
    if (point.writers > largest.writers) largest = point;
  }
  if (largest.writeBytesPerSecond >= (1 - tolerance) * best.writeBytesPerSecond) return Infinity;
  return best.writers;
}

/**
 * Measures aggregate write throughput at each writer count: that many writers at once each write
 * `bytesPerWriter` to a real file in the device's directory and through `device.write`, and a writer
 * is done when both are (the file system's own cost on DAX and plain, the model's on the emulated
 * device, whichever is slower). The files are removed after each round.
 */
export async function calibrate(device: PmDevice, options: CalibrateOptions = {}): Promise<Calibration> {
  const writers = [...(options.writers ?? DEFAULT_SWEEP_WRITERS)].sort((a, b) => a - b);
  const bytes = options.bytesPerWriter ?? DEFAULT_BYTES_PER_WRITER;
  const minSweepMs = options.minSweepMs ?? DEFAULT_MIN_SWEEP_MS;
  if (writers.some((count) => !(Number.isInteger(count) && count >= 1))) throw new RangeError(`writer counts ${writers.join(',')} must be positive integers`);
  if (!(Number.isInteger(bytes) && bytes > 0)) throw new RangeError(`bytesPerWriter ${bytes} must be a positive integer`);
  if (!(minSweepMs >= 0)) throw new RangeError(`minSweepMs ${minSweepMs} must be a non-negative number`);
  // Random content, one buffer for all writers: nothing below can shortcut zero or repeated pages,
  // and allocation stays out of the timed part.
  const data = randomBytes(bytes);
  const prefix = join(device.dir, `.calibrate-${process.pid}-${Date.now()}`);
  // Whole passes over the writer counts, alternating up and down, until the sweep has taken
  // minSweepMs. Load from the rest of the node drifts over a sweep: measuring the counts one after
  // the other would turn that drift into a slope (a false collapse), and giving some counts more
  // rounds than others would bias the estimate towards them.
  const passes: number[][] = [];
  const started = performance.now();
  while (passes.length === 0 || performance.now() - started < minSweepMs) {
    const pass = new Array<number>(writers.length);
    const order = writers.map((_, i) => (passes.length % 2 === 0 ? i : writers.length - 1 - i));
    for (const i of order) pass[i] = (writers[i] * bytes) / (Math.max(await round(device, prefix, data, writers[i]), 1e-3) / 1000);
    passes.push(pass);
  }
  return summarizeSweep(writers, passes, options.tolerance ?? DEFAULT_COLLAPSE_TOLERANCE);
}

/**
 * From a sweep's passes (each the aggregate write bytes/s at every writer count, in `writers` order)
 * to the calibration. A count's throughput is its best pass: the rest of the node can only slow a
 * round down (a late timer, a busy core), never speed it up, so the best pass is the closest to
 * what the device does. A collapse only counts when every pass shows it: one noisy pass can fake a
 * drop, but not the same drop in all of them.
 */
export function summarizeSweep(writers: readonly number[], passes: ReadonlyArray<readonly number[]>, tolerance = DEFAULT_COLLAPSE_TOLERANCE): Calibration {
  const points: CalibrationPoint[] = writers.map((count, i) => ({ writers: count, writeBytesPerSecond: Math.max(0, ...passes.map((pass) => pass[i])) }));
  const limit = pickWriterLimit(points, tolerance);
  if (!Number.isFinite(limit)) return { points, writerLimit: Infinity };
  const best = writers.indexOf(limit);
  const largest = writers.indexOf(Math.max(...writers));
  const consistent = passes.every((pass) => pass[largest] < (1 - tolerance) * pass[best]);
  return { points, writerLimit: consistent ? limit : Infinity };
}

/** Milliseconds for `count` concurrent writers of `data` (removing the files afterwards is not timed). */
async function round(device: PmDevice, prefix: string, data: Buffer, count: number): Promise<number> {
  const paths = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
  try {
    const start = performance.now();
    // The device writes start first, in one tight loop: the model's round time assumes the writers
    // arrive together, and a pause between arrivals (a busy core, a GC) would let the first ones run
    // at the faster few-writer rate and make the round look better than the device is.
    const modelled = paths.map(() => device.write(data.length));
    // Settled, not all: on a failure no file write may still be running when the files are removed.
    const results = await Promise.allSettled([...modelled, ...paths.map((path) => writeFile(path, data))]);
    const ms = performance.now() - start;
    const failed = results.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
    return ms;
  } finally {
    await Promise.all(paths.map((path) => rm(path, { force: true })));
  }
}
