// The producer side of XDT: objects buffered in pool memory, read by consumers (cut-through: while still arriving), released after N retrievals or the TTL.
import { performance } from 'node:perf_hooks';
import { SluiceError } from '../../lib/errors.js';
import type { BufferPool } from './buffer-pool.js';

export interface ObjectMeta {
  namespace: string;
  /** Retrievals before the object is released (invoke: 1). */
  retrievals: number;
  ttlMs: number;
  contentType: string;
  /** Size announced by the producer, -1 (or absent) when streamed without a length. */
  sizeBytes?: number;
}

export interface ReadHooks {
  /**
   * Awaited before this reader lets go of a segment (released as sent, or the reader finishing):
   * resolves once every write of the views read so far has left, so a buffer goes back to the pool
   * only when no socket still refers to it.
   */
  flushed?: () => Promise<void>;
  /** Cut-through reads wait for this many new bytes in a segment (or its end) before yielding, so the wire carries full chunks. */
  minBytes?: number;
  /** Hears each wait for the producer's own bytes (cut-through), in ms: the part of a transfer that is not transfer. */
  sourceWaited?: (ms: number) => void;
}

export interface FillOptions {
  signal?: AbortSignal;
  /** Objects that must be held whole fail with XDT_OBJECT_TOO_LARGE beyond this many bytes. */
  maxBytes?: number;
}

interface Segment {
  buffer: Buffer;
  /** Bytes filled so far. */
  length: number;
}

/*
 * Object lifecycle:
 *
 * | state     | event                                 | next                                             |
 * |-----------|---------------------------------------|--------------------------------------------------|
 * | filling   | bytes arrive                          | filling (segments grow; waiting readers wake)    |
 * | filling   | source ends                           | complete                                         |
 * | filling   | source fails / aborted                | failed: readers get XDT_OBJECT_GONE, buffers back |
 * | any       | last retrieval finished reading       | released (buffers back to the pool)              |
 * | any       | TTL passed                            | released; later reads get XDT_OBJECT_GONE         |
 *
 * Buffers are held until the object is released; with one retrieval and a reader already
 * attached, a segment goes back to the pool as soon as that reader has sent it (invoke).
 */
class StoredObject {
  readonly segments: Array<Segment | undefined> = [];
  complete = false;
  failure: Error | undefined;
  retrievalsLeft: number;
  readersActive = 0;
  size = 0;
  private wake: Array<() => void> = [];

  constructor(
    readonly key: string,
    readonly meta: ObjectMeta,
    readonly expiresAtMs: number,
  ) {
    this.retrievalsLeft = meta.retrievals;
  }

  notify(): void {
    const wake = this.wake;
    this.wake = [];
    for (const w of wake) w();
  }

  changed(): Promise<void> {
    return new Promise((resolve) => this.wake.push(resolve));
  }
}

function gone(key: string, why: string): SluiceError {
  return new SluiceError('XDT_OBJECT_GONE', `XDT object ${key} is gone: ${why}`);
}

export class ObjectStore {
  private readonly objects = new Map<string, StoredObject>();
  private sequence = 0;

  constructor(
    private readonly pool: BufferPool,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.objects.size;
  }

  /** Size and type of an object as known now (size: the announced one, the final one, or -1). */
  describe(key: string): { sizeBytes: number; contentType: string } | undefined {
    const object = this.objects.get(key);
    if (!object) return undefined;
    return { sizeBytes: object.complete ? object.size : (object.meta.sizeBytes ?? -1), contentType: object.meta.contentType };
  }

