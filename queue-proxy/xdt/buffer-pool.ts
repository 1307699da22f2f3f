// A fixed pool of pre-allocated buffers for XDT objects: memory stays bounded by the pool, callers wait (FIFO) when it is empty.
import { SluiceError } from '../../lib/errors.js';

export interface BufferPoolOptions {
  /** Names the pool in errors and metrics, e.g. "invoke-outbound". */
  name: string;
  count: number;
  /** Bytes per buffer. */
  size: number;
  /** Callers allowed to wait for a buffer; beyond that acquire() fails with QUEUE_FULL. */
  maxWaiters: number;
}

interface Waiter {
  resolve(buffer: Buffer): void;
  reject(err: unknown): void;
  cleanup(): void;
}

/**
 * One slab of `count × size` bytes allocated up front and handed out as views.
 * Backpressure is the contract: when every buffer is in use, acquire() waits until
 * one is released; nothing allocates more.
 */
export class BufferPool {
  readonly name: string;
  readonly count: number;
  readonly size: number;
  private readonly free: Buffer[] = [];
  private readonly inUse = new Set<Buffer>();
  private readonly owned = new WeakSet<Buffer>();
  private readonly waiters: Array<Waiter | undefined> = [];
  private waitersHead = 0;
  private readonly maxWaiters: number;

  constructor(options: BufferPoolOptions) {
    if (!Number.isInteger(options.count) || options.count < 1) throw new Error(`buffer pool ${options.name}: count must be a positive integer`);
    if (!Number.isInteger(options.size) || options.size < 1) throw new Error(`buffer pool ${options.name}: size must be a positive integer`);
    this.name = options.name;
    this.count = options.count;
    this.size = options.size;
    this.maxWaiters = options.maxWaiters;
    const slab = Buffer.allocUnsafeSlow(options.count * options.size);
    for (let i = options.count - 1; i >= 0; i--) {
      const view = slab.subarray(i * options.size, (i + 1) * options.size);
      this.owned.add(view);
      this.free.push(view);
    }
  }

  get available(): number {
    return this.free.length;
  }

  get used(): number {
    return this.inUse.size;
  }

  get waiting(): number {
    return this.waiters.length - this.waitersHead;
  }

  /** A buffer now, or undefined when all are in use. */
  tryAcquire(): Buffer | undefined {
    const buffer = this.free.pop();
    if (buffer) this.inUse.add(buffer);
    return buffer;
  }

  /** A buffer now, or once one is released (FIFO); rejects with QUEUE_FULL when too many wait, or on abort. */
  acquire(signal?: AbortSignal): Promise<Buffer> {
    const now = this.tryAcquire();
    if (now) return Promise.resolve(now);
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.waiting >= this.maxWaiters) {
      return Promise.reject(new SluiceError('QUEUE_FULL', `XDT buffer pool ${this.name} is exhausted and ${this.waiting} callers already wait`, { retryAfterSeconds: 1 }));
    }
    return new Promise<Buffer>((resolve, reject) => {
      const onAbort = (): void => {
        const index = this.waiters.indexOf(waiter, this.waitersHead);
        if (index >= 0) this.waiters[index] = undefined;
        reject(signal?.reason);
      };
      const waiter: Waiter = { resolve, reject, cleanup: () => signal?.removeEventListener('abort', onAbort) };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /** Returns a buffer; it goes straight to the longest waiter, if any. */
  release(buffer: Buffer): void {
    if (!this.owned.has(buffer)) throw new Error(`buffer pool ${this.name}: release of a buffer that is not from this pool`);
    if (!this.inUse.delete(buffer)) throw new Error(`buffer pool ${this.name}: buffer released twice`);
    const waiter = this.nextWaiter();
    if (waiter) {
      this.inUse.add(buffer);
      waiter.cleanup();
      waiter.resolve(buffer);
      return;
    }
    this.free.push(buffer);
  }

  private nextWaiter(): Waiter | undefined {
    while (this.waitersHead < this.waiters.length) {
      const waiter = this.waiters[this.waitersHead];
      this.waiters[this.waitersHead++] = undefined;
      if (waiter) {
        this.compact();
        return waiter;
      }
    }
    this.compact();
    return undefined;
  }

  /** Drops consumed slots once they are half the array, so the waiter list stays bounded. */
  private compact(): void {
    if (this.waitersHead > 32 && this.waitersHead * 2 >= this.waiters.length) {
      this.waiters.splice(0, this.waitersHead);
      this.waitersHead = 0;
    }
  }
}
