// Consumer side of an XDT invoke: a request carrying a reference gets its object pulled from the producer's
// queue-proxy as soon as it arrives (overlapping a cold start), read ahead within a bounded budget, and handed to
// the function as the request body.
import { Readable } from 'node:stream';
import { SluiceError } from '../../lib/errors.js';
import type { IncomingObject } from '../../lib/xdt/client.js';
import type { XdtMetrics } from './metrics.js';
import { performance } from 'node:perf_hooks';
import { XDT_REF_HEADER } from '../../lib/xdt/reference.js';
export { XDT_REF_HEADER };


export interface ReadAhead {
  body: AsyncGenerator<Buffer>;
  /** The failure that ended the transfer, if any (the forward then answers with it). */
  readonly error: SluiceError | undefined;
}

/**
 * Reads `source` up to `budgetBytes` ahead of whoever consumes `body` — the received buffers are kept
 * as they are (no copy), so memory stays within the budget. With `whole` (store-and-forward) nothing is
 * handed on before the source ended, and an object larger than the budget fails with XDT_OBJECT_TOO_LARGE.
 */
export function readAhead(source: AsyncIterable<Buffer>, budgetBytes: number, whole = false, onBytes?: (n: number) => void): ReadAhead {
  const it = source[Symbol.asyncIterator]();
  const queue: Buffer[] = [];
  let buffered = 0;
  let ended = false;
  let error: SluiceError | undefined;
  let wakeConsumer: (() => void) | undefined;
  let wakePump: (() => void) | undefined;
  let stopped = false;

  const notify = (): void => {
    const w = wakeConsumer;
    wakeConsumer = undefined;
    w?.();
  };

  const pump = async (): Promise<void> => {
    try {
      while (!stopped) {
        if (buffered >= budgetBytes) {
          if (whole) throw new SluiceError('XDT_OBJECT_TOO_LARGE', `XDT object exceeds ${budgetBytes} bytes, the inbound budget of store-and-forward mode`);
          await new Promise<void>((resolve) => (wakePump = resolve));
          continue;
        }
        const next = await it.next();
        if (next.done) break;
        queue.push(next.value);
        buffered += next.value.length;
        onBytes?.(next.value.length);
        if (!whole) notify();
      }
      ended = true;
    } catch (err) {
      error = err instanceof SluiceError ? err : new SluiceError('XDT_OBJECT_GONE', `XDT transfer failed: ${(err as Error)?.message ?? String(err)}`);
    } finally {
      notify();
    }
  };
  const pumping = pump();

  const body = (async function* (): AsyncGenerator<Buffer> {
    try {
      if (whole) await pumping;
      for (;;) {
        if (queue.length > 0) {
          const next = queue.shift()!;
          buffered -= next.length;
          const w = wakePump;
          wakePump = undefined;
          w?.();
          yield next;
          continue;
        }
        if (error) throw error;
        if (ended) return;
        await new Promise<void>((resolve) => (wakeConsumer = resolve));
      }
    } finally {
      if (!ended) {
        stopped = true;
        wakePump?.();
        await it.return?.(undefined);
      }
    }
  })();

  return {
    body,
    get error() {
      return error;
    },
  };
}

export interface InboundObject {
  /** The object as a request body for the function. */
  body: Readable;
  /** Headers to set on the forwarded request (content-length when known, content-type of the object). */
  headers(): Promise<Record<string, string>>;
  readonly error: SluiceError | undefined;
  cancel(): void;
}

/** Writes to the function of at least this size: HTTP/2 hands data on in pieces of whatever the socket read. */
const COALESCE_BYTES = 256 * 1024;

/** Joins runs of small buffers into ones of at least `min` bytes (one copy, cheaper than many small socket writes). */
export async function* coalesce(source: AsyncIterable<Buffer>, min: number): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let n = 0;
  for await (const part of source) {
    if (n === 0 && part.length >= min) {
      yield part;
      continue;
    }
    parts.push(part);
    n += part.length;
    if (n >= min) {
      yield parts.length === 1 ? parts[0] : Buffer.concat(parts, n);
      parts = [];
      n = 0;
    }
  }
  if (n > 0) yield parts.length === 1 ? parts[0] : Buffer.concat(parts, n);
}

export interface InboundOptions {
  budgetBytes: number;
  /** Store-and-forward: the whole object arrives before the function gets a byte. */
  whole: boolean;
  metrics?: XdtMetrics;
}

export function inboundObject(incoming: IncomingObject, options: InboundOptions): InboundObject {
  const { metrics } = options;
  const startedAt = performance.now();
  metrics?.transferStarted('inbound');
  const ahead = readAhead(incoming.body, options.budgetBytes, options.whole, metrics && ((n) => metrics.bytes('received', n)));
  const body = Readable.from(coalesce(ahead.body, COALESCE_BYTES), { objectMode: false, highWaterMark: 64 * 1024 });
  body.on('error', () => undefined); // the forward reports it through `error`
  body.once('close', () => {
    if (ahead.error) metrics?.refused(ahead.error.code);
    metrics?.transferEnded('inbound', (performance.now() - startedAt) / 1000, ahead.error || !body.readableEnded ? 'error' : 'ok');
  });
  return {
    body,
    async headers() {
      const meta = await incoming.meta.catch((err: unknown) => {
        throw ahead.error ?? err;
      });
      const out: Record<string, string> = {};
      if (meta.total_size >= 0) out['content-length'] = String(meta.total_size);
      if (meta.content_type) out['content-type'] = meta.content_type;
      return out;
    },
    get error() {
      return ahead.error;
    },
    cancel() {
      incoming.cancel();
      body.destroy();
    },
  };
}
