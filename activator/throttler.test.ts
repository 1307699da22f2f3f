// Unit tests for the per-function throttler: slots, FIFO waiting, deadlines, aborts and endpoint changes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SluiceError } from '../lib/errors.js';
import type { Endpoint } from '../lib/platform/types.js';
import { Throttler, type ThrottlerOptions, type TrackedEndpoint } from './throttler.js';

function endpoint(name: string, port = 8012): Endpoint {
  return { instanceName: name, node: 'node-1', ip: '127.0.1.2', trafficPort: port };
}

function throttler(overrides: Partial<ThrottlerOptions> = {}): Throttler {
  return new Throttler({
    functionName: 'default/hello',
    containerConcurrency: 1,
    queueDepth: 10,
    queueTimeoutMs: 5_000,
    retryAfterSeconds: 1,
    random: () => 0,
    ...overrides,
  });
}

function name(endpoint: TrackedEndpoint | undefined): string | undefined {
  return endpoint?.endpoint.instanceName;
}

test('tryAcquire takes a free slot and respects containerConcurrency', () => {
  const t = throttler({ containerConcurrency: 2 });
  t.setEndpoints([endpoint('a', 1)]);
  const first = t.tryAcquire();
  const second = t.tryAcquire();
  assert.equal(name(first), 'a');
  assert.equal(name(second), 'a');
  assert.equal(t.tryAcquire(), undefined, 'third request must not exceed capacity 2');
  assert.equal(t.inFlight, 2);
  t.release(first as TrackedEndpoint);
  assert.equal(name(t.tryAcquire()), 'a');
  t.close(new SluiceError('SHUTTING_DOWN', 'test over'));
});

test('containerConcurrency 0 means unlimited slots', () => {
  const t = throttler({ containerConcurrency: 0 });
  t.setEndpoints([endpoint('a', 1), endpoint('b', 2)]);
  for (let i = 0; i < 100; i++) assert.ok(t.tryAcquire());
  assert.equal(t.inFlight, 100);
  assert.equal(t.policyName, 'random-choice-2');
});

test('a waiter is dispatched when an endpoint arrives', async () => {
  const t = throttler();
  assert.equal(t.tryAcquire(), undefined);
  const waiting = t.wait();
  assert.equal(t.queued, 1);
  t.setEndpoints([endpoint('a')]);
  assert.equal(name(await waiting), 'a');
  assert.equal(t.queued, 0);
  assert.equal(t.inFlight, 1);
});

test('waiters are served in FIFO order as slots free', async () => {
  const t = throttler();
  t.setEndpoints([endpoint('a')]);
  const held = t.tryAcquire() as TrackedEndpoint;
  const order: number[] = [];
  const waits = [0, 1, 2].map((i) =>
    t.wait().then((ep) => {
      order.push(i);
      return ep;
    }),
  );
  assert.equal(t.tryAcquire(), undefined, 'arrivals must not overtake waiters');
  t.release(held);
  const first = await waits[0];
  t.release(first);
  const second = await waits[1];
  t.release(second);
  await waits[2];
  assert.deepEqual(order, [0, 1, 2]);
});

test('a full queue rejects with QUEUE_FULL and Retry-After', async () => {
  const t = throttler({ queueDepth: 2, retryAfterSeconds: 3 });
  const waits = [t.wait(), t.wait()];
  await assert.rejects(t.wait(), (err: unknown) => {
    assert.ok(err instanceof SluiceError);
    assert.equal(err.code, 'QUEUE_FULL');
    assert.equal(err.status, 503);
    assert.equal(err.retryAfterSeconds, 3);
    assert.match(err.message, /default\/hello/);
    return true;
  });
  t.close(new SluiceError('SHUTTING_DOWN', 'test over'));
  await Promise.allSettled(waits);
});

