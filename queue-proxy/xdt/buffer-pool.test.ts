// XDT buffer pool: bounded memory, FIFO waiting, abort, and misuse detection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isSluiceError } from '../../lib/errors.js';
import { BufferPool } from './buffer-pool.js';

const pool = (count = 2, maxWaiters = 10): BufferPool => new BufferPool({ name: 'test', count, size: 1024, maxWaiters });

test('hands out distinct pre-allocated buffers of the configured size, then none', () => {
  const p = pool(2);
  const a = p.tryAcquire();
  const b = p.tryAcquire();
  assert.ok(a && b && a !== b);
  assert.equal(a.length, 1024);
  assert.equal(p.tryAcquire(), undefined);
  assert.deepEqual([p.used, p.available], [2, 0]);
  p.release(a);
  p.release(b);
  assert.deepEqual([p.used, p.available], [0, 2]);
});

test('waiters get released buffers in arrival order', async () => {
  const p = pool(1);
  const held = p.tryAcquire()!;
  const order: string[] = [];
  const first = p.acquire().then((b) => (order.push('first'), b));
  const second = p.acquire().then((b) => (order.push('second'), b));
  assert.equal(p.waiting, 2);
  p.release(held);
  const got = await first;
  p.release(got);
  p.release(await second);
  assert.deepEqual(order, ['first', 'second']);
  assert.deepEqual([p.used, p.available, p.waiting], [0, 1, 0]);
});

test('an aborted waiter leaves the queue and the next one is served', async () => {
  const p = pool(1);
  const held = p.tryAcquire()!;
  const controller = new AbortController();
  const aborted = p.acquire(controller.signal);
  const next = p.acquire();
  controller.abort(new Error('client left'));
  await assert.rejects(aborted, /client left/);
  p.release(held);
  p.release(await next);
  assert.deepEqual([p.used, p.available], [0, 1]);
});

test('too many waiters → QUEUE_FULL', async () => {
  const p = pool(1, 1);
  p.tryAcquire();
  void p.acquire();
  await assert.rejects(p.acquire(), (err: unknown) => isSluiceError(err) && err.code === 'QUEUE_FULL');
});

test('double release and foreign buffers are refused', () => {
  const p = pool(1);
  const b = p.tryAcquire()!;
  p.release(b);
  assert.throws(() => p.release(b), /released twice/);
  assert.throws(() => p.release(Buffer.alloc(1024)), /not from this pool/);
});
