// Exponential reconnect delays for long-lived gRPC streams (ReportStats, WatchScale): one pending retry at a time.

/** Delays start at `initialMs` and double per retry up to `maxMs`; timers never keep the process alive. */
export class ReconnectBackoff {
  private delayMs: number;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly initialMs = 100,
    private readonly maxMs = 2_000,
  ) {
    this.delayMs = initialMs;
  }

  /** The delay the next schedule() will wait. */
  get nextDelayMs(): number {
    return this.delayMs;
  }

  get pending(): boolean {
    return this.timer !== undefined;
  }

  /** Calls `reconnect` after the current delay, unless a retry is already pending; then doubles the delay (≤ maxMs). */
  schedule(reconnect: () => void): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      reconnect();
    }, this.delayMs);
    this.timer.unref();
    this.delayMs = Math.min(this.delayMs * 2, this.maxMs);
  }

  /** Back to the initial delay, once a stream has proved healthy. */
  reset(): void {
    this.delayMs = this.initialMs;
  }

  /** Drops a pending retry. */
  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
