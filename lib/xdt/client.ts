// Client side of the XDT data plane (lib/xdt/wire.ts): the SDK talks to its own queue-proxy (Unix socket or TCP),
// and a consumer's queue-proxy pulls from a producer's. One HTTP/2 session per peer, kept alive and multiplexed.
import http2, { type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import net from 'node:net';
import { SluiceError, isSluiceError } from '../errors.js';
import {
  CHUNK_DATA_TAG,
  GET_PATH,
  H2_SETTINGS,
  MAX_SESSION_MEMORY_MB,
  PULL_PATH,
  PUT_DATA_TAG,
  PUT_PATH,
  SESSION_WINDOW_BYTES,
  dataPrefix,
  decodeMessage,
  drained,
  encodeMessage,
  errorFromStatus,
  readMessages,
  streamChunks,
  type ChunkControl,
  type ChunkMeta,
  type GetRequest,
  type PullRequest,
  type PutHeader,
  type PutResponse,
} from './wire.js';

/** Where a data plane listens: a Unix socket (the SDK's own queue-proxy) or host:port. */
export type XdtTarget = { socketPath: string } | { address: string };

export interface XdtClientOptions {
  /** How long to wait for a peer's first answer before the object counts as gone. */
  responseTimeoutMs: number;
}

export const DEFAULT_XDT_CLIENT_OPTIONS: XdtClientOptions = { responseTimeoutMs: 1_000 };

/** An object arriving: its size and type (once known), and its bytes. */
export interface IncomingObject {
  meta: Promise<ChunkMeta>;
  /** The bytes as they arrive; iterate once. Throws SluiceError (XDT_OBJECT_GONE, XDT_REF_*, …). */
  body: AsyncIterable<Buffer>;
  cancel(): void;
}

/** What a pull stream carries: the object's bytes, and Chunks with control fields. */
export type IncomingEvent = { kind: 'data'; bytes: Buffer } | { kind: 'control'; control: ChunkControl };

/** An object arriving as events (see XdtClient.pullEvents). */
export interface IncomingEvents {
  meta: Promise<ChunkMeta>;
  events: AsyncIterable<IncomingEvent>;
  cancel(): void;
}

/** The bytes of an event stream (control Chunks dropped). */
function dataOnly(incoming: IncomingEvents): IncomingObject {
  const body = async function* (): AsyncGenerator<Buffer> {
    for await (const event of incoming.events) if (event.kind === 'data') yield event.bytes;
  };
  return { meta: incoming.meta, body: body(), cancel: incoming.cancel };
}

export interface PutCall {
  /** Resolves with the sealed reference as soon as the queue-proxy has accepted the header (cut-through). */
  reference: Promise<string>;
  /** Resolves with the size once the queue-proxy holds the whole object. */
  complete: Promise<number>;
  cancel(): void;
}

/** Maximum bytes per Put data message: views of the caller's buffers, never copied. */
const PUT_MESSAGE_BYTES = 2 ** 20;

/** A promise settled from outside; unhandled rejections are the caller's to observe (or not). */
function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (err: unknown) => void } {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/**
 * A call's gRPC status, from trailers-only response headers or from the trailers. `seen` stays false when the
 * stream ended without one (the peer went away); `onError` hears a failure status as soon as it arrives.
 */
class CallStatus {
  seen = false;
  error: SluiceError | undefined;

  constructor(
    stream: ClientHttp2Stream,
    private readonly peer: string,
    private readonly onError?: (err: SluiceError) => void,
  ) {
    stream.once('response', this.take);
    stream.once('trailers', this.take);
  }

  private readonly take = (headers: http2.IncomingHttpHeaders): void => {
    if (headers['grpc-status'] === undefined) return;
    this.seen = true;
    this.error = errorFromStatus(headers, this.peer);
    if (this.error) this.onError?.(this.error);
  };
}

function targetName(target: XdtTarget): string {
  return 'socketPath' in target ? `unix:${target.socketPath}` : target.address;
}

function gone(peer: string, err: unknown): SluiceError {
  if (isSluiceError(err)) return err;
  return new SluiceError('XDT_OBJECT_GONE', `XDT peer ${peer} is gone: ${(err as Error)?.message ?? String(err)}`);
}

export class XdtClient {
  private readonly sessions = new Map<string, ClientHttp2Session>();
  private closed = false;

  constructor(private readonly options: XdtClientOptions = DEFAULT_XDT_CLIENT_OPTIONS) {}

  private session(target: XdtTarget): ClientHttp2Session {
    if (this.closed) throw new SluiceError('SHUTTING_DOWN', 'the XDT client is closed');
    const key = targetName(target);
    let session = this.sessions.get(key);
    if (session && !session.closed && !session.destroyed) return session;
    const authority = 'socketPath' in target ? 'http://localhost' : `http://${target.address}`;
    const created = http2.connect(authority, {
      settings: H2_SETTINGS,
      maxSessionMemory: MAX_SESSION_MEMORY_MB,
      ...('socketPath' in target ? { createConnection: () => net.connect(target.socketPath) } : {}),
    });
    created.on('error', () => undefined); // surfaced on the streams
    created.once('connect', () => created.setLocalWindowSize(SESSION_WINDOW_BYTES));
    const forget = (): void => {
      if (this.sessions.get(key) === created) this.sessions.delete(key);
    };
    created.once('close', forget);
    created.once('goaway', forget);
    created.unref();
    this.sessions.set(key, created);
    session = created;
    return session;
  }

  private request(target: XdtTarget, path: string): ClientHttp2Stream {
    return this.session(target).request(
      { ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' },
      { endStream: false },
    );
  }

  /** Consumer queue-proxy → producer queue-proxy. */
  pull(target: XdtTarget, request: PullRequest): IncomingObject {
    return dataOnly(this.receive(target, PULL_PATH, encodeMessage('PullRequest', request)));
  }

  /** A pull whose events include the Chunks that carry control fields (the shared-memory fast path's progress, the producer's wait), in order with the data. */
  pullEvents(target: XdtTarget, request: PullRequest): IncomingEvents {
    return this.receive(target, PULL_PATH, encodeMessage('PullRequest', request));
  }

  /** SDK ← its own queue-proxy. */
  get(target: XdtTarget, request: GetRequest): IncomingObject {
    return dataOnly(this.receive(target, GET_PATH, encodeMessage('GetRequest', request)));
  }

  private receive(target: XdtTarget, path: string, message: Buffer): IncomingEvents {
    const peer = targetName(target);
    const { promise: meta, resolve: resolveMeta, reject: rejectMeta } = deferred<ChunkMeta>();
    let stream: ClientHttp2Stream;
    try {
      stream = this.request(target, path);
    } catch (err) {
      const failure = gone(peer, err);
      rejectMeta(failure);
      // eslint-disable-next-line require-yield
      const failed = async function* (): AsyncGenerator<IncomingEvent> {
        throw failure;
      };
      return { meta, events: failed(), cancel: () => undefined };
    }
    const s = stream;
    s.on('error', () => undefined); // surfaced by the iteration
    // Listeners go on now: the caller may start iterating later (a consumer waiting for its function).
    const status = new CallStatus(s, peer, rejectMeta);
    const timeoutMs = this.options.responseTimeoutMs;
    const timer = setTimeout(() => {
      s.destroy(new SluiceError('XDT_OBJECT_GONE', `XDT peer ${peer} did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    s.once('response', () => clearTimeout(timer));
    s.once('close', () => clearTimeout(timer));
    s.end(message);

    let metaSent = false;
    const sendMeta = (m: ChunkMeta): void => {
      if (!metaSent) {
        metaSent = true;
        resolveMeta(m);
      }
    };
    const events = async function* (): AsyncGenerator<IncomingEvent> {
      try {
        for await (const event of readMessages(streamChunks(s), CHUNK_DATA_TAG)) {
          if (event.kind === 'data') {
            sendMeta({ total_size: -1, content_type: '' });
            yield event;
            continue;
          }
          const chunk = decodeMessage<ChunkMeta & ChunkControl & { data: Buffer }>('Chunk', event.bytes);
          sendMeta({ total_size: chunk.total_size, content_type: chunk.content_type });
          if (chunk.shm || chunk.shm_written > 0 || chunk.source_wait_ms > 0) yield { kind: 'control', control: chunk };
          if (chunk.data.length > 0) yield { kind: 'data', bytes: chunk.data };
        }
      } catch (err) {
        const error = status.error ?? gone(peer, (s.destroyed && (s as { errored?: unknown }).errored) || err);
        rejectMeta(error);
        throw error;
      } finally {
        clearTimeout(timer);
        if (!s.closed) s.close(http2.constants.NGHTTP2_CANCEL);
      }
      const error = status.seen ? status.error : new SluiceError('XDT_OBJECT_GONE', `XDT peer ${peer} ended the stream without a status`);
      if (error) {
        rejectMeta(error);
        throw error;
      }
      sendMeta({ total_size: 0, content_type: '' });
    };
    return {
      meta,
      events: events(),
      cancel: () => {
        if (!s.closed) s.close(http2.constants.NGHTTP2_CANCEL);
      },
    };
  }

  /** SDK → its own queue-proxy: uploads `source` and learns the reference as soon as the header is accepted. */
  put(target: XdtTarget, header: PutHeader, source: Buffer | AsyncIterable<Uint8Array>): PutCall {
    const peer = targetName(target);
    let stream: ClientHttp2Stream;
    try {
      stream = this.request(target, PUT_PATH);
    } catch (err) {
      const failed = Promise.reject(gone(peer, err));
      failed.catch(() => undefined);
      return { reference: failed, complete: failed, cancel: () => undefined };
    }
    stream.on('error', () => undefined); // surfaced by the answer loop
    let uploadError: unknown;
    const upload = async (): Promise<void> => {
      stream.write(encodeMessage('PutMessage', { header }));
      const write = async (bytes: Uint8Array): Promise<void> => {
        for (let offset = 0; offset < bytes.length; offset += PUT_MESSAGE_BYTES) {
          const view = bytes.subarray(offset, offset + PUT_MESSAGE_BYTES);
          stream.cork();
          stream.write(dataPrefix(PUT_DATA_TAG, view.length));
          const more = stream.write(view);
          stream.uncork();
          if (!more) await drained(stream);
          if (stream.destroyed) throw new SluiceError('XDT_OBJECT_GONE', `XDT upload to ${peer} was cut off`);
        }
      };
      if (Buffer.isBuffer(source)) await write(source);
      else for await (const chunk of source) await write(chunk);
      stream.end();
    };
    const uploaded = upload().catch((err: unknown) => {
      uploadError = err;
      if (!stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
    });

    const { promise: reference, resolve: resolveRef, reject: rejectRef } = deferred<string>();
    const status = new CallStatus(stream, peer);
    const complete = (async (): Promise<number> => {
      let failure: SluiceError | undefined;
      let size = -1;
      try {
        for await (const event of readMessages(streamChunks(stream), 0)) {
          const answer = decodeMessage<PutResponse>('PutResponse', event.bytes);
          if (answer.reference) resolveRef(answer.reference);
          if (answer.complete) size = answer.size_bytes;
        }
      } catch (err) {
        failure = status.error ?? gone(peer, err);
      }
      await uploaded;
      failure ??= status.error;
      if (!failure && uploadError) failure = gone(peer, uploadError);
      if (!failure && !status.seen) failure = new SluiceError('XDT_OBJECT_GONE', `XDT queue-proxy ${peer} ended the upload without a status`);
      if (!failure && size < 0) failure = new SluiceError('INTERNAL', `XDT queue-proxy ${peer} did not confirm the upload`);
      if (failure) {
        rejectRef(failure);
        throw failure;
      }
      return size;
    })();
    complete.catch(() => undefined);
    return {
      reference,
      complete,
      cancel: () => {
        if (!stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
      },
    };
  }

  close(): void {
    this.closed = true;
    for (const session of this.sessions.values()) session.close();
    this.sessions.clear();
  }
}
