// XDT data plane over real gRPC on loopback: a producer and a consumer queue-proxy's data planes, patterns and refusals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { CLIENT_OPTIONS, grpc, loadXdtProto } from '../../lib/grpc.js';
import { silentLogger } from '../../lib/logger.js';
import { ReferenceCodec, generateClusterKey } from '../../lib/xdt/reference.js';
import type { SluiceError } from '../../lib/errors.js';
import { fromStatus, startXdtDataPlane, type XdtDataPlane, type XdtDataPlaneOptions } from './data-plane.js';
import type { XdtDataClient } from '../../protos/generated/sluice/xdt/v1/XdtData.js';
import type { PutResponse__Output } from '../../protos/generated/sluice/xdt/v1/PutResponse.js';
import type { Chunk__Output } from '../../protos/generated/sluice/xdt/v1/Chunk.js';

const MiB = 2 ** 20;
const key = generateClusterKey();

function plane(overrides: Partial<XdtDataPlaneOptions> = {}): Promise<XdtDataPlane> {
  return startXdtDataPlane({
    host: '127.0.0.1',
    port: 0,
    namespace: 'default',
    node: 'node-1',
    codec: new ReferenceCodec(key),
    invokePool: { count: 4, sizeBytes: MiB },
    putPool: { count: 4, sizeBytes: MiB },
    chunkBytes: 64 * 1024,
    defaultTtlMs: 60_000,
    pullTimeoutMs: 1_000,
    logger: silentLogger(),
    ...overrides,
  });
}

function client(address: string): XdtDataClient {
  const proto = loadXdtProto();
  return new proto.sluice.xdt.v1.XdtData(address, grpc.credentials.createInsecure(), CLIENT_OPTIONS);
}

function pattern(size: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) b[i] = (i * 7 + seed) & 0xff;
  return b;
}

/** Uploads like the SDK will: header, then the bytes; resolves the reference as soon as it is known. */
function put(c: XdtDataClient, data: Buffer, header: { retrievals?: number; for_invoke?: boolean }) {
  const call = c.Put();
  const responses: PutResponse__Output[] = [];
  const reference = new Promise<string>((resolve, reject) => {
    call.on('data', (r: PutResponse__Output) => {
      responses.push(r);
      if (r.reference) resolve(r.reference);
    });
    call.on('error', reject);
  });
  const done = (async () => {
    call.write({ header: { retrievals: header.retrievals ?? 1, for_invoke: header.for_invoke ?? false, size_bytes: data.length, content_type: 'application/octet-stream' } });
    await reference;
    for (let i = 0; i < data.length; i += 256 * 1024) {
      if (!call.write({ data: data.subarray(i, i + 256 * 1024) })) await once(call, 'drain');
    }
    call.end();
    await once(call, 'end');
    return responses.at(-1);
  })();
  done.catch(() => undefined);
  return { reference, done };
}

async function get(c: XdtDataClient, reference: string, peer: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  try {
    for await (const chunk of c.Get({ reference }) as AsyncIterable<Chunk__Output>) parts.push(chunk.data);
  } catch (err) {
    throw fromStatus(err as grpc.ServiceError, peer);
  }
  return Buffer.concat(parts);
}

const code = (want: string) => (err: unknown) => (err as SluiceError).code === want;

test('put on the producer, get twice through the consumer, a third get is XDT_OBJECT_GONE; buffers return', async () => {
  const [producer, consumer] = await Promise.all([plane(), plane({ node: 'node-2' })]);
  const [p, c] = [client(producer.address), client(consumer.address)];
  try {
    const data = pattern(3 * MiB + 12_345, 1);
    const upload = put(p, data, { retrievals: 2 });
    const reference = await upload.reference;
    assert.deepEqual(await upload.done, { reference: '', complete: true, size_bytes: data.length });
    assert.ok(!reference.includes('127.0.0.1'), 'the reference reveals the producer address');
    assert.deepEqual(await get(c, reference, consumer.address), data);
    assert.deepEqual(await get(c, reference, consumer.address), data);
    await assert.rejects(get(c, reference, consumer.address), code('XDT_OBJECT_GONE'));
    assert.equal(producer.putPool.used, 0);
  } finally {
    p.close();
    c.close();
    await Promise.all([producer.close(), consumer.close()]);
  }
});

test('invoke is cut-through: the consumer pulls while the producer still uploads, through a pool smaller than the object', async () => {
  const [producer, consumer] = await Promise.all([plane({ invokePool: { count: 2, sizeBytes: MiB } }), plane({ node: 'node-2' })]);
  const [p, c] = [client(producer.address), client(consumer.address)];
  try {
    const data = pattern(12 * MiB, 2);
    const upload = put(p, data, { for_invoke: true });
    const received = get(c, await upload.reference, consumer.address);
    const [got] = await Promise.all([received, upload.done]);
    assert.ok(got.equals(data), 'bytes differ');
    assert.equal(producer.invokePool.used, 0);
    assert.equal(producer.invokeStore.size, 0);
  } finally {
    p.close();
    c.close();
    await Promise.all([producer.close(), consumer.close()]);
  }
});

test('a get on the producer itself needs no network hop and gives the same bytes', async () => {
  const producer = await plane();
  const p = client(producer.address);
  try {
    const data = pattern(MiB, 3);
    const upload = put(p, data, { retrievals: 1 });
    await upload.done;
    assert.deepEqual(await get(p, await upload.reference, producer.address), data);
  } finally {
    p.close();
    await producer.close();
  }
});

test('references are refused from another namespace, tampered, or from another cluster', async () => {
  const [producer, other, foreign] = await Promise.all([
    plane(),
    plane({ namespace: 'team-b' }),
    plane({ codec: new ReferenceCodec(generateClusterKey()) }),
  ]);
  const [p, o, f] = [client(producer.address), client(other.address), client(foreign.address)];
  try {
    const upload = put(p, pattern(1000, 4), { retrievals: 5 });
    await upload.done;
    const reference = await upload.reference;
    await assert.rejects(get(o, reference, other.address), code('XDT_REF_FORBIDDEN'));
    await assert.rejects(get(f, reference, foreign.address), code('XDT_REF_INVALID'));
    const tampered = `${reference.slice(0, 10)}${reference[10] === 'A' ? 'B' : 'A'}${reference.slice(11)}`;
    await assert.rejects(get(p, tampered, producer.address), code('XDT_REF_INVALID'));
  } finally {
    for (const x of [p, o, f]) x.close();
    await Promise.all([producer.close(), other.close(), foreign.close()]);
  }
});

test('when the producer is gone, get fails promptly with XDT_OBJECT_GONE instead of hanging', async () => {
  const [producer, consumer] = await Promise.all([plane(), plane({ node: 'node-2' })]);
  const [p, c] = [client(producer.address), client(consumer.address)];
  try {
    const upload = put(p, pattern(1000, 5), { retrievals: 1 });
    await upload.done;
    const reference = await upload.reference;
    p.close();
    await producer.close();
    const started = Date.now();
    await assert.rejects(get(c, reference, consumer.address), code('XDT_OBJECT_GONE'));
    // A functional bound (no hang), far above the 1 s pull timeout.
    assert.ok(Date.now() - started < 5_000);
  } finally {
    c.close();
    await consumer.close();
  }
});
