// The queue-proxy's XDT data plane (protos/xdt.proto): Put from the local SDK, Pull between queue-proxies, Get for the local SDK.
import { once } from 'node:events';
import { bindServer, CLIENT_OPTIONS, grpc, loadXdtProto, SERVER_OPTIONS, shutdownServer } from '../../lib/grpc.js';
import { isSluiceError, SluiceError, type ErrorCode } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import type { ReferenceCodec } from '../../lib/xdt/reference.js';
import { BufferPool } from './buffer-pool.js';
import { ObjectStore } from './object-store.js';
import type { XdtDataClient, XdtDataHandlers } from '../../protos/generated/sluice/xdt/v1/XdtData.js';
import type { Chunk, Chunk__Output } from '../../protos/generated/sluice/xdt/v1/Chunk.js';
import type { PutMessage__Output } from '../../protos/generated/sluice/xdt/v1/PutMessage.js';

export interface PoolSize {
  count: number;
  sizeBytes: number;
}

export interface XdtDataPlaneOptions {
  host: string;
  /** 0 = any free port. */
  port: number;
  /** This instance's namespace: objects it puts are bound to it, and it reads only references of it. */
  namespace: string;
  node: string;
  codec: ReferenceCodec;
  /** Outbound buffers for invoke (one retrieval; released as sent). */
  invokePool: PoolSize;
  /** Buffers for put/get objects (N retrievals or TTL). */
  putPool: PoolSize;
  /** Bytes per pulled chunk. */
  chunkBytes: number;
  defaultTtlMs: number;
  /** How long a Get waits for the producer's first chunk before answering XDT_OBJECT_GONE. */
  pullTimeoutMs: number;
  logger: Logger;
}

export const DEFAULT_XDT_POOLS = {
  invokePool: { count: 32, sizeBytes: 2 ** 20 },
  putPool: { count: 40, sizeBytes: 5 * 2 ** 20 },
  chunkBytes: 64 * 1024,
} as const;

const GRPC_CODES: Partial<Record<ErrorCode, grpc.status>> = {
  XDT_REF_INVALID: grpc.status.INVALID_ARGUMENT,
  XDT_REF_FORBIDDEN: grpc.status.PERMISSION_DENIED,
  XDT_REF_EXPIRED: grpc.status.NOT_FOUND,
  XDT_OBJECT_GONE: grpc.status.NOT_FOUND,
  QUEUE_FULL: grpc.status.RESOURCE_EXHAUSTED,
  BAD_REQUEST: grpc.status.INVALID_ARGUMENT,
};

const ERROR_KEY = 'x-sluice-error';

/** A SluiceError as a gRPC status whose metadata keeps the stable code. */
export function toStatus(err: unknown): Partial<grpc.StatusObject> {
  const error = isSluiceError(err) ? err : new SluiceError('INTERNAL', (err as Error)?.message ?? String(err));
  const metadata = new grpc.Metadata();
  metadata.set(ERROR_KEY, error.code);
  return { code: GRPC_CODES[error.code] ?? grpc.status.INTERNAL, details: error.message, metadata };
}

/** The SluiceError behind a gRPC error from a Sluice data plane (an unreachable peer counts as a gone object). */
export function fromStatus(err: grpc.ServiceError, peer: string): SluiceError {
  const code = err.metadata?.get(ERROR_KEY)[0];
  if (typeof code === 'string' && code in GRPC_CODES) return new SluiceError(code as ErrorCode, err.details);
  if (err.code === grpc.status.UNAVAILABLE || err.code === grpc.status.DEADLINE_EXCEEDED || err.code === grpc.status.CANCELLED) {
    return new SluiceError('XDT_OBJECT_GONE', `XDT producer ${peer} is gone: ${err.details}`);
  }
  return new SluiceError('INTERNAL', `XDT peer ${peer}: ${err.details}`);
}

export interface XdtDataPlane {
  address: string;
  port: number;
  invokePool: BufferPool;
  putPool: BufferPool;
  invokeStore: ObjectStore;
  putStore: ObjectStore;
  close(): Promise<void>;
}

