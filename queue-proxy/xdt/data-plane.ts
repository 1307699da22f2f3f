// The queue-proxy's XDT data plane (protos/xdt.proto over node:http2, see lib/xdt/wire.ts): Put and Get for the
// local SDK (Unix socket), Pull for peer queue-proxies (TCP). Objects live in pre-allocated pools (object-store.ts).
import http2, { type ServerHttp2Stream } from 'node:http2';
import { rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { SluiceError, isSluiceError } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import { XdtClient, type IncomingObject } from '../../lib/xdt/client.js';
import { createSegment, discardSegment, openSegment, unlinkSegment, segmentBytes, segmentless, useShm, type PullProgress, type ShmOptions } from './shm.js';
import type { ReferenceCodec, ObjectReference } from '../../lib/xdt/reference.js';
import {
  CHUNK_DATA_TAG,
  GET_PATH,
  H2_SETTINGS,
  MAX_SESSION_MEMORY_MB,
  OK_TRAILERS,
  PULL_PATH,
  PUT_DATA_TAG,
  PUT_PATH,
  SESSION_WINDOW_BYTES,
  dataPrefix,
  decodeMessage,
  drained,
  encodeMessage,
  readMessages,
  streamChunks,
  statusTrailers,
  type ChunkMeta,
  type GetRequest,
  type PullRequest,
  type PutHeader,
} from '../../lib/xdt/wire.js';
import { BufferPool } from './buffer-pool.js';
import { ObjectStore } from './object-store.js';
import type { XdtMetrics } from './metrics.js';

export interface PoolSize {
  count: number;
  sizeBytes: number;
}

/** cut-through: bytes move on as they arrive; store-and-forward: each hop holds the whole object first (for comparison). */
export type XdtMode = 'cut-through' | 'store-and-forward';

export interface XdtDataPlaneOptions {
  host: string;
  /** Peer port (Pull); 0 = any free port. */
  port: number;
  /** Unix socket for the local SDK (Put, Get); "" = TCP on host:localPort. */
  socketPath: string;
  /** TCP port of the local API when there is no socket; 0 = any free port. */
  localPort: number;
  /** This instance's namespace: objects it puts are bound to it, and it reads only references of it. */
  namespace: string;
  /** This instance's function (sealed into references, so consumers can report the flow). */
  function: string;
  node: string;
  codec: ReferenceCodec;
  /** Outbound buffers for invoke (one retrieval; released as sent). */
  invokePool: PoolSize;
  /** Buffers for put/get objects (N retrievals or TTL). */
  putPool: PoolSize;
  /** Bytes per pulled chunk. */
  chunkBytes: number;
  defaultTtlMs: number;
  /** TTL of invoke objects (one retrieval, expected at once). */
  invokeTtlMs?: number;
  /** How long a pull waits for the producer's first answer before the object counts as gone. */
  pullTimeoutMs: number;
  mode: XdtMode;
  /** Same-node fast path through the node's shared-memory directory; absent = every pull over TCP. */
  shm?: ShmOptions;
  /** Hears every pull of a remote or own object that finished (the flow profile). */
  onTransfer?: (transfer: TransferRecord) => void;
  logger: Logger;
  metrics?: XdtMetrics;
}

/** How a consumer got one object: the flow profile's sample. */
export interface TransferRecord {
  producerFunction: string;
  producerNode: string;
  /** local: this very queue-proxy's store; shm: a segment on this node; tcp: over the network. */
  path: 'local' | 'shm' | 'tcp';
  bytes: number;
  /** Wall time of the pull, from asking to the last byte. */
  seconds: number;
  /** Of which the producer waited for its own function's bytes (cut-through). */
  sourceWaitSeconds: number;
}

/** Bytes the producer writes into a segment before announcing them (cut-through granularity of the fast path). */
const SHM_EXTENT_BYTES = 2 ** 20;

export const DEFAULT_XDT_POOLS = {
  invokePool: { count: 32, sizeBytes: 2 ** 20 },
  putPool: { count: 40, sizeBytes: 5 * 2 ** 20 },
  chunkBytes: 64 * 1024,
} as const;

export interface XdtDataPlane {
  /** host:port peers pull from (sealed into references). */
  address: string;
  port: number;
  /** Where the local SDK connects: a socket path, or host:port. */
  localTarget: { socketPath: string } | { address: string };
  invokePool: BufferPool;
  putPool: BufferPool;
  invokeStore: ObjectStore;
  putStore: ObjectStore;
  /** Opens a reference for this instance and starts pulling it (consumer side of invoke). */
  pull(reference: string): IncomingObject & { reference: ObjectReference };
  /** Objects still held here (a draining producer waits for them). */
  readonly heldObjects: number;
  /** Resolves when no object is held, or the signal aborts. */
  whenEmpty(signal?: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

/** Writes of pool memory still queued in HTTP/2 streams: a buffer goes back to the pool only once they have left. */
class WriteTracker {
  private pending = 0;
  private waiters: Array<() => void> = [];
  readonly done = (): void => {
    if (--this.pending === 0) {
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) w();
    }
  };
  add(): void {
    this.pending++;
  }
  readonly flushed = (): Promise<void> => (this.pending === 0 ? Promise.resolve() : new Promise((resolve) => this.waiters.push(resolve)));
}

function respondOk(stream: ServerHttp2Stream): void {
  stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
}

/** Ends a call with `err`: trailers-only when nothing was sent yet, error trailers otherwise. */
function fail(stream: ServerHttp2Stream, err: unknown, trailers: { value: http2.OutgoingHttpHeaders }): void {
  if (stream.destroyed || stream.closed) return;
  if (!stream.headersSent) {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc', ...statusTrailers(err) }, { endStream: true });
    return;
  }
  trailers.value = statusTrailers(err);
  if (!stream.writableEnded) stream.end();
}

/** The single request message of a call whose client half-closes after it (Pull, Get). */
async function onlyMessage(stream: ServerHttp2Stream): Promise<Buffer> {
  let message: Buffer | undefined;
  for await (const event of readMessages(streamChunks(stream), 0)) if (event.kind === 'message') message ??= event.bytes;
  if (!message) throw new SluiceError('BAD_REQUEST', 'the call must carry its request message');
  return message;
}

async function firstMessage(events: AsyncIterator<{ kind: string; bytes: Buffer }>): Promise<Buffer> {
  const first = await events.next();
  if (first.done || first.value.kind !== 'message') throw new SluiceError('BAD_REQUEST', 'the call must start with its request message');
  return first.value.bytes;
}

export async function startXdtDataPlane(options: XdtDataPlaneOptions): Promise<XdtDataPlane> {
  const { codec, logger, metrics } = options;
  const invokePool = new BufferPool({ name: 'invoke', count: options.invokePool.count, size: options.invokePool.sizeBytes, maxWaiters: 1024 });
  const putPool = new BufferPool({ name: 'put', count: options.putPool.count, size: options.putPool.sizeBytes, maxWaiters: 1024 });
  const stores = { i: new ObjectStore(invokePool), p: new ObjectStore(putPool) };
  const pools = { i: invokePool, p: putPool };
  const peers = new XdtClient({ responseTimeoutMs: options.pullTimeoutMs });
  const storeAndForward = options.mode === 'store-and-forward';
  let address = '';

  const storeOf = (key: string): { store: ObjectStore; key: string } => {
    const store = stores[key.slice(0, 1) as 'i' | 'p'];
    if (!store || key[1] !== ':') throw new SluiceError('XDT_OBJECT_GONE', `XDT object ${key} is unknown`);
    return { store, key: key.slice(2) };
  };

  const refused = (err: unknown): void => {
    if (isSluiceError(err)) metrics?.refused(err.code);
  };

  /** Sends one view of pool memory as Chunk data messages, honouring flow control; the tracker knows when the bytes have left. */
  const sendData = async (stream: ServerHttp2Stream, view: Buffer, tracker: WriteTracker): Promise<void> => {
    for (let offset = 0; offset < view.length; offset += options.chunkBytes) {
      if (stream.destroyed) throw new SluiceError('XDT_OBJECT_GONE', 'the consumer left');
      const chunk = view.subarray(offset, offset + options.chunkBytes);
      // One writev (one DATA frame) for the message prefix and its bytes.
      stream.cork();
      stream.write(dataPrefix(CHUNK_DATA_TAG, chunk.length));
      tracker.add();
      const more = stream.write(chunk, tracker.done);
      stream.uncork();
      metrics?.bytes('sent', chunk.length);
      if (!more) await drained(stream);
    }
  };

  /** Streams a held object as Chunk messages: metadata first, then views of pool memory; last, the producer's wait. */
  const sendObject = async (stream: ServerHttp2Stream, objectKey: string): Promise<void> => {
    const { store, key } = storeOf(objectKey);
    const described = store.describe(key);
    const tracker = new WriteTracker();
    let started = false;
    let waitedMs = 0;
    const sourceWaited = (ms: number): void => void (waitedMs += ms);
    for await (const view of store.read(key, { flushed: tracker.flushed, minBytes: options.chunkBytes, sourceWaited })) {
      if (!started) {
        started = true;
        respondOk(stream);
        stream.write(encodeMessage('Chunk', { total_size: described?.sizeBytes ?? -1, content_type: described?.contentType ?? '' }));
      }
      await sendData(stream, view, tracker);
    }
    if (!started) {
      respondOk(stream);
      stream.write(encodeMessage('Chunk', { total_size: 0, content_type: described?.contentType ?? '' }));
    }
    if (waitedMs > 0) stream.write(encodeMessage('Chunk', { source_wait_ms: waitedMs }));
  };

  let shmInFlightBytes = 0;
  /**
   * Same-node fast path, producer side: writes the object into the consumer's segment file and announces each
   * extent. Bytes beyond the per-object limit or this producer's budget (an object of unknown size may turn out
   * large) go on as data on the same stream, after the extents: the consumer takes them in order. False (nothing
   * sent yet) when the segment cannot be used at all: the caller streams instead.
   */
  const sendToSegment = async (stream: ServerHttp2Stream, objectKey: string, segment: string, shm: ShmOptions): Promise<boolean> => {
    const { store, key } = storeOf(objectKey);
    const described = store.describe(key);
    if (!described) return false;
    if (!useShm({ requested: true, sizeBytes: described.sizeBytes, inFlightBytes: shmInFlightBytes, maxObjectBytes: shm.maxObjectBytes, budgetBytes: shm.budgetBytes })) return false;
    const handle = await openSegment(shm.dir, segment);
    if (!handle) return false;
    let reserved = 0;
    let waitedMs = 0;
    const sourceWaited = (ms: number): void => void (waitedMs += ms);
    const tracker = new WriteTracker();
    try {
      respondOk(stream);
      stream.write(encodeMessage('Chunk', { total_size: described.sizeBytes, content_type: described.contentType, shm: true }));
      let written = 0;
      let overflow = false;
      for await (const view of store.read(key, { flushed: tracker.flushed, minBytes: SHM_EXTENT_BYTES, sourceWaited })) {
        overflow ||= written + view.length > shm.maxObjectBytes || shmInFlightBytes + view.length > shm.budgetBytes;
        if (overflow) {
          await sendData(stream, view, tracker);
          continue;
        }
        shmInFlightBytes += view.length;
        reserved += view.length;
        // The view is valid until the next iteration: the write completes before it.
        for (let offset = 0; offset < view.length; ) {
          const { bytesWritten } = await handle.write(view, offset, view.length - offset, written + offset);
          offset += bytesWritten;
        }
        written += view.length;
        metrics?.bytes('sent', view.length);
        if (stream.destroyed) throw new SluiceError('XDT_OBJECT_GONE', 'the consumer left');
        if (!stream.write(encodeMessage('Chunk', { shm_written: written }))) await drained(stream);
      }
      if (waitedMs > 0) stream.write(encodeMessage('Chunk', { source_wait_ms: waitedMs }));
      return true;
    } finally {
      shmInFlightBytes -= reserved;
      await handle.close().catch(() => undefined);
      // The consumer unlinks it once it sees {shm: true}; a consumer that died before that cannot, and the
      // name is not needed any more either way (a consumer still reading holds the file open).
      await unlinkSegment(shm.dir, segment);
    }
  };

  /** Runs one call: metrics, and the error answer if it fails. */
  const serve = (stream: ServerHttp2Stream, op: 'put' | 'pull' | 'get', run: (trailers: { value: http2.OutgoingHttpHeaders }) => Promise<void>): void => {
    const startedAt = performance.now();
    const trailers = { value: OK_TRAILERS };
    stream.on('error', () => undefined); // a consumer that leaves resets its stream
    stream.on('wantTrailers', () => stream.sendTrailers(trailers.value));
    metrics?.transferStarted(op);
    run(trailers).then(
      () => {
        metrics?.transferEnded(op, (performance.now() - startedAt) / 1000, 'ok');
        if (!stream.writableEnded && !stream.destroyed) stream.end();
      },
      (err: unknown) => {
        refused(err);
        metrics?.transferEnded(op, (performance.now() - startedAt) / 1000, 'error');
        if (logger.isLevelEnabled('debug')) logger.debug({ op, err: (err as Error).message }, 'XDT call failed');
        fail(stream, err, trailers);
      },
    );
  };

  const put = (stream: ServerHttp2Stream) =>
    serve(stream, 'put', async () => {
      // Kept open when the upload fails, so the caller still gets the error status (see below).
      const events = readMessages(streamChunks(stream, 16, false), PUT_DATA_TAG);
      try {
        await receivePut(stream, events);
      } catch (err) {
        // The SDK may still be uploading: stop parsing and discard the rest, or its writes would wait forever.
        await events.return(undefined).catch(() => undefined);
        stream.resume();
        throw err;
      }
    });

  const receivePut = async (stream: ServerHttp2Stream, events: AsyncGenerator<{ kind: string; bytes: Buffer }>): Promise<void> => {
    const header = decodeMessage<{ header?: PutHeader }>('PutMessage', await firstMessage(events)).header;
    if (!header) throw new SluiceError('BAD_REQUEST', 'the first Put message must be the header');
    const retrievals = header.for_invoke ? 1 : header.retrievals;
    if (!Number.isInteger(retrievals) || retrievals < 1) throw new SluiceError('BAD_REQUEST', `retrievals = ${header.retrievals}, must be ≥ 1`);
    const prefix = header.for_invoke ? 'i' : 'p';
    const store = stores[prefix];
    const pool = pools[prefix];
    // Objects read more than once, and every object in store-and-forward mode, are held whole.
    const maxBytes = retrievals > 1 || storeAndForward ? pool.count * pool.size : Infinity;
    if (header.size_bytes > maxBytes) {
      throw new SluiceError('XDT_OBJECT_TOO_LARGE', `XDT object of ${header.size_bytes} bytes exceeds ${maxBytes} bytes, all an object held whole may use in this queue-proxy's ${pool.name} pool`);
    }
    const ttlMs = header.ttl_ms > 0 ? header.ttl_ms : header.for_invoke ? (options.invokeTtlMs ?? options.defaultTtlMs) : options.defaultTtlMs;
    const key = store.create({ namespace: options.namespace, retrievals, ttlMs, contentType: header.content_type, sizeBytes: header.size_bytes });
    const reference = codec.mint({ producer: address, node: options.node, function: options.function, key: `${prefix}:${key}`, namespace: options.namespace, retrievals, expiresAtMs: Date.now() + ttlMs });
    respondOk(stream);
    if (!storeAndForward) stream.write(encodeMessage('PutResponse', { reference }));
    async function* data(): AsyncGenerator<Buffer> {
      for (;;) {
        const next = await events.next();
        if (next.done) return;
        if (next.value.kind === 'data') {
          metrics?.bytes('received', next.value.bytes.length);
          yield next.value.bytes;
        }
      }
    }
    const size = await store.fill(key, data(), { maxBytes });
    if (storeAndForward) stream.write(encodeMessage('PutResponse', { reference }));
    stream.write(encodeMessage('PutResponse', { complete: true, size_bytes: size }));
  };

  const pullHandler = (stream: ServerHttp2Stream) =>
    serve(stream, 'pull', async () => {
      const request = decodeMessage<PullRequest>('PullRequest', await onlyMessage(stream));
      const ref = codec.open(request.reference, request.namespace, Date.now());
      if (ref.producer !== address) throw new SluiceError('XDT_OBJECT_GONE', `XDT object ${ref.key} is not held here`);
      if (request.shm_segment && options.shm && (await sendToSegment(stream, ref.key, request.shm_segment, options.shm))) return;
      await sendObject(stream, ref.key);
    });

  /** Same-node fast path, consumer side: a segment for the producer to write into; TCP when none can be made. */
  const pullThroughSegment = (ref: ObjectReference, reference: string, shm: ShmOptions, progress: PullProgress): IncomingObject => {
    const target = { address: ref.producer };
    let cancelled = false;
    let inner: { cancel(): void } | undefined;
    let resolveMeta!: (meta: Promise<ChunkMeta>) => void;
    const meta = new Promise<ChunkMeta>((resolve) => (resolveMeta = resolve));
    meta.catch(() => undefined);
    const body = (async function* () {
      // Made when the pull starts (inbound pulls start at once), so a pull never started leaves no file.
      const created = await createSegment(shm.dir).catch((err: unknown) => {
        logger.warn({ dir: shm.dir, err: (err as Error).message }, 'XDT shared-memory segment cannot be created: pulling over TCP');
        return undefined;
      });
      if (cancelled) {
        if (created) await discardSegment(created);
        throw new SluiceError('XDT_OBJECT_GONE', 'the pull was cancelled');
      }
      const incoming = created
        ? peers.pullEvents(target, { reference, namespace: options.namespace, shm_segment: created.name })
        : peers.pullEvents(target, { reference, namespace: options.namespace });
      inner = incoming;
      resolveMeta(incoming.meta);
      yield* created ? segmentBytes(incoming.events, created, progress) : segmentless(incoming.events, progress);
    })();
    return {
      meta,
      body,
      cancel: () => {
        cancelled = true;
        inner?.cancel();
      },
    };
  };

  /** Wraps a pull's body to report the transfer once it finished whole. */
  const recorded = (incoming: IncomingObject, ref: ObjectReference, path: () => TransferRecord['path'], progress: PullProgress): IncomingObject => {
    const onTransfer = options.onTransfer;
    if (!onTransfer) return incoming;
    const startedAt = performance.now();
    const body = (async function* () {
      let bytes = 0;
      for await (const part of incoming.body) {
        bytes += part.length;
        yield part;
      }
      onTransfer({
        producerFunction: ref.function,
        producerNode: ref.node,
        path: path(),
        bytes,
        seconds: (performance.now() - startedAt) / 1000,
        sourceWaitSeconds: progress.sourceWaitMs / 1000,
      });
    })();
    return { meta: incoming.meta, body, cancel: incoming.cancel };
  };

  const pull = (reference: string): IncomingObject & { reference: ObjectReference } => {
    const ref = codec.open(reference, options.namespace, Date.now());
    const progress: PullProgress = { shm: false, sourceWaitMs: 0 };
    if (ref.producer === address) {
      // Same instance: read the local store, no network hop.
      const { store, key } = storeOf(ref.key);
      const described = store.describe(key);
      if (!described) throw new SluiceError('XDT_OBJECT_GONE', `XDT object ${ref.key} is gone: unknown, expired or already retrieved`);
      const sourceWaited = (ms: number): void => void (progress.sourceWaitMs += ms);
      const body = (async function* () {
        // Copies: these bytes leave through sockets we do not track, and the pool buffer may be reused.
        for await (const view of store.read(key, { sourceWaited })) yield Buffer.from(view);
      })();
      const local = { meta: Promise.resolve({ total_size: described.sizeBytes, content_type: described.contentType }), body, cancel: () => void body.return(undefined) };
      return { reference: ref, ...recorded(local, ref, () => 'local', progress) };
    }
    if (options.shm && ref.node === options.node) {
      return { reference: ref, ...recorded(pullThroughSegment(ref, reference, options.shm, progress), ref, () => (progress.shm ? 'shm' : 'tcp'), progress) };
    }
    const incoming = peers.pullEvents({ address: ref.producer }, { reference, namespace: options.namespace });
    const body = segmentless(incoming.events, progress);
    return { reference: ref, ...recorded({ meta: incoming.meta, body, cancel: incoming.cancel }, ref, () => 'tcp', progress) };
  };

  const get = (stream: ServerHttp2Stream) =>
    serve(stream, 'get', async () => {
      const request = decodeMessage<GetRequest>('GetRequest', await onlyMessage(stream));
      const ref = codec.open(request.reference, options.namespace, Date.now());
      if (ref.producer === address) {
        await sendObject(stream, ref.key);
        return;
      }
      const incoming = pull(request.reference);
      stream.once('close', incoming.cancel);
      let started = false;
      const start = async (): Promise<void> => {
        if (started) return;
        started = true;
        const meta = await incoming.meta;
        respondOk(stream);
        stream.write(encodeMessage('Chunk', meta));
      };
      for await (const bytes of incoming.body) {
        await start();
        metrics?.bytes('received', bytes.length);
        stream.cork();
        stream.write(dataPrefix(CHUNK_DATA_TAG, bytes.length));
        const more = stream.write(bytes);
        stream.uncork();
        if (!more) await drained(stream);
      }
      await start();
    });

  const routes: Record<string, (stream: ServerHttp2Stream) => void> = { [PULL_PATH]: pullHandler };
  const localRoutes: Record<string, (stream: ServerHttp2Stream) => void> = { [PUT_PATH]: put, [GET_PATH]: get };
  const route = (table: Record<string, (stream: ServerHttp2Stream) => void>) => (stream: ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => {
    const handler = table[String(headers[':path'])];
    if (!handler) {
      stream.on('error', () => undefined);
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '12', 'grpc-message': encodeURIComponent(`${headers[':path']} is not served here`) }, { endStream: true });
      return;
    }
    handler(stream);
  };

  const sessions = new Set<http2.ServerHttp2Session>();
  const makeServer = (table: Record<string, (stream: ServerHttp2Stream) => void>): http2.Http2Server => {
    const server = http2.createServer({ settings: H2_SETTINGS, maxSessionMemory: MAX_SESSION_MEMORY_MB });
    server.on('session', (session) => {
      sessions.add(session);
      session.once('close', () => sessions.delete(session));
      session.on('error', () => undefined);
      session.setLocalWindowSize(SESSION_WINDOW_BYTES);
    });
    server.on('stream', route(table));
    return server;
  };
  const listen = (server: http2.Http2Server, where: { port: number; host: string } | { path: string }): Promise<void> =>
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(where, () => {
        server.off('error', reject);
        resolve();
      });
    });

  const peerServer = makeServer(routes);
  const localServer = makeServer(localRoutes);
  await listen(peerServer, { port: options.port, host: options.host });
  const port = (peerServer.address() as AddressInfo).port;
  address = options.host.includes(':') ? `[${options.host}]:${port}` : `${options.host}:${port}`;
  let localTarget: XdtDataPlane['localTarget'];
  try {
    if (options.socketPath !== '') {
      rmSync(options.socketPath, { force: true });
      await listen(localServer, { path: options.socketPath });
      localTarget = { socketPath: options.socketPath };
    } else {
      await listen(localServer, { port: options.localPort, host: options.host });
      localTarget = { address: `${options.host}:${(localServer.address() as AddressInfo).port}` };
    }
  } catch (err) {
    peerServer.close();
    throw err;
  }

  const expiry = setInterval(() => {
    stores.i.expire();
    stores.p.expire();
  }, 1_000);
  expiry.unref();
  metrics?.pools(invokePool, putPool);

  const closeServer = (server: http2.Http2Server): Promise<void> => new Promise((resolve) => server.close(() => resolve()));

  return {
    address,
    port,
    localTarget,
    invokePool,
    putPool,
    invokeStore: stores.i,
    putStore: stores.p,
    pull,
    get heldObjects() {
      return stores.i.size + stores.p.size;
    },
    async whenEmpty(signal?: AbortSignal) {
      await Promise.all([stores.i.whenEmpty(signal), stores.p.whenEmpty(signal)]);
    },
    async close() {
      clearInterval(expiry);
      peers.close();
      const closed = Promise.all([closeServer(peerServer), closeServer(localServer)]);
      for (const session of sessions) session.close();
      const timer = setTimeout(() => {
        for (const session of sessions) session.destroy();
      }, 1_000);
      await closed;
      clearTimeout(timer);
      stores.i.clear();
      stores.p.clear();
      if (options.socketPath !== '') rmSync(options.socketPath, { force: true });
    },
  };
}
