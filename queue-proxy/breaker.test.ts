// Table tests for the breaker: slots, FIFO hand-over, queue limit and leaving the queue.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isSluiceError } from '../lib/errors.js';
import { Breaker, type BreakerWaiter } from './breaker.js';

/** `acquire`, `release`, or `cancel N` (N = index of the acquire op that queued). */
type Op = 'acquire' | 'release' | `cancel ${number}`;

interface Row {
  name: string;
  input: { concurrency: number; queueDepth: number; ops: Op[] };
  want: {
    /** Per op: slot | queued | QUEUE_FULL for acquire; left | owns-slot for cancel; - for release. */
    results: string[];
    inFlight: number;
    queued: number;
    /** Op indexes of waiters that got a slot, in grant order. */
    granted: number[];
  };
}

const rows: Row[] = [
  {
    name: 'unlimited never queues',
    input: { concurrency: 0, queueDepth: 5, ops: ['acquire', 'acquire', 'acquire', 'release'] },
    want: { results: ['slot', 'slot', 'slot', '-'], inFlight: 2, queued: 0, granted: [] },
  },
  {
    name: 'slots up to concurrency, then queue, then full',
    input: { concurrency: 2, queueDepth: 1, ops: ['acquire', 'acquire', 'acquire', 'acquire'] },
    want: { results: ['slot', 'slot', 'queued', 'QUEUE_FULL'], inFlight: 2, queued: 1, granted: [] },
  },
  {
    name: 'zero queue depth rejects at once',
    input: { concurrency: 1, queueDepth: 0, ops: ['acquire', 'acquire'] },
    want: { results: ['slot', 'QUEUE_FULL'], inFlight: 1, queued: 0, granted: [] },
  },
  {
    name: 'release hands the slot to waiters in FIFO order',
    input: { concurrency: 1, queueDepth: 3, ops: ['acquire', 'acquire', 'acquire', 'acquire', 'release', 'release'] },
    want: { results: ['slot', 'queued', 'queued', 'queued', '-', '-'], inFlight: 1, queued: 1, granted: [1, 2] },
  },
  {
    name: 'a newcomer cannot overtake the queue',
    input: { concurrency: 1, queueDepth: 2, ops: ['acquire', 'acquire', 'release', 'acquire'] },
    want: { results: ['slot', 'queued', '-', 'queued'], inFlight: 1, queued: 1, granted: [1] },
  },
  {
    name: 'a cancelled waiter leaves the queue and frees its place',
    input: { concurrency: 1, queueDepth: 2, ops: ['acquire', 'acquire', 'acquire', 'cancel 1', 'acquire', 'release'] },
    want: { results: ['slot', 'queued', 'queued', 'left', 'queued', '-'], inFlight: 1, queued: 1, granted: [2] },
  },
  {
    name: 'cancelling the middle waiter keeps order',
    input: { concurrency: 1, queueDepth: 3, ops: ['acquire', 'acquire', 'acquire', 'acquire', 'cancel 2', 'release', 'release'] },
    want: { results: ['slot', 'queued', 'queued', 'queued', 'left', '-', '-'], inFlight: 1, queued: 0, granted: [1, 3] },
  },
  {
    name: 'cancel after grant: the caller owns the slot',
    input: { concurrency: 1, queueDepth: 1, ops: ['acquire', 'acquire', 'release', 'cancel 1', 'release'] },
    want: { results: ['slot', 'queued', '-', 'owns-slot', '-'], inFlight: 0, queued: 0, granted: [1] },
  },
  {
    name: 'release with nothing in flight stays at zero',
    input: { concurrency: 1, queueDepth: 1, ops: ['release', 'acquire'] },
    want: { results: ['-', 'slot'], inFlight: 1, queued: 0, granted: [] },
  },
];

for (const row of rows) {
  test(`breaker: ${row.name}`, async () => {
    const breaker = new Breaker({ concurrency: row.input.concurrency, queueDepth: row.input.queueDepth });
    const waiters = new Map<number, BreakerWaiter>();
    const granted: number[] = [];
    const results: string[] = [];
    row.input.ops.forEach((op, i) => {
      if (op === 'acquire') {
        try {
          const waiter = breaker.acquire();
          if (waiter === undefined) results.push('slot');
          else {
            waiters.set(i, waiter);
            void waiter.granted.then(() => granted.push(i));
            results.push('queued');
          }
        } catch (err) {
          assert.ok(isSluiceError(err));
          assert.equal(err.status, 503);
          assert.equal(err.retryAfterSeconds, 1);
          results.push(err.code);
        }
      } else if (op === 'release') {
        breaker.release();
        results.push('-');
      } else {
        const waiter = waiters.get(Number(op.split(' ')[1]));
        assert.ok(waiter, `${op} names no queued waiter`);
        results.push(waiter.cancel() ? 'left' : 'owns-slot');
      }
    });
    await new Promise((resolve) => setImmediate(resolve));
    const got = { results, inFlight: breaker.inFlight, queued: breaker.queued, granted };
    assert.deepEqual(got, row.want, `want ${JSON.stringify(row.want)}\n got ${JSON.stringify(got)}`);
  });
}

test('breaker: QUEUE_FULL message names the upstream', () => {
  const breaker = new Breaker({ concurrency: 1, queueDepth: 0, name: 'function default/echo instance echo-1' });
  breaker.acquire();
  assert.throws(() => breaker.acquire(), /function default\/echo instance echo-1: queue full/);
});

test('breaker: rejects invalid sizes', () => {
  assert.throws(() => new Breaker({ concurrency: -1, queueDepth: 0 }), RangeError);
  assert.throws(() => new Breaker({ concurrency: 1, queueDepth: 1.5 }), RangeError);
});
