import { test } from 'node:test';
import assert from 'node:assert/strict';
import { itemBackoffMs, TokenBucket, WorkQueue } from './work-queue.js';

test('itemBackoffMs doubles from the base and stops at the cap', () => {
  const cases: Array<[number, number]> = [
    [0, 0],
    [1, 5],
    [2, 10],
    [3, 20],
    [10, 2560],
    [30, 1_000_000],
    [5000, 1_000_000],
  ];
  for (const [failures, want] of cases) assert.equal(itemBackoffMs(failures, 5, 1_000_000), want, `failures=${failures}`);
});

test('TokenBucket lets a burst through, then spaces callers at 1/qps', () => {
  let now = 0;
  const bucket = new TokenBucket(10, 3, () => now);
  assert.deepEqual([bucket.reserve(), bucket.reserve(), bucket.reserve()], [0, 0, 0]);
  assert.equal(bucket.reserve(), 100);
  assert.equal(bucket.reserve(), 200);
  now = 1000; // refills 10 tokens, capped at the burst of 3, minus the 2 owed
  assert.equal(bucket.reserve(), 0);
});

test('a key added many times is processed once', async () => {
  const q = new WorkQueue();
  q.add('ns/a');
  q.add('ns/b');
  q.add('ns/a');
  assert.equal(q.length, 2);
  assert.equal(await q.get(), 'ns/a');
  assert.equal(await q.get(), 'ns/b');
  assert.equal(q.length, 0);
});

test('a key added while it is processed comes back once after done(), never to two workers at once', async () => {
  const q = new WorkQueue();
  q.add('k');
  const first = await q.get();
  q.add('k');
  q.add('k');
  assert.equal(q.length, 0, 'not handed out while processing');
  q.done(first!);
  assert.equal(q.length, 1);
  assert.equal(await q.get(), 'k');
});

test('a waiting worker gets the next key at once', async () => {
  const q = new WorkQueue();
  const pending = q.get();
  q.add('x');
  assert.equal(await pending, 'x');
});

test('retry backs off per key and forget resets it', async () => {
  const q = new WorkQueue({ baseDelayMs: 20, maxDelayMs: 1000 });
  assert.equal(q.retry('k'), 20);
  assert.equal(q.retry('k'), 40);
  assert.equal(q.failureCount('k'), 2);
  q.forget('k');
  assert.equal(q.failureCount('k'), 0);
  const started = Date.now();
  const keepAlive = setTimeout(() => {}, 5_000); // the queue's timers are unref'd, as a controller's are
  assert.equal(await q.get(), 'k', 'the first retry timer adds the key');
  clearTimeout(keepAlive);
  assert.ok(Date.now() - started >= 15);
  q.shutDown();
});

test('shutDown releases waiting workers with undefined and ignores new keys', async () => {
  const q = new WorkQueue();
  const pending = q.get();
  q.shutDown();
  assert.equal(await pending, undefined);
  q.add('late');
  assert.equal(await q.get(), undefined);
});