export async function startXdtDataPlane(options: XdtDataPlaneOptions): Promise<XdtDataPlane> {
  const { codec, logger } = options;
  const invokePool = new BufferPool({ name: 'invoke', count: options.invokePool.count, size: options.invokePool.sizeBytes, maxWaiters: 1024 });
  const putPool = new BufferPool({ name: 'put', count: options.putPool.count, size: options.putPool.sizeBytes, maxWaiters: 1024 });
  const stores = { i: new ObjectStore(invokePool), p: new ObjectStore(putPool) };
  const peers = new Map<string, XdtDataClient>();
  const proto = loadXdtProto();
  let address = '';

  const storeOf = (key: string): { store: ObjectStore; key: string } => {
    const store = stores[key.slice(0, 1) as 'i' | 'p'];
    if (!store || key[1] !== ':') throw new SluiceError('XDT_OBJECT_GONE', `XDT object ${key} is unknown`);
    return { store, key: key.slice(2) };
  };

  /** Writes an object's bytes as chunks, honouring the stream's flow control. */
  const sendObject = async (call: grpc.ServerWritableStream<unknown, Chunk>, objectKey: string, cancelled: () => boolean): Promise<void> => {
    const { store, key } = storeOf(objectKey);
    let first = true;
    for await (const view of store.read(key)) {
      for (let offset = 0; offset < view.length; offset += options.chunkBytes) {
        if (cancelled()) return;
        const chunk: Chunk = { data: view.subarray(offset, offset + options.chunkBytes) };
        if (first) {
          chunk.total_size = -1;
          first = false;
        }
        if (!call.write(chunk)) await once(call, 'drain');
      }
    }
  };

  const peer = (producer: string): XdtDataClient => {
    let client = peers.get(producer);
    if (!client) {
      client = new proto.sluice.xdt.v1.XdtData(producer, grpc.credentials.createInsecure(), CLIENT_OPTIONS);
      peers.set(producer, client);
    }
    return client;
  };

  const handlers: XdtDataHandlers = {
    Put(call) {
      const run = async (): Promise<void> => {
        // destroyOnReturn false: the default iterator destroys the call when the upload ends, and the
        // final answer (complete, size) would never leave.
        const messages = call.iterator({ destroyOnReturn: false }) as AsyncIterator<PutMessage__Output>;
        const first = await messages.next();
        const header = first.done ? undefined : first.value.header;
        if (!header) throw new SluiceError('BAD_REQUEST', 'the first Put message must be the header');
        const retrievals = header.for_invoke ? 1 : header.retrievals;
        if (!Number.isInteger(retrievals) || retrievals < 1) throw new SluiceError('BAD_REQUEST', `retrievals = ${header.retrievals}, must be ≥ 1`);
        const prefix = header.for_invoke ? 'i' : 'p';
        const store = stores[prefix];
        const ttlMs = Number(header.ttl_ms) > 0 ? Number(header.ttl_ms) : options.defaultTtlMs;
        const key = store.create({ namespace: options.namespace, retrievals, ttlMs, contentType: header.content_type });
        const reference = codec.mint({
          producer: address,
          node: options.node,
          key: `${prefix}:${key}`,
          namespace: options.namespace,
          retrievals,
          expiresAtMs: Date.now() + ttlMs,
        });
        call.write({ reference });
        async function* data(): AsyncGenerator<Buffer> {
          for (;;) {
            const next = await messages.next();
            if (next.done) return;
            if (next.value.data) yield next.value.data;
          }
        }
        const size = await store.fill(key, data());
        call.write({ complete: true, size_bytes: size });
        call.end();
      };
      run().catch((err: unknown) => {
        logger.debug({ err: (err as Error).message }, 'XDT put failed');
        call.emit('error', toStatus(err));
      });
    },

    Pull(call) {
      let cancelled = false;
      call.on('cancelled', () => (cancelled = true));
      const run = async (): Promise<void> => {
        const ref = codec.open(call.request.reference, call.request.namespace, Date.now());
        if (ref.producer !== address) throw new SluiceError('XDT_OBJECT_GONE', `XDT object ${ref.key} is not held here`);
        await sendObject(call, ref.key, () => cancelled);
        call.end();
      };
      run().catch((err: unknown) => call.emit('error', toStatus(err)));
    },

    Get(call) {
      let cancelled = false;
      call.on('cancelled', () => (cancelled = true));
      const run = async (): Promise<void> => {
        const ref = codec.open(call.request.reference, options.namespace, Date.now());
        if (ref.producer === address) {
          // Same instance: no network hop.
          await sendObject(call, ref.key, () => cancelled);
          call.end();
          return;
        }
        const pull = peer(ref.producer).Pull({ reference: call.request.reference, namespace: options.namespace });
        call.on('cancelled', () => pull.cancel());
        // The producer must start answering within pullTimeoutMs, or the object counts as gone.
        const firstChunkTimer = setTimeout(() => pull.cancel(), options.pullTimeoutMs);
        try {
          for await (const chunk of pull as AsyncIterable<Chunk__Output>) {
            clearTimeout(firstChunkTimer);
            if (cancelled) return;
            if (!call.write(chunk)) await once(call, 'drain');
          }
        } catch (err) {
          throw fromStatus(err as grpc.ServiceError, ref.producer);
        } finally {
          clearTimeout(firstChunkTimer);
        }
        call.end();
      };
      run().catch((err: unknown) => call.emit('error', toStatus(err)));
    },
  };

  const server = new grpc.Server({ ...SERVER_OPTIONS, 'grpc.max_receive_message_length': 8 * 2 ** 20 });
  server.addService(proto.sluice.xdt.v1.XdtData.service, handlers);
  const port = await bindServer(server, `${options.host}:${options.port}`);
  address = `${options.host}:${port}`;
  const expiry = setInterval(() => {
    stores.i.expire();
    stores.p.expire();
  }, 1_000);
  expiry.unref();

  return {
    address,
    port,
    invokePool,
    putPool,
    invokeStore: stores.i,
    putStore: stores.p,
    async close() {
      clearInterval(expiry);
      for (const client of peers.values()) client.close();
      await shutdownServer(server, 1_000);
      stores.i.clear();
      stores.p.clear();
    },
  };
}
