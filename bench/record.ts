// The benchmark result record (one JSON line each) and targets judged against it (informational, never asserted).

/** One measured number. Serialized as exactly these keys, in this order, one JSON object per line. */
export interface BenchRecord {
  bench: string;
  case: string;
  metric: string;
  value: number;
  unit: string;
}

/** A goal for one (bench, case, metric): the value must be at most / at least `threshold`. */
export interface BenchTarget {
  bench: string;
  case: string;
  metric: string;
  comparison: 'at-most' | 'at-least';
  threshold: number;
}

export type TargetResult = 'PASS' | 'MISS';

/** Values keep at most 3 decimals: more is noise for these measurements and makes the lines hard to read. */
export function roundValue(value: number): number {
  return Math.round(value * 1000) / 1000;
}

/** The JSON line (without newline) for a record; throws on a non-finite value, which would serialize as null. */
export function formatRecordLine(record: BenchRecord): string {
  if (!Number.isFinite(record.value)) {
    throw new RangeError(`bench record ${record.bench}/${record.case}/${record.metric}: value ${record.value} is not a finite number`);
  }
  return JSON.stringify({
    bench: record.bench,
    case: record.case,
    metric: record.metric,
    value: roundValue(record.value),
    unit: record.unit,
  });
}

export function targetKey(t: { bench: string; case: string; metric: string }): string {
  return `${t.bench}\u0000${t.case}\u0000${t.metric}`;
}

export function judgeTarget(target: BenchTarget, value: number): TargetResult {
  const ok = target.comparison === 'at-most' ? value <= target.threshold : value >= target.threshold;
  return ok ? 'PASS' : 'MISS';
}

/** "≤ 1 ms", "≥ 50 %". */
export function describeTarget(target: BenchTarget, unit: string): string {
  return `${target.comparison === 'at-most' ? '≤' : '≥'} ${target.threshold} ${unit}`;
}
