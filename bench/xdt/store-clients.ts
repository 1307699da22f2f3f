// Blob-store clients for the XDT benchmark's baselines: Redis (ioredis) and S3 (MinIO via @aws-sdk/client-s3).
//
// Usage (in a benchmark function process):
//   const store = redisClient('redis://127.0.0.1:6379');           // or s3Client(minio) with startMinio()'s fields
//   await store.connect();                                         // optional: exclude setup from a measurement
//   await store.put('k', body); const copy = await store.get('k'); await store.delete('k');
//   await store.close();
//
// Function processes import this module, so it imports neither client library up front: constructing a client only
// records its settings, and the library is loaded (and the connection opened) by connect() or the first operation.
// A process that uses Redis never loads the AWS SDK, and the other way round.
import type { Agent } from 'node:http';
import type { Readable } from 'node:stream';
import type { Redis } from 'ioredis';
import type { S3Client } from '@aws-sdk/client-s3';

export interface BlobStoreClient {
  /** Loads the client library and opens the connection now; otherwise the first operation does. Idempotent. */
  connect(): Promise<void>;
  put(key: string, body: Buffer): Promise<void>;
  /** The whole object; rejects with ObjectNotFoundError when there is none under `key`. */
  get(key: string): Promise<Buffer>;
  /** Succeeds when there is no such object. */
  delete(key: string): Promise<void>;
  /** Closes connections; the client cannot be used afterwards. */
  close(): Promise<void>;
}

export class ObjectNotFoundError extends Error {
  constructor(
    readonly store: string,
    readonly key: string,
  ) {
    super(`${store}: no object under key "${key}"`);
    this.name = 'ObjectNotFoundError';
  }
}

/** Runs `open` once, on first use; a failed open is retried on the next use (the server may not have been up yet). */
function lazy<T>(open: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    pending ??= open().catch((err: unknown) => {
      pending = undefined;
      throw err;
    });
    return pending;
  };
}

/** A client that fails every operation after close(), instead of silently reconnecting. */
function closedGuard(store: string): { check(): void; close(): void } {
  let closed = false;
  return {
    check() {
      if (closed) throw new Error(`${store} client is closed`);
    },
    close() {
      closed = true;
    },
  };
}

/** Redis at `url` (redis://host:port[/db]); values are stored as plain strings (SET/GET) and read back as Buffers. */
export function redisClient(url: string): BlobStoreClient {
  const store = `redis ${url}`;
  const guard = closedGuard(store);
  let redis: Redis | undefined;
  const open = lazy(async () => {
    const { Redis } = await import('ioredis');
    const client = new Redis(url, {
      lazyConnect: true,
      // A benchmark wants failures, not hidden retries and reconnects that would show up as slow operations (or,
      // for a server that is not there, keep the process alive reconnecting forever).
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      enableOfflineQueue: false,
      connectTimeout: 5_000,
    });
    // Errors reach the caller through the failed command; without a listener ioredis also prints each one.
    let lastError: Error | undefined;
    client.on('error', (err: Error) => (lastError = err));
    redis = client;
    try {
      await client.connect();
    } catch (err) {
      client.disconnect();
      // connect() itself only says "Connection is closed."; the error event has the cause (ECONNREFUSED, …).
      throw new Error(`${store}: cannot connect: ${(lastError ?? (err as Error)).message}`, { cause: err });
    }
    return client;
  });
  return {
    async connect() {
      guard.check();
      await open();
    },
    async put(key, body) {
      guard.check();
      await (await open()).set(key, body);
    },
    async get(key) {
      guard.check();
      const value = await (await open()).getBuffer(key);
      if (value === null) throw new ObjectNotFoundError(store, key);
      return value;
    },
    async delete(key) {
      guard.check();
      await (await open()).del(key);
    },
    async close() {
      guard.close();
      if (!redis) return;
      if (redis.status === 'ready') await redis.quit();
      else redis.disconnect();
    },
  };
}

export interface S3Settings {
  /** http://host:port of the S3 API. */
  endpoint: string;
  accessKey: string;
  secretKey: string;
  bucket: string;
}

/** Reads a response body of known length straight into one Buffer (no chunk list and final concat for 100 MiB). */
async function readBody(body: Readable, length: number | undefined): Promise<Buffer> {
  if (length === undefined) {
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }
  const out = Buffer.allocUnsafe(length);
  let offset = 0;
  for await (const chunk of body) {
    const data = chunk as Buffer;
    if (offset + data.length > length) throw new Error(`S3 body is longer than its Content-Length ${length}`);
    data.copy(out, offset);
    offset += data.length;
  }
  if (offset !== length) throw new Error(`S3 body ended after ${offset} of ${length} bytes`);
  return out;
}

/**
 * S3 (MinIO) bucket `bucket` at `endpoint`: path-style addressing (no per-bucket DNS names), region us-east-1, and
 * HTTP keep-alive so each operation reuses a connection as a long-running function would.
 */
export function s3Client(settings: S3Settings): BlobStoreClient {
  const store = `s3 ${settings.endpoint}/${settings.bucket}`;
  const guard = closedGuard(store);
  let agent: Agent | undefined;
  let s3: S3Client | undefined;
  const open = lazy(async () => {
    // The SDK warns once per process that its releases after January 2027 need Node 22; the dependency is pinned
    // (~3.1175) for Node 20, so in every benchmark function's log that line is noise. An explicit setting wins.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    const [{ Agent }, sdk] = await Promise.all([import('node:http'), import('@aws-sdk/client-s3')]);
    agent = new Agent({ keepAlive: true, maxSockets: 64 });
    s3 = new sdk.S3Client({
      endpoint: settings.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: settings.accessKey, secretAccessKey: settings.secretKey },
      requestHandler: { httpAgent: agent },
      // Checksums only where S3 requires them: the SDK's default CRC32 of every 100 MiB body measures the SDK's
      // hashing, not moving the object. (SigV4 still hashes the payload over plain http.)
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 1,
    });
    return { s3, sdk };
  });
  return {
    async connect() {
      guard.check();
      const { s3, sdk } = await open();
      // One cheap request, so the TCP connection is open (and kept alive) before the first measured operation.
      await s3.send(new sdk.HeadBucketCommand({ Bucket: settings.bucket }));
    },
    async put(key, body) {
      guard.check();
      const { s3, sdk } = await open();
      await s3.send(new sdk.PutObjectCommand({ Bucket: settings.bucket, Key: key, Body: body, ContentLength: body.length }));
    },
    async get(key) {
      guard.check();
      const { s3, sdk } = await open();
      try {
        const res = await s3.send(new sdk.GetObjectCommand({ Bucket: settings.bucket, Key: key }));
        if (!res.Body) throw new Error(`${store}: GetObject "${key}" returned no body`);
        return await readBody(res.Body as Readable, res.ContentLength);
      } catch (err) {
        if ((err as Error).name === 'NoSuchKey') throw new ObjectNotFoundError(store, key);
        throw err;
      }
    },
    async delete(key) {
      guard.check();
      const { s3, sdk } = await open();
      await s3.send(new sdk.DeleteObjectCommand({ Bucket: settings.bucket, Key: key }));
    },
    async close() {
      guard.close();
      s3?.destroy();
      agent?.destroy();
    },
  };
}