test('a waiter past its deadline gets NO_CAPACITY and leaves the queue', async () => {
  const t = throttler({ queueTimeoutMs: 20, retryAfterSeconds: 2 });
  await assert.rejects(t.wait(), (err: unknown) => {
    assert.ok(err instanceof SluiceError);
    assert.equal(err.code, 'NO_CAPACITY');
    assert.equal(err.retryAfterSeconds, 2);
    return true;
  });
  assert.equal(t.queued, 0);
});

test('aborting a waiter removes it from the queue', async () => {
  const t = throttler();
  const controller = new AbortController();
  const first = t.wait({ signal: controller.signal });
  const second = t.wait();
  controller.abort(new Error('client went away'));
  await assert.rejects(first, /client went away/);
  assert.equal(t.queued, 1);
  t.setEndpoints([endpoint('a')]);
  assert.equal(name(await second), 'a');
});

test('an already aborted signal rejects at once', async () => {
  const t = throttler();
  await assert.rejects(t.wait({ signal: AbortSignal.abort(new Error('gone')) }), /gone/);
  assert.equal(t.queued, 0);
});

test('removed endpoints get no new requests; their in-flight release is harmless', () => {
  const removed: string[] = [];
  const t = throttler({ onEndpointRemoved: (origin) => removed.push(origin) });
  t.setEndpoints([endpoint('a', 1), endpoint('b', 2)]);
  const onA = t.tryAcquire() as TrackedEndpoint;
  assert.equal(name(onA), 'a');
  t.setEndpoints([endpoint('b', 2)]);
  assert.deepEqual(removed, ['http://127.0.1.2:1']);
  assert.equal(onA.active, false);
  assert.equal(name(t.tryAcquire()), 'b');
  assert.equal(t.tryAcquire(), undefined, 'a is gone and b is full');
  t.release(onA);
  assert.equal(t.tryAcquire(), undefined, 'releasing on a removed endpoint frees nothing usable');
  assert.equal(t.inFlight, 1);
});

test('a dropped endpoint is skipped while the platform still lists it, then tried again', async () => {
  const removed: string[] = [];
  const t = throttler({ quarantineMs: 30, onEndpointRemoved: (origin) => removed.push(origin) });
  t.setEndpoints([endpoint('a', 1), endpoint('b', 2)]);
  const onA = t.tryAcquire() as TrackedEndpoint;
  t.release(onA);
  t.drop(onA);
  assert.deepEqual(removed, ['http://127.0.1.2:1']);
  t.setEndpoints([endpoint('a', 1), endpoint('b', 2)]);
  assert.equal(t.readyCount, 1);
  assert.equal(name(t.tryAcquire()), 'b');
  const waiting = t.wait();
  assert.equal(name(await waiting), 'a', 'after the quarantine a comes back and takes the waiter');
  assert.equal(t.readyCount, 2);
});

test('retries queued at the front keep their turn', async () => {
  const t = throttler();
  const order: string[] = [];
  const normal = t.wait().then(() => order.push('normal'));
  const retry = t.wait({ front: true }).then(() => order.push('retry'));
  t.setEndpoints([endpoint('a', 1), endpoint('b', 2)]);
  await Promise.all([normal, retry]);
  assert.deepEqual(order, ['retry', 'normal']);
});

test('raising containerConcurrency dispatches waiters and switches the policy', async () => {
  const t = throttler({ containerConcurrency: 1 });
  t.setEndpoints([endpoint('a')]);
  t.tryAcquire();
  const waiting = t.wait();
  t.configure({ containerConcurrency: 10, queueTimeoutMs: 5_000 });
  assert.equal(name(await waiting), 'a');
  assert.equal(t.policyName, 'round-robin');
});

test('close rejects waiters and later waits', async () => {
  const t = throttler();
  const waiting = t.wait();
  t.close(new SluiceError('FUNCTION_NOT_FOUND', 'function default/hello was deleted'));
  await assert.rejects(waiting, /deleted/);
  await assert.rejects(t.wait(), /deleted/);
  assert.equal(t.tryAcquire(), undefined);
});
