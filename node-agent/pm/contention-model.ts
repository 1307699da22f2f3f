// The emulated PM device's contention model: aggregate write and read bandwidth as functions of the number of concurrent users.
import type { ContentionParams } from './types.js';

/**
 * Intel Optane DCPMM (first generation, six interleaved modules per socket, App Direct) as published.
 *
 * - Peaks: 10.5 GB/s write, 37 GB/s read (Samanta et al., "Persistent Memory-Aware Scheduling for
 *   Serverless Workloads", Table I; /work/shared/BACKGROUND.md).
 * - Write peak at 4 writers, then regression: Yang et al., "An Empirical Guide to the Behavior and Use
 *   of Scalable Persistent Memory", FAST'20 (four threads saturate write bandwidth; more writers evict
 *   partly filled 256 B XPLines from the XPBuffer, amplifying writes). Samanta et al. §II: with many
 *   writers the effective write bandwidth falls to about 60% of its peak.
 * - Reads keep scaling with threads up to about 17 (Yang et al. / the same group's measurement report)
 *   and then stay at their peak.
 *
 * Our assumptions, not published numbers (all configurable):
 * - Below the peak each writer (reader) runs at its own single-thread speed, i.e. the curves rise
 *   linearly: one writer gets 1/4 of the write peak, one reader 1/17 of the read peak.
 * - The decline from the write peak to the floor is linear and the floor is reached at 16 writers
 *   (the published curves only say "many writers"; 16 keeps the whole collapse inside the default
 *   calibration sweep).
 */
export const PUBLISHED_CONTENTION: Readonly<ContentionParams> = Object.freeze({
  writePeakBytesPerSecond: 10.5e9,
  writePeakWriters: 4,
  writeSingleFraction: 1 / 4,
  writeFloorFraction: 0.6,
  writeFloorWriters: 16,
  readPeakBytesPerSecond: 37e9,
  readPeakReaders: 17,
  readSingleFraction: 1 / 17,
});

/**
 * The emulated device runs the published curve slowed down by this factor. This machine's tmpfs cannot
 * copy at 10.5 GB/s next to the rest of the platform on 2 cores, so at full speed the real memcpy, not
 * the model, would set the pace and the collapse would vanish in noise. At 0.05 the write peak is
 * 525 MB/s (a 16 MiB write takes 32 ms at the aggregate peak, 128 ms for each of 4 peak writers), slow
 * enough that the model dominates the real copy and timer granularity (1 ms) stays a few percent.
 * Only absolute speeds scale; the shape (peak position, 60% floor, read/write ratio) is unchanged.
 */
export const DEFAULT_BANDWIDTH_SCALE = 0.05;

/** The published curve with both peaks multiplied by `scale` (the shape is kept). */
export function scaledParams(scale: number, base: Readonly<ContentionParams> = PUBLISHED_CONTENTION): ContentionParams {
  if (!(Number.isFinite(scale) && scale > 0)) throw new RangeError(`bandwidth scale ${scale} must be a positive number`);
  return {
    ...base,
    writePeakBytesPerSecond: base.writePeakBytesPerSecond * scale,
    readPeakBytesPerSecond: base.readPeakBytesPerSecond * scale,
  };
}

/** The emulated device's default: the published curve at DEFAULT_BANDWIDTH_SCALE (write peak 525 MB/s, read peak 1.85 GB/s). */
export const DEFAULT_CONTENTION: Readonly<ContentionParams> = Object.freeze(scaledParams(DEFAULT_BANDWIDTH_SCALE));

/** Throws RangeError naming the first field that cannot describe a curve (for parameters read from configuration). */
export function validateContentionParams(params: ContentionParams): void {
  const positive = (name: keyof ContentionParams): void => {
    const value = params[name];
    if (!(Number.isFinite(value) && value > 0)) throw new RangeError(`${name} ${value} must be a positive number`);
  };
  const fraction = (name: keyof ContentionParams): void => {
    const value = params[name];
    if (!(value > 0 && value <= 1)) throw new RangeError(`${name} ${value} must be in (0; 1]`);
  };
  positive('writePeakBytesPerSecond');
  positive('readPeakBytesPerSecond');
  fraction('writeSingleFraction');
  fraction('writeFloorFraction');
  fraction('readSingleFraction');
  if (!(params.writePeakWriters >= 1 && Number.isFinite(params.writePeakWriters))) throw new RangeError(`writePeakWriters ${params.writePeakWriters} must be at least 1`);
  if (!(params.writeFloorWriters >= params.writePeakWriters && Number.isFinite(params.writeFloorWriters))) {
    throw new RangeError(`writeFloorWriters ${params.writeFloorWriters} must be at least writePeakWriters (${params.writePeakWriters})`);
  }
  if (!(params.readPeakReaders >= 1 && Number.isFinite(params.readPeakReaders))) throw new RangeError(`readPeakReaders ${params.readPeakReaders} must be at least 1`);
}

/**
 * Piecewise-linear rise from `single`×`peak` at one user to `peak` at `peakUsers`. Fewer than one user
 * (a fractional count, e.g. an average) scales down proportionally so the curve is continuous at 0.
 */
function rising(users: number, peak: number, peakUsers: number, single: number): number {
  if (users <= 0) return 0;
  if (users < 1) return users * single * peak;
  if (users >= peakUsers) return peak;
  const t = (users - 1) / (peakUsers - 1);
  return peak * (single + (1 - single) * t);
}

/**
 * Aggregate write bandwidth (bytes/s) of `writers` concurrent writers: rises to the peak at
 * writePeakWriters, declines linearly to writeFloorFraction × peak at writeFloorWriters, then stays.
 */
export function aggregateWriteBandwidth(writers: number, params: ContentionParams): number {
  const peak = params.writePeakBytesPerSecond;
  if (writers <= params.writePeakWriters) return rising(writers, peak, params.writePeakWriters, params.writeSingleFraction);
  if (writers >= params.writeFloorWriters) return peak * params.writeFloorFraction;
  const t = (writers - params.writePeakWriters) / (params.writeFloorWriters - params.writePeakWriters);
  return peak * (1 - (1 - params.writeFloorFraction) * t);
}

/** Aggregate read bandwidth (bytes/s) of `readers` concurrent readers: rises to the read peak at readPeakReaders and stays there. */
export function aggregateReadBandwidth(readers: number, params: ContentionParams): number {
  return rising(readers, params.readPeakBytesPerSecond, params.readPeakReaders, params.readSingleFraction);
}
