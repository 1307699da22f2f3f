// Knative-style concurrency breaker: at most `concurrency` requests in flight, at most `queueDepth` waiting in FIFO order.
import { SluiceError } from '../lib/errors.js';

export interface BreakerOptions {
  /** Requests in flight at once; 0 = unlimited (the breaker only counts). */
  concurrency: number;
  /** Requests allowed to wait for a slot; beyond it acquire() throws QUEUE_FULL. */
  queueDepth: number;
  /** Appended to the QUEUE_FULL message, e.g. 'function default/echo instance echo-1'. */
  name?: string;
}

/**
 * One queued request. It is its own node in the breaker's doubly linked list,
 * so leaving the queue (client gone, deadline) is O(1) and allocates nothing more.
 */
export class BreakerWaiter {
  /** Resolves when the breaker hands this waiter a slot; never rejects. */
  readonly granted: Promise<void>;
  /** @internal */ prev: BreakerWaiter | undefined;
  /** @internal */ next: BreakerWaiter | undefined;
  /** @internal */ state: 'waiting' | 'granted' | 'cancelled' = 'waiting';
  /** @internal */ resolve!: () => void;

  constructor(private readonly breaker: Breaker) {
    this.granted = new Promise<void>((resolve) => {
      this.resolve = resolve;
    });
  }

  /**
   * Leaves the queue. Returns true when the waiter left without a slot; false when a
   * slot was already granted, in which case the caller owns it and must release() it.
   */
  cancel(): boolean {
    if (this.state === 'granted') return false;
    if (this.state === 'waiting') this.breaker.remove(this);
    this.state = 'cancelled';
    return true;
  }
}

/**
 * Slots are handed over directly from release() to the oldest waiter, so a newcomer
 * can never overtake the queue: whenever someone waits, every slot is taken.
 *
 * | call         | in flight < concurrency | all slots taken, queue < depth | queue full        |
 * |--------------|-------------------------|--------------------------------|-------------------|
 * | tryAcquire() | take slot → true        | false                          | false             |
 * | acquire()    | take slot → undefined   | enqueue → BreakerWaiter        | throw QUEUE_FULL  |
 * | release()    | free slot (or hand it to the oldest waiter)                                      |
 */
export class Breaker {
  readonly concurrency: number;
  readonly queueDepth: number;
  private active = 0;
  private waiting = 0;
  private head: BreakerWaiter | undefined;
  private tail: BreakerWaiter | undefined;
  private readonly fullMessage: string;

  constructor(options: BreakerOptions) {
    if (!Number.isInteger(options.concurrency) || options.concurrency < 0) throw new RangeError(`breaker concurrency = ${options.concurrency}, must be an integer ≥ 0`);
    if (!Number.isInteger(options.queueDepth) || options.queueDepth < 0) throw new RangeError(`breaker queueDepth = ${options.queueDepth}, must be an integer ≥ 0`);
    this.concurrency = options.concurrency;
    this.queueDepth = options.concurrency === 0 ? 0 : options.queueDepth;
    const where = options.name ? `${options.name}: ` : '';
    this.fullMessage = `${where}queue full (${this.concurrency} in flight, ${this.queueDepth} queued)`;
  }

  /** Requests holding a slot. */
  get inFlight(): number {
    return this.active;
  }

  /** Requests waiting for a slot. */
  get queued(): number {
    return this.waiting;
  }

  /** Takes a slot when one is free; the fast path, no allocation. */
  tryAcquire(): boolean {
    if (this.concurrency === 0 || this.active < this.concurrency) {
      this.active++;
      return true;
    }
    return false;
  }

  /**
   * Takes a slot (returns undefined), or queues (returns a waiter whose `granted`
   * resolves when the slot is handed over), or throws SluiceError QUEUE_FULL.
   */
  acquire(): BreakerWaiter | undefined {
    if (this.tryAcquire()) return undefined;
    if (this.waiting >= this.queueDepth) {
      throw new SluiceError('QUEUE_FULL', this.fullMessage, { retryAfterSeconds: 1 });
    }
    const waiter = new BreakerWaiter(this);
    waiter.prev = this.tail;
    if (this.tail) this.tail.next = waiter;
    else this.head = waiter;
    this.tail = waiter;
    this.waiting++;
    return waiter;
  }

  /** Frees a slot, handing it to the oldest waiter if there is one. */
  release(): void {
    const waiter = this.head;
    if (waiter === undefined) {
      if (this.active > 0) this.active--;
      return;
    }
    this.remove(waiter);
    waiter.state = 'granted';
    waiter.resolve();
  }

  /** @internal Unlinks a waiting waiter. */
  remove(waiter: BreakerWaiter): void {
    if (waiter.prev) waiter.prev.next = waiter.next;
    else this.head = waiter.next;
    if (waiter.next) waiter.next.prev = waiter.prev;
    else this.tail = waiter.prev;
    waiter.prev = undefined;
    waiter.next = undefined;
    this.waiting--;
  }
}
