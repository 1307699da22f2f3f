// Time-weighted average of requests held (queued + in flight) per reporting period; pure, time passed in.

export interface LoadReport {
  /** Time-weighted average of requests held over the period. */
  averageConcurrency: number;
  /** Requests that arrived during the period. */
  requestCount: number;
  periodMs: number;
}

/**
 * Integrates `current × time` between changes; `report(now)` closes the period and starts the next.
 * Calls must use a monotonic clock and non-decreasing `now`.
 */
export class LoadTracker {
  private current = 0;
  private lastChangeMs: number;
  private periodStartMs: number;
  private weightedSum = 0;
  private requestCount = 0;

  constructor(nowMs: number) {
    this.lastChangeMs = nowMs;
    this.periodStartMs = nowMs;
  }

  get held(): number {
    return this.current;
  }

  /** A request arrived (it is counted until `depart`). */
  arrive(nowMs: number): void {
    this.advance(nowMs);
    this.current++;
    this.requestCount++;
  }

  depart(nowMs: number): void {
    this.advance(nowMs);
    this.current--;
  }

  /** True when the period saw a request or something is still held. */
  hadActivity(): boolean {
    return this.requestCount > 0 || this.current > 0 || this.weightedSum > 0;
  }

  report(nowMs: number): LoadReport {
    this.advance(nowMs);
    const periodMs = nowMs - this.periodStartMs;
    const report: LoadReport = {
      averageConcurrency: periodMs > 0 ? this.weightedSum / periodMs : this.current,
      requestCount: this.requestCount,
      periodMs,
    };
    this.periodStartMs = nowMs;
    this.weightedSum = 0;
    this.requestCount = 0;
    return report;
  }

  private advance(nowMs: number): void {
    if (nowMs > this.lastChangeMs) {
      this.weightedSum += this.current * (nowMs - this.lastChangeMs);
      this.lastChangeMs = nowMs;
    }
  }
}

/** Scale-from-zero pokes: at most one per `minIntervalMs` per function while it has no ready instance. */
export const POKE_MIN_INTERVAL_MS = 500;

export function shouldPoke(readyInstances: number, lastPokeMs: number | undefined, nowMs: number, minIntervalMs = POKE_MIN_INTERVAL_MS): boolean {
  if (readyInstances > 0) return false;
  return lastPokeMs === undefined || nowMs - lastPokeMs >= minIntervalMs;
}
