// A fixed-size ring of per-second buckets with the window average Knative's KPA uses (bounded memory).

/**
 * Sums values per time bucket (1 s by default) over a sliding window. Memory is one
 * Float64Array of window/granularity buckets, whatever the write rate.
 *
 * The average divides by the number of buckets in the window, except when the data is
 * younger than the window: then it divides by the buckets since the first write, as
 * Knative's TimedFloat64Buckets does, so a function just scaled from zero is not judged
 * by a window that is mostly "before it existed". Likewise the seconds after the last write
 * are not counted (the current second is usually still being reported). After a silence
 * longer than the window the history restarts (the first write moves up).
 */
export class MetricWindow {
  private buckets: Float64Array;
  /** Bucket numbers (time / granularity); -1 before the first write. */
  private firstBucket = -1;
  private lastBucket = -1;

  constructor(
    private windowMs: number,
    private readonly granularityMs = 1_000,
  ) {
    this.buckets = new Float64Array(bucketCount(windowMs, granularityMs));
  }

  get window(): number {
    return this.windowMs;
  }

  /** Adds `value` to the bucket of `nowMs` (negative values adjust an earlier write). */
  record(nowMs: number, value: number): void {
    const bucket = Math.floor(nowMs / this.granularityMs);
    const size = this.buckets.length;
    if (this.lastBucket < 0 || bucket - this.lastBucket >= size) {
      // First write, or everything recorded so far has left the window: start over.
      this.buckets.fill(0);
      this.firstBucket = bucket;
      this.lastBucket = bucket;
    } else if (bucket > this.lastBucket) {
      for (let b = this.lastBucket + 1; b <= bucket; b++) this.buckets[b % size] = 0;
      this.lastBucket = bucket;
    } else if (bucket < this.firstBucket || this.lastBucket - bucket >= size) {
      return; // older than what the window holds: nothing to add it to
    }
    this.buckets[bucket % size] += value;
  }

  /**
   * Average per bucket over the last `spanMs` (the whole window by default) ending at `nowMs`,
   * counting only the buckets between the first and the last write: gaps between writes count
   * as zeros, the silent seconds after the last write do not (Knative's WindowAverage). 0 when
   * nothing was written in that span.
   */
  average(nowMs: number, spanMs = this.windowMs): number {
    const nowBucket = Math.floor(nowMs / this.granularityMs);
    const span = Math.min(this.buckets.length, bucketCount(spanMs, this.granularityMs));
    if (this.lastBucket < 0 || nowBucket - this.lastBucket >= span) return 0;
    const from = Math.max(nowBucket - span + 1, this.firstBucket, this.lastBucket - this.buckets.length + 1);
    const to = Math.min(nowBucket, this.lastBucket);
    if (to < from) return 0;
    let total = 0;
    for (let b = from; b <= to; b++) total += this.buckets[b % this.buckets.length];
    return total / (to - from + 1);
  }

  /** True when something was written in the last `spanMs` before `nowMs`. */
  hasDataWithin(nowMs: number, spanMs = this.windowMs): boolean {
    if (this.lastBucket < 0) return false;
    const nowBucket = Math.floor(nowMs / this.granularityMs);
    return nowBucket - this.lastBucket < Math.min(this.buckets.length, bucketCount(spanMs, this.granularityMs));
  }

  /** Changes the window length, keeping the most recent buckets that still fit. */
  resize(windowMs: number): void {
    const size = bucketCount(windowMs, this.granularityMs);
    this.windowMs = windowMs;
    if (size === this.buckets.length) return;
    const next = new Float64Array(size);
    if (this.lastBucket >= 0) {
      const from = Math.max(this.firstBucket, this.lastBucket - Math.min(size, this.buckets.length) + 1);
      for (let b = from; b <= this.lastBucket; b++) next[b % size] = this.buckets[b % this.buckets.length];
      // Dropped seconds are unknown, not zero: the history now starts at the oldest kept bucket.
      this.firstBucket = from;
    }
    this.buckets = next;
  }
}

function bucketCount(ms: number, granularityMs: number): number {
  return Math.max(1, Math.ceil(ms / granularityMs));
}
