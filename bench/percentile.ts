// Percentiles of a small sample (nearest-rank), for measurements taken one by one such as cold starts.

/**
 * Nearest-rank percentile: the smallest sample with at least p % of the samples at or below it
 * (the definition HDR histograms use). `p` in (0; 100]; samples need not be sorted.
 */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) throw new RangeError('percentile of no samples');
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile p = ${p}, must be in (0; 100]`);
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}