  /** Resolves once no object is held (every one retrieved or expired). */
  async whenEmpty(signal?: AbortSignal): Promise<void> {
    while (this.objects.size > 0 && !signal?.aborted) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Registers a new object and returns its key; fill it with `fill()`. Readers may attach at once. */
  create(meta: ObjectMeta): string {
    const key = `o${(++this.sequence).toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
    this.objects.set(key, new StoredObject(key, meta, this.now() + meta.ttlMs));
    return key;
  }

  /**
   * Copies `source` into pool buffers. Waits for buffers when the pool is empty (backpressure
   * reaches the producer). On failure the object is released and readers see XDT_OBJECT_GONE.
   */
  async fill(key: string, source: AsyncIterable<Buffer>, options: FillOptions = {}): Promise<number> {
    const { signal } = options;
    const maxBytes = options.maxBytes ?? Infinity;
    const object = this.objects.get(key);
    if (!object) throw gone(key, 'unknown object');
    let current: Segment | undefined;
    try {
      for await (const chunk of source) {
        if (object.size + chunk.length > maxBytes) {
          throw new SluiceError('XDT_OBJECT_TOO_LARGE', `XDT object ${key} exceeds ${maxBytes} bytes, all an object held whole may use in this queue-proxy's pool`);
        }
        let offset = 0;
        while (offset < chunk.length) {
          if (object.failure || !this.objects.has(key)) throw gone(key, 'released while being filled');
          if (!current || current.length === current.buffer.length) {
            current = { buffer: await this.pool.acquire(signal), length: 0 };
            object.segments.push(current);
          }
          const n = chunk.copy(current.buffer, current.length, offset);
          current.length += n;
          offset += n;
          object.size += n;
          object.notify();
        }
      }
      object.complete = true;
      object.notify();
      return object.size;
    } catch (err) {
      object.failure = err as Error;
      this.release(object);
      object.notify();
      throw err;
    }
  }

  /**
   * Reads the object for one retrieval: yields views of its bytes as they arrive (cut-through).
   * Throws XDT_OBJECT_GONE when the object is unknown, expired, retrieved often enough, or failed.
   * A view is valid only until the next iteration (its buffer may go back to the pool).
   */
  async *read(key: string, hooks: ReadHooks = {}): AsyncGenerator<Buffer> {
    const object = this.objects.get(key);
    if (!object) throw gone(key, 'unknown, expired or already retrieved');
    if (this.now() > object.expiresAtMs) {
      this.release(object);
      throw gone(key, 'expired');
    }
    if (object.retrievalsLeft <= 0) throw gone(key, 'retrieved as often as it was put for');
    object.retrievalsLeft--;
    object.readersActive++;
    // Only the single reader of a one-retrieval object may give segments back while reading.
    const releaseAsSent = object.meta.retrievals === 1;
    const minBytes = hooks.minBytes ?? 1;
    try {
      let index = 0;
      let sentInSegment = 0;
      while (true) {
        if (object.failure) throw gone(key, `the producer failed: ${object.failure.message}`);
        const segment = object.segments[index];
        const segmentDone = segment !== undefined && (segment.length === segment.buffer.length || object.complete);
        if (segment && sentInSegment < segment.length && (segmentDone || segment.length - sentInSegment >= minBytes)) {
          const view = segment.buffer.subarray(sentInSegment, segment.length);
          sentInSegment = segment.length;
          yield view;
          continue;
        }
        if (segment && (segment.length === segment.buffer.length || object.complete) && sentInSegment === segment.length) {
          if (releaseAsSent) {
            if (hooks.flushed) await hooks.flushed();
            if (object.segments[index] !== segment) throw gone(key, 'released while being read');
            this.pool.release(segment.buffer);
            object.segments[index] = undefined;
          }
          index++;
          sentInSegment = 0;
          continue;
        }
        if (object.complete && index >= object.segments.length) break;
        if (hooks.sourceWaited) {
          const startedAt = performance.now();
          await object.changed();
          hooks.sourceWaited(performance.now() - startedAt);
        } else {
          await object.changed();
        }
      }
    } finally {
      if (hooks.flushed) await hooks.flushed();
      object.readersActive--;
      // The last retrieval is over, finished or not (a consumer that died mid-pull used its retrieval
      // too): nobody can read the object any more, so its buffers go back now.
      if (object.retrievalsLeft <= 0 && object.readersActive === 0) this.release(object);
    }
  }

  /** Releases objects past their TTL (call periodically). Returns how many went. */
  expire(): number {
    const now = this.now();
    let n = 0;
    for (const object of [...this.objects.values()]) {
      if (now > object.expiresAtMs && object.readersActive === 0) {
        this.release(object);
        n++;
      }
    }
    return n;
  }

  /** Gives every remaining buffer back (shutdown). */
  clear(): void {
    for (const object of [...this.objects.values()]) this.release(object);
  }

  /** Idempotent: frees whatever segments the object still holds, even if it left the map before (a filler that was waiting for a buffer). */
  private release(object: StoredObject): void {
    if (this.objects.get(object.key) === object) this.objects.delete(object.key);
    for (let i = 0; i < object.segments.length; i++) {
      const segment = object.segments[i];
      if (segment) this.pool.release(segment.buffer);
      object.segments[i] = undefined;
    }
    object.failure ??= gone(object.key, 'released');
    object.notify();
  }
}
