// XDT data plane on loopback: a producer and a consumer queue-proxy's data planes, patterns and refusals, spoken to
// by grpc-js (the contract is plain gRPC) and by Sluice's own client (lib/xdt/client.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CLIENT_OPTIONS, grpc, loadXdtProto } from '../../lib/grpc.js';
import { silentLogger } from '../../lib/logger.js';
import { ReferenceCodec, generateClusterKey } from '../../lib/xdt/reference.js';
import { SluiceError, type ErrorCode } from '../../lib/errors.js';
import { XdtClient } from '../../lib/xdt/client.js';
import { createSegment } from './shm.js';
import { startXdtDataPlane, type TransferRecord, type XdtDataPlane, type XdtDataPlaneOptions } from './data-plane.js';
import type { XdtDataClient } from '../../protos/generated/sluice/xdt/v1/XdtData.js';
import type { PutResponse__Output } from '../../protos/generated/sluice/xdt/v1/PutResponse.js';
import type { Chunk__Output } from '../../protos/generated/sluice/xdt/v1/Chunk.js';

const MiB = 2 ** 20;
const key = generateClusterKey();

function plane(overrides: Partial<XdtDataPlaneOptions> = {}): Promise<XdtDataPlane> {
  return startXdtDataPlane({
    host: '127.0.0.1',
    port: 0,
    socketPath: '',
    localPort: 0,
    mode: 'cut-through',
    namespace: 'default',
    function: 'fn',
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

/** The SluiceError behind a grpc-js error from a data plane. */
function fromStatus(err: grpc.ServiceError): SluiceError {
  const code = err.metadata?.get('x-sluice-error')[0];
  return new SluiceError(typeof code === 'string' ? (code as ErrorCode) : 'INTERNAL', err.details);
}

/** A grpc-js client of the plane's local API (Put, Get): any gRPC client can speak the contract. */
function client(plane: XdtDataPlane): XdtDataClient {
  const address = 'address' in plane.localTarget ? plane.localTarget.address : '';
  const proto = loadXdtProto();
  return new proto.sluice.xdt.v1.XdtData(address, grpc.credentials.createInsecure(), { ...CLIENT_OPTIONS, 'grpc.max_receive_message_length': 16 * MiB });
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

async function get(c: XdtDataClient, reference: string, _peer?: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  try {
    for await (const chunk of c.Get({ reference }) as AsyncIterable<Chunk__Output>) parts.push(chunk.data);
  } catch (err) {
    throw fromStatus(err as grpc.ServiceError);
  }
  return Buffer.concat(parts);
}

const code = (want: string) => (err: unknown) => (err as SluiceError).code === want;

test('put on the producer, get twice through the consumer, a third get is XDT_OBJECT_GONE; buffers return', async () => {
  const [producer, consumer] = await Promise.all([plane(), plane({ node: 'node-2' })]);
  const [p, c] = [client(producer), client(consumer)];
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
  const [p, c] = [client(producer), client(consumer)];
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
  const p = client(producer);
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
  const [p, o, f] = [client(producer), client(other), client(foreign)];
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
  const [p, c] = [client(producer), client(consumer)];
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

/** Sluice's client: what the SDK uses. */
async function getFast(x: XdtClient, plane: XdtDataPlane, reference: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const bytes of x.get(plane.localTarget, { reference }).body) parts.push(Buffer.from(bytes));
  return Buffer.concat(parts);
}

function header(retrievals: number, size: number, forInvoke = false) {
  return { retrievals, ttl_ms: 0, size_bytes: size, content_type: 'application/octet-stream', for_invoke: forInvoke };
}

test('Sluice client over a Unix socket: scatter of different objects to one consumer, pools whole afterwards', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'xdt-'));
  const [producer, consumer] = await Promise.all([plane({ socketPath: path.join(dir, 'p.sock') }), plane({ node: 'node-2', socketPath: path.join(dir, 'c.sock') })]);
  const x = new XdtClient();
  try {
    const objects = [1, 2, 3, 4, 5, 6].map((i) => pattern(i * 700_000 + i, i));
    const puts = objects.map((o) => x.put(producer.localTarget, header(1, o.length, true), o));
    const refs = await Promise.all(puts.map((p) => p.reference));
    const got = await Promise.all(refs.map((r) => getFast(x, consumer, r)));
    await Promise.all(puts.map((p) => p.complete));
    got.forEach((g, i) => assert.ok(g.equals(objects[i]), `object ${i} differs`));
    assert.deepEqual([producer.invokePool.used, producer.invokeStore.size, consumer.invokePool.used], [0, 0, 0]);
  } finally {
    x.close();
    await Promise.all([producer.close(), consumer.close()]);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('broadcast: one put for N retrievals, N gets, the next is XDT_OBJECT_GONE', async () => {
  const [producer, consumer] = await Promise.all([plane(), plane({ node: 'node-2' })]);
  const x = new XdtClient();
  try {
    const data = pattern(2 * MiB + 3, 9);
    const up = x.put(producer.localTarget, header(4, data.length), data);
    const ref = await up.reference;
    assert.equal(await up.complete, data.length);
    const got = await Promise.all([1, 2, 3, 4].map(() => getFast(x, consumer, ref)));
    for (const g of got) assert.ok(g.equals(data));
    await assert.rejects(getFast(x, consumer, ref), code('XDT_OBJECT_GONE'));
    assert.equal(producer.putPool.used, 0);
  } finally {
    x.close();
    await Promise.all([producer.close(), consumer.close()]);
  }
});

test('an object read more than once that exceeds the pool is refused with XDT_OBJECT_TOO_LARGE, announced or not, and nothing leaks', async () => {
  const producer = await plane({ putPool: { count: 2, sizeBytes: MiB } });
  const x = new XdtClient();
  try {
    const data = pattern(3 * MiB, 1);
    await assert.rejects(x.put(producer.localTarget, header(2, data.length), data).complete, code('XDT_OBJECT_TOO_LARGE'));
    await assert.rejects(x.put(producer.localTarget, header(2, -1), data).complete, code('XDT_OBJECT_TOO_LARGE'));
    assert.deepEqual([producer.putPool.used, producer.putStore.size], [0, 0]);
  } finally {
    x.close();
    await producer.close();
  }
});

test('store-and-forward: the reference comes only once the object is whole', async () => {
  const producer = await plane({ mode: 'store-and-forward' });
  const x = new XdtClient();
  try {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    async function* slow(): AsyncGenerator<Buffer> {
      yield pattern(1000, 1);
      await gate;
      yield pattern(1000, 2);
    }
    const up = x.put(producer.localTarget, header(1, 2000, true), slow());
    let referenced = false;
    void up.reference.then(() => (referenced = true));
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(referenced, false, 'reference before the object was complete');
    release();
    assert.ok((await up.reference).length > 20);
    assert.equal(await up.complete, 2000);
  } finally {
    x.close();
    await producer.close();
  }
});

test('a consumer that leaves mid-pull leaks nothing at the producer', async () => {
  const [producer, consumer] = await Promise.all([plane({ invokePool: { count: 2, sizeBytes: MiB } }), plane({ node: 'node-2' })]);
  const x = new XdtClient();
  try {
    const data = pattern(8 * MiB, 3);
    const up = x.put(producer.localTarget, header(1, data.length, true), data);
    const incoming = x.get(consumer.localTarget, { reference: await up.reference });
    let n = 0;
    for await (const bytes of incoming.body) {
      n += bytes.length;
      if (n > MiB) break;
    }
    await assert.rejects(up.complete);
    for (let i = 0; i < 50 && (producer.invokePool.used > 0 || producer.invokeStore.size > 0); i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual([producer.invokePool.used, producer.invokeStore.size], [0, 0]);
  } finally {
    x.close();
    await Promise.all([producer.close(), consumer.close()]);
  }
});

test('flow control: more concurrent objects than buffers make the producers wait, and every byte arrives', async () => {
  const [producer, consumer] = await Promise.all([plane({ invokePool: { count: 2, sizeBytes: MiB } }), plane({ node: 'node-2' })]);
  const x = new XdtClient();
  let maxWaiting = 0;
  const watch = setInterval(() => (maxWaiting = Math.max(maxWaiting, producer.invokePool.waiting)), 1);
  try {
    const objects = [1, 2, 3, 4, 5, 6].map((i) => pattern(3 * MiB + i, i));
    const got = await Promise.all(
      objects.map(async (o) => {
        const up = x.put(producer.localTarget, header(1, o.length, true), o);
        const [bytes] = await Promise.all([getFast(x, consumer, await up.reference), up.complete]);
        return bytes;
      }),
    );
    got.forEach((g, i) => assert.ok(g.equals(objects[i]), `object ${i} differs`));
    assert.ok(maxWaiting > 0, 'no producer ever waited for a buffer: the test did not exercise flow control');
    assert.deepEqual([producer.invokePool.used, producer.invokePool.waiting, producer.invokeStore.size], [0, 0, 0]);
  } finally {
    clearInterval(watch);
    x.close();
    await Promise.all([producer.close(), consumer.close()]);
  }
});

/** Two planes of one node sharing a shared-memory directory, recording the consumer's transfers. */
async function sameNode(
  t: { after(fn: () => unknown): void },
  overrides: { producer?: Partial<XdtDataPlaneOptions>; consumer?: Partial<XdtDataPlaneOptions>; producerLimits?: { maxObjectBytes?: number; budgetBytes?: number } } = {},
) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'xdt-shm-'));
  const shm = { dir, maxObjectBytes: 64 * MiB, budgetBytes: 256 * MiB };
  const transfers: TransferRecord[] = [];
  const [producer, consumer] = await Promise.all([
    plane({ shm: { ...shm, ...overrides.producerLimits }, function: 'producer', ...overrides.producer }),
    plane({ shm, function: 'consumer', onTransfer: (r) => transfers.push(r), ...overrides.consumer }),
  ]);
  const x = new XdtClient();
  t.after(async () => {
    x.close();
    await Promise.all([producer.close(), consumer.close()]);
    rmSync(dir, { recursive: true, force: true });
  });
  return { dir, producer, consumer, x, transfers };
}

async function pullAll(consumer: XdtDataPlane, reference: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const bytes of consumer.pull(reference).body) parts.push(Buffer.from(bytes));
  return Buffer.concat(parts);
}

test('same node: an invoke object moves through a shared-memory segment, cut-through, and the segment is gone afterwards', async (t) => {
  const { dir, producer, consumer, x, transfers } = await sameNode(t, { producer: { invokePool: { count: 2, sizeBytes: MiB } } });
  const data = pattern(12 * MiB + 3, 9);
  const up = x.put(producer.localTarget, header(1, data.length, true), data);
  const [got] = await Promise.all([pullAll(consumer, await up.reference), up.complete]);
  assert.ok(got.equals(data), 'bytes differ');
  assert.equal(transfers.length, 1);
  assert.deepEqual({ ...transfers[0], seconds: 0, sourceWaitSeconds: 0 }, { producerFunction: 'producer', producerNode: 'node-1', path: 'shm', bytes: data.length, seconds: 0, sourceWaitSeconds: 0 });
  assert.ok(transfers[0].sourceWaitSeconds <= transfers[0].seconds);
  assert.deepEqual(readdirSync(dir), [], 'a segment file was left behind');
  assert.deepEqual([producer.invokePool.used, producer.invokeStore.size], [0, 0]);
});

test('same node, but TCP when the fast path cannot be used: announced too large, another node, a producer without the directory', async (t) => {
  const cases: Array<{ name: string; size: (n: number) => number; producer?: Partial<XdtDataPlaneOptions>; consumer?: Partial<XdtDataPlaneOptions>; producerLimits?: { maxObjectBytes?: number; budgetBytes?: number } }> = [
    { name: 'object announced over xdt-shm-max-object-size', size: (n) => n, producerLimits: { maxObjectBytes: MiB } },
    { name: "object announced over what is left of the producer's budget", size: (n) => n, producerLimits: { budgetBytes: MiB } },
    { name: 'producer on another node', size: (n) => n, producer: { node: 'node-2' } },
    { name: 'producer with another directory (it cannot open the segment)', size: (n) => n, producer: { shm: { dir: mkdtempSync(path.join(os.tmpdir(), 'xdt-other-')), maxObjectBytes: 64 * MiB, budgetBytes: 256 * MiB } } },
  ];
  for (const c of cases) {
    const { dir, producer, consumer, x, transfers } = await sameNode(t, { producer: c.producer, consumer: c.consumer, producerLimits: c.producerLimits });
    const data = pattern(2 * MiB + 1, 4);
    // Still arriving when the pull starts (a complete object's size is known, announced or not).
    const up = x.put(producer.localTarget, header(1, c.size(data.length), true), (async function* () {
      yield data.subarray(0, MiB);
      await new Promise((r) => setTimeout(r, 100));
      yield data.subarray(MiB);
    })());
    const [got] = await Promise.all([pullAll(consumer, await up.reference), up.complete]);
    assert.ok(got.equals(data), `${c.name}: bytes differ`);
    assert.equal(transfers[0]?.path, 'tcp', c.name);
    assert.deepEqual(readdirSync(dir), [], `${c.name}: a segment file was left behind`);
  }
});

test('same node: a put object read twice through segments, then XDT_OBJECT_GONE; a consumer leaving mid-pull leaks no file and no buffer', async (t) => {
  const { dir, producer, consumer, x, transfers } = await sameNode(t);
  const data = pattern(3 * MiB, 5);
  const up = x.put(producer.localTarget, header(2, data.length), data);
  const reference = await up.reference;
  await up.complete;
  assert.ok((await getFast(x, consumer, reference)).equals(data));
  assert.ok((await pullAll(consumer, reference)).equals(data));
  await assert.rejects(pullAll(consumer, reference), code('XDT_OBJECT_GONE'));
  assert.deepEqual(transfers.map((r) => r.path), ['shm', 'shm']);
  assert.equal(producer.putPool.used, 0);

  const big = pattern(8 * MiB, 6);
  const slow = x.put(producer.localTarget, header(1, big.length, true), (async function* () {
    yield big.subarray(0, MiB);
    await new Promise((r) => setTimeout(r, 200));
    yield big.subarray(MiB);
  })());
  const incoming = consumer.pull(await slow.reference);
  for await (const bytes of incoming.body) if (bytes.length > 0) break;
  await slow.complete.catch(() => undefined);
  for (let i = 0; i < 50 && (producer.invokePool.used > 0 || producer.invokeStore.size > 0); i++) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual([producer.invokePool.used, producer.invokeStore.size], [0, 0]);
  assert.deepEqual(readdirSync(dir), []);
});

test('the producer reports its wait for its own bytes, so a slow producer does not look like a slow link', async (t) => {
  for (const node of ['node-1', 'node-2']) {
    const { producer, consumer, x, transfers } = await sameNode(t, { producer: { node } });
    const data = pattern(2 * MiB, 8);
    const up = x.put(producer.localTarget, header(1, data.length, true), (async function* () {
      yield data.subarray(0, MiB);
      await new Promise((r) => setTimeout(r, 300));
      yield data.subarray(MiB);
    })());
    assert.ok((await pullAll(consumer, await up.reference)).equals(data));
    const [r] = transfers;
    assert.equal(r.path, node === 'node-1' ? 'shm' : 'tcp');
    assert.ok(r.sourceWaitSeconds >= 0.25 && r.sourceWaitSeconds <= r.seconds, `${node}: waited ${r.sourceWaitSeconds} s of ${r.seconds} s`);
  }
});

test('same node: an object streamed without a size starts in the segment, and what exceeds the limit follows on the stream, in order', async (t) => {
  const { dir, producer, consumer, x, transfers } = await sameNode(t, { producerLimits: { maxObjectBytes: 2 * MiB } });
  const data = pattern(5 * MiB + 7, 12);
  const up = x.put(producer.localTarget, header(1, -1, true), (async function* () {
    for (let i = 0; i < data.length; i += MiB) {
      yield data.subarray(i, i + MiB);
      await new Promise((r) => setTimeout(r, 20));
    }
  })());
  const [got] = await Promise.all([pullAll(consumer, await up.reference), up.complete]);
  assert.ok(got.equals(data), 'bytes differ or out of order');
  assert.equal(transfers[0].path, 'shm');
  assert.deepEqual(readdirSync(dir), []);
  assert.deepEqual([producer.invokePool.used, producer.invokeStore.size], [0, 0]);
});

test('same node: a consumer that dies after naming its segment leaves no file (the producer removes the name)', async (t) => {
  const { dir, producer, x } = await sameNode(t);
  const data = pattern(4 * MiB, 13);
  const up = x.put(producer.localTarget, header(1, data.length, true), data);
  const reference = await up.reference;
  // What a consumer queue-proxy does before it dies: make a segment, name it in a Pull, read the first answer.
  const segment = await createSegment(dir);
  await segment.handle.close();
  const incoming = x.pullEvents({ address: producer.address }, { reference, namespace: 'default', shm_segment: segment.name });
  for await (const event of incoming.events) if (event.kind === 'control' && event.control.shm) break;
  for (let i = 0; i < 50 && readdirSync(dir).length > 0; i++) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(readdirSync(dir), [], 'the segment of a dead consumer stayed');
  await up.complete.catch(() => undefined);
  for (let i = 0; i < 50 && producer.invokePool.used > 0; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(producer.invokePool.used, 0);
});
