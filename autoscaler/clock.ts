// Time for the autoscaler's runner: the real clock, or a FakeClock that tests advance by hand.

export interface Clock {
  now(): number;
  /** Calls `fn` every `intervalMs` until the returned function is called. */
  every(intervalMs: number, fn: () => void): () => void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  every(intervalMs, fn) {
    const timer = setInterval(fn, intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  },
};

interface FakeTimer {
  intervalMs: number;
  dueMs: number;
  fn: () => void;
}

/** FakeClock: a test fake implementing Clock; time moves only when `advance` is called, firing due timers in order. */
export class FakeClock implements Clock {
  private readonly timers = new Set<FakeTimer>();

  constructor(private nowMs = 1_700_000_000_000) {}

  now(): number {
    return this.nowMs;
  }

  every(intervalMs: number, fn: () => void): () => void {
    const timer: FakeTimer = { intervalMs, dueMs: this.nowMs + intervalMs, fn };
    this.timers.add(timer);
    return () => this.timers.delete(timer);
  }

  /** Moves time forward by `ms`, running every timer that falls due on the way. */
  advance(ms: number): void {
    const end = this.nowMs + ms;
    for (;;) {
      let next: FakeTimer | undefined;
      for (const timer of this.timers) if (timer.dueMs <= end && (!next || timer.dueMs < next.dueMs)) next = timer;
      if (!next) break;
      this.nowMs = next.dueMs;
      next.dueMs += next.intervalMs;
      next.fn();
    }
    this.nowMs = end;
  }

  get pendingTimers(): number {
    return this.timers.size;
  }
}
