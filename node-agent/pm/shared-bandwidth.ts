// A processor-sharing bandwidth resource: concurrent transfers split an aggregate bandwidth that depends on how many are active.

/** Aggregate bandwidth (bytes/s) when `active` transfers (≥ 1) share the resource. */
export type BandwidthCurve = (active: number) => number;

/**
 * Fluid processor sharing, the pure core. Every active transfer is served at the same rate
 * curve(n)/n, so all of them have received the same service since the last event; rather than
 * decrementing each remaining size, we keep one "attained service" counter per active period (the
 * bytes each active transfer has received, `served`) and give every transfer a finish tag: the value
 * of that counter at which it is done. Events (arrival, departure, cancellation) only change the
 * rate; completion order is the order of tags, so the next completion time is exact.
 *
 * Times are milliseconds on any monotonic clock; callers must not go back in time.
 */
export class FluidShare<K> {
  private readonly tags = new Map<K, number>();
  /** Bytes each active transfer has received since the resource was last idle. */
  private served = 0;
  private last = 0;

  constructor(private readonly curve: BandwidthCurve) {}

  get active(): number {
    return this.tags.size;
  }

  /** Bytes each active transfer receives per millisecond right now. */
  private rate(): number {
    const n = this.tags.size;
    if (n === 0) return 0;
    const bandwidth = this.curve(n);
    // A zero or unbounded bandwidth would stall every transfer forever or finish it in no time:
    // both are configuration errors here (a device without a time model does not use this class).
    if (!(Number.isFinite(bandwidth) && bandwidth > 0)) throw new RangeError(`bandwidth ${bandwidth} B/s for ${n} transfers must be a positive number`);
    return bandwidth / n / 1000;
  }

  /** Serves every active transfer up to `now`. */
  advance(now: number): void {
    if (now > this.last) this.served += this.rate() * (now - this.last);
    this.last = Math.max(this.last, now);
  }

  /** Starts a transfer of `bytes` (> 0) at `now`. */
  add(key: K, bytes: number, now: number): void {
    if (!(bytes > 0 && Number.isFinite(bytes))) throw new RangeError(`transfer of ${bytes} bytes must be a positive number`);
    if (this.tags.has(key)) throw new Error(`transfer ${String(key)} is already active`);
    const bandwidth = this.curve(this.tags.size + 1);
    // Checked before the transfer joins, so a bad curve fails this call and leaves the others intact.
    if (!(Number.isFinite(bandwidth) && bandwidth > 0)) throw new RangeError(`bandwidth ${bandwidth} B/s for ${this.tags.size + 1} transfers must be a positive number`);
    this.advance(now);
    if (this.tags.size === 0) this.served = 0; // keeps the counter small over a long-lived resource
    this.tags.set(key, this.served + bytes);
  }

  /** Removes a transfer before it completes (cancelled); false when it is not active. */
  remove(key: K, now: number): boolean {
    this.advance(now);
    return this.tags.delete(key);
  }

  /** When the earliest active transfer completes if nothing arrives or leaves before (ms), or undefined when idle. */
  nextCompletion(): number | undefined {
    if (this.tags.size === 0) return undefined;
    let min = Infinity;
    for (const tag of this.tags.values()) min = Math.min(min, tag);
    return this.last + Math.max(0, min - this.served) / this.rate();
  }

  /**
   * Advances to `now` and removes the transfers that are done, including those due within `slackMs`
   * (timers may fire a fraction of a millisecond early; finishing those a little early beats waiting
   * another whole timer tick). Tags compare with a relative epsilon so floating-point residue of
   * simultaneous completions does not split them. Returns them in completion order.
   */
  takeCompleted(now: number, slackMs = 0): K[] {
    this.advance(now);
    if (this.tags.size === 0) return [];
    const reach = this.served + this.rate() * slackMs;
    const done: Array<[K, number]> = [];
    for (const [key, tag] of this.tags) if (tag <= reach + 1e-9 * Math.max(1, tag)) done.push([key, tag]);
    done.sort((a, b) => a[1] - b[1]);
    for (const [key] of done) this.tags.delete(key);
    return done.map(([key]) => key);
  }
}

export type ShareEvent<K> = { at: number; key: K; bytes: number } | { at: number; cancel: K };

