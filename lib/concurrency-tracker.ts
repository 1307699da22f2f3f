// Time-weighted average concurrency and request counts per reporting period, for Stats to the autoscaler (pure; time is an argument).

/** The measured part of one Stat (protos/autoscaler.proto field names), covering one reporting period. */
export interface PeriodStat {
  average_concurrency: number;
  /** The part of average_concurrency that came through an activator. */
  average_proxied_concurrency: number;
  /** Requests that started during the period. */
  request_count: number;
  proxied_request_count: number;
  period_ms: number;
}

/**
 * Integrates the number of requests held (queued or in flight, as Knative counts them; the
 * queue-proxy per instance, the activator per function) over time: every start/end adds
 * concurrency × elapsed to the period's area, and report() divides the area by the period length.
 * Times are milliseconds on any monotonic clock, never decreasing (performance.now() in production).
 */
export class ConcurrencyTracker {
  private concurrency = 0;
  private proxiedConcurrency = 0;
  private lastChange: number;
  private periodStart: number;
  private area = 0;
  private proxiedArea = 0;
  private requests = 0;
  private proxiedRequests = 0;

  constructor(now: number) {
    this.lastChange = now;
    this.periodStart = now;
  }

  /** Requests started and not yet ended. */
  get active(): number {
    return this.concurrency;
  }

  private advance(now: number): void {
    const elapsed = now - this.lastChange;
    if (elapsed > 0) {
      this.area += this.concurrency * elapsed;
      this.proxiedArea += this.proxiedConcurrency * elapsed;
      this.lastChange = now;
    }
  }

  /** A request arrived; `proxied` when an activator sent it. It counts until end(). */
  start(now: number, proxied = false): void {
    this.advance(now);
    this.concurrency++;
    this.requests++;
    if (proxied) {
      this.proxiedConcurrency++;
      this.proxiedRequests++;
    }
  }

  end(now: number, proxied = false): void {
    this.advance(now);
    if (this.concurrency > 0) this.concurrency--;
    if (proxied && this.proxiedConcurrency > 0) this.proxiedConcurrency--;
  }

  /** True when the current period saw a request or something is still held. */
  hadActivity(): boolean {
    return this.requests > 0 || this.concurrency > 0 || this.area > 0;
  }

  /** Returns the period ending at `now` and starts the next one. */
  report(now: number): PeriodStat {
    this.advance(now);
    const periodMs = now - this.periodStart;
    const stat: PeriodStat = {
      // A zero-length period has no area; the instantaneous count is the best estimate.
      average_concurrency: periodMs > 0 ? this.area / periodMs : this.concurrency,
      average_proxied_concurrency: periodMs > 0 ? this.proxiedArea / periodMs : this.proxiedConcurrency,
      request_count: this.requests,
      proxied_request_count: this.proxiedRequests,
      period_ms: periodMs,
    };
    this.area = 0;
    this.proxiedArea = 0;
    this.requests = 0;
    this.proxiedRequests = 0;
    this.periodStart = now;
    this.lastChange = Math.max(this.lastChange, now);
    return stat;
  }
}
