// XDT object store: store-and-forward and cut-through reads, retrieval counts, TTL, failures — and the pool is whole again after each.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { isSluiceError } from '../../lib/errors.js';
import { BufferPool } from './buffer-pool.js';
import { ObjectStore, type ObjectMeta } from './object-store.js';

const SIZE = 1024;

function setup(count = 4): { pool: BufferPool; store: ObjectStore; clock: { now: number } } {
  const clock = { now: 1_000 };
  const pool = new BufferPool({ name: 'test', count, size: SIZE, maxWaiters: 100 });
  return { pool, store: new ObjectStore(pool, () => clock.now), clock };
}

const meta = (retrievals = 1, ttlMs = 60_000): ObjectMeta => ({ namespace: 'default', retrievals, ttlMs, contentType: 'application/octet-stream' });

function bytes(n: number, seed = 1): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

async function* chunks(data: Buffer, chunkSize = 700): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length; i += chunkSize) {
    yield data.subarray(i, i + chunkSize);
    await tick();
  }
}

async function readAll(store: ObjectStore, key: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const view of store.read(key)) parts.push(Buffer.from(view));
  return Buffer.concat(parts);
}

const isGone = (err: unknown): boolean => isSluiceError(err) && err.code === 'XDT_OBJECT_GONE';

test('store-and-forward: an object put whole reads back byte for byte, and its buffers return', async () => {
  const { pool, store } = setup();
  const data = bytes(3 * SIZE + 100);
  const key = store.create(meta());
  assert.equal(await store.fill(key, chunks(data)), data.length);
  assert.equal(pool.used, 4);
  assert.deepEqual(await readAll(store, key), data);
  assert.deepEqual([pool.used, store.size], [0, 0]);
});

test('cut-through: a one-retrieval object ten times the pool streams through, memory bounded by the pool', async () => {
  const { pool, store } = setup(2);
  const data = bytes(20 * SIZE + 5);
  const key = store.create(meta(1));
  const reading = readAll(store, key); // the reader attaches before any byte arrives
  let maxUsed = 0;
  const watch = setInterval(() => (maxUsed = Math.max(maxUsed, pool.used)), 0);
  const filled = await store.fill(key, chunks(data));
  const got = await reading;
  clearInterval(watch);
  assert.equal(filled, data.length);
  assert.deepEqual(got, data);
  assert.ok(maxUsed <= 2);
  assert.deepEqual([pool.used, store.size], [0, 0]);
});

test('N retrievals: N reads succeed, the next is XDT_OBJECT_GONE, buffers return after the last', async () => {
  const { pool, store } = setup();
  const data = bytes(2 * SIZE);
  const key = store.create(meta(3));
  await store.fill(key, chunks(data));
  for (let i = 0; i < 3; i++) assert.deepEqual(await readAll(store, key), data);
  assert.deepEqual([pool.used, store.size], [0, 0]);
  await assert.rejects(readAll(store, key), isGone);
});

test('concurrent readers of a broadcast object all get every byte', async () => {
  const { pool, store } = setup();
  const data = bytes(3 * SIZE);
  const key = store.create(meta(3));
  const readers = [readAll(store, key), readAll(store, key), readAll(store, key)];
  await store.fill(key, chunks(data));
  for (const got of await Promise.all(readers)) assert.deepEqual(got, data);
  assert.equal(pool.used, 0);
});

test('past its TTL an object is released and reads get XDT_OBJECT_GONE', async () => {
  const { pool, store, clock } = setup();
  const key = store.create(meta(2, 5_000));
  await store.fill(key, chunks(bytes(SIZE)));
  clock.now += 5_001;
  assert.equal(store.expire(), 1);
  assert.equal(pool.used, 0);
  await assert.rejects(readAll(store, key), isGone);
});

test('a producer failing mid-object gives readers XDT_OBJECT_GONE and leaks no buffer', async () => {
  const { pool, store } = setup();
  const key = store.create(meta(1));
  const reading = readAll(store, key);
  async function* failing(): AsyncGenerator<Buffer> {
    yield bytes(SIZE + 10);
    throw new Error('producer crashed');
  }
  await assert.rejects(store.fill(key, failing()), /producer crashed/);
  await assert.rejects(reading, isGone);
  assert.deepEqual([pool.used, store.size], [0, 0]);
});

test('a consumer that stops mid-pull leaks nothing at the producer', async () => {
  const { pool, store } = setup(2);
  const key = store.create(meta(1));
  const filling = store.fill(key, chunks(bytes(10 * SIZE)));
  for await (const _view of store.read(key)) break; // the consumer dies after the first chunk
  await assert.rejects(filling, isGone);
  assert.deepEqual([pool.used, store.size], [0, 0]);
});

test('a producer blocked on an empty pool when its consumer dies gives the buffer it then gets back', async () => {
  const { pool, store } = setup(1);
  const key = store.create(meta(1));
  // The producer fills the only buffer and waits for a second one.
  const filling = store.fill(key, chunks(bytes(3 * SIZE), SIZE));
  const reader = store.read(key);
  await reader.next(); // first chunk sent; the segment is not full-and-read yet, so the pool stays empty
  await tick();
  await reader.return(undefined); // the consumer dies
  await assert.rejects(filling, isGone);
  assert.deepEqual([pool.used, pool.available, store.size], [0, 1, 0]);
});