/**
 * Completion time (ms) of every transfer given its arrival (and optional cancellation) times: the
 * fluid model stepped event by event, with no clock. Cancelled transfers are absent from the result.
 */
export function simulateShare<K>(events: ReadonlyArray<ShareEvent<K>>, curve: BandwidthCurve): Map<K, number> {
  const pending = [...events].sort((a, b) => a.at - b.at);
  const share = new FluidShare<K>(curve);
  const done = new Map<K, number>();
  let i = 0;
  while (i < pending.length || share.active > 0) {
    const completion = share.nextCompletion() ?? Infinity;
    const next = pending[i];
    // A completion due at the same instant as an event is taken first: the departing transfer's
    // share goes to those that remain, which is what happens in a real device too.
    if (next === undefined || completion <= next.at) {
      const keys = share.takeCompleted(completion);
      if (keys.length === 0) throw new Error(`no transfer completed at its completion time ${completion} ms`); // would loop forever
      for (const key of keys) done.set(key, completion);
      continue;
    }
    if ('cancel' in next) share.remove(next.cancel, next.at);
    else share.add(next.key, next.bytes, next.at);
    i++;
  }
  return done;
}

/** Time source and timers, injectable so tests can step time by hand. */
export interface Clock {
  /** Milliseconds, monotonic. */
  now(): number;
  setTimer(callback: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
}

export const realClock: Clock = {
  now: () => performance.now(),
  setTimer: (callback, ms) => setTimeout(callback, ms),
  clearTimer: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

interface Waiter {
  resolve(): void;
  reject(reason: unknown): void;
  cleanup(): void;
}

/**
 * The fluid model in real time: `transfer(bytes)` resolves when the transfer's bytes have been served
 * while sharing the resource with every other active transfer. One timer, set for the next
 * completion and reset at every arrival and departure, drives it.
 */
export class SharedBandwidth {
  private readonly share: FluidShare<number>;
  private readonly waiters = new Map<number, Waiter>();
  private nextKey = 0;
  private timer: unknown;
  private closed: Error | undefined;

  /** `slackMs`: transfers due within this much of a timer firing complete with it (see FluidShare.takeCompleted). */
  constructor(
    curve: BandwidthCurve,
    private readonly clock: Clock = realClock,
    private readonly slackMs = 0.5,
  ) {
    this.share = new FluidShare<number>(curve);
  }

  /** Transfers being served now. */
  get active(): number {
    return this.share.active;
  }

  /** Resolves when `bytes` have been served; rejects with the signal's reason when aborted first (its share goes to the others at once). */
  transfer(bytes: number, signal?: AbortSignal): Promise<void> {
    if (this.closed) return Promise.reject(this.closed);
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (bytes === 0) return Promise.resolve();
    const key = this.nextKey++;
    return new Promise<void>((resolve, reject) => {
      this.share.add(key, bytes, this.clock.now()); // throws (rejecting this promise) on a bad size or curve
      const onAbort = (): void => {
        if (!this.share.remove(key, this.clock.now())) return;
        this.settle(key)?.reject(signal?.reason);
        this.reschedule();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.set(key, { resolve, reject, cleanup: () => signal?.removeEventListener('abort', onAbort) });
      this.reschedule();
    });
  }

  /** Rejects every active transfer and stops the timer; later transfers reject too. */
  close(reason: Error = new Error('shared bandwidth resource closed')): void {
    this.closed = reason;
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timer = undefined;
    const now = this.clock.now();
    for (const key of [...this.waiters.keys()]) {
      this.share.remove(key, now);
      this.settle(key)?.reject(reason);
    }
  }

  private settle(key: number): Waiter | undefined {
    const waiter = this.waiters.get(key);
    this.waiters.delete(key);
    waiter?.cleanup();
    return waiter;
  }

  private reschedule(): void {
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timer = undefined;
    const due = this.share.nextCompletion();
    if (due === undefined) return;
    this.timer = this.clock.setTimer(() => this.fire(), Math.max(0, due - this.clock.now()));
  }

  private fire(): void {
    this.timer = undefined;
    for (const key of this.share.takeCompleted(this.clock.now(), this.slackMs)) this.settle(key)?.resolve();
    this.reschedule();
  }
}
