// Integration tests of the activator's limits on a real local cluster: body size and queue depth.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { LocalCluster } from '../../cli/local-cluster.js';
import { eventually, fn, readyCount, startTestCluster } from './cluster-helpers.js';

let cluster: LocalCluster;

before(async () => {
  cluster = await startTestCluster(
    [fn('echo', 'echo', '  scaling:\n    minScale: 1\n'), fn('single', 'sleep', '  containerConcurrency: 1\n  scaling:\n    minScale: 1\n    maxScale: 1\n')].join(''),
    { SLUICE_ACTIVATOR_MAX_BODY_BYTES: '65536', SLUICE_ACTIVATOR_QUEUE_DEPTH: '5' },
  );
});

after(async () => {
  await cluster?.stop();
});

test('a body within the limit is echoed; a body above it gets 413 BODY_TOO_LARGE', async () => {
  assert.ok(await eventually(() => readyCount(cluster, 'echo') === 1, 15_000));
  const small = Buffer.alloc(60_000, 1);
  const ok = await fetch(`${cluster.ingressUrl}/fn/default/echo/`, { method: 'POST', body: small });
  assert.equal(ok.status, 200);
  assert.equal((await ok.arrayBuffer()).byteLength, small.length);
  const res = await fetch(`${cluster.ingressUrl}/fn/default/echo/`, { method: 'POST', body: Buffer.alloc(70_000, 1) });
  assert.equal(res.status, 413);
  assert.equal(((await res.json()) as { code: string }).code, 'BODY_TOO_LARGE');
});

test('overload beyond the queue gets 503 QUEUE_FULL with Retry-After, and nothing else fails', async () => {
  assert.ok(await eventually(() => readyCount(cluster, 'single') === 1, 15_000));
  const results = await Promise.all(
    Array.from({ length: 20 }, async () => {
      const res = await fetch(`${cluster.ingressUrl}/fn/default/single/?ms=300`);
      const text = await res.text();
      return { status: res.status, retryAfter: res.headers.get('retry-after'), text };
    }),
  );
  const rejected = results.filter((r) => r.status === 503);
  const served = results.filter((r) => r.status === 200);
  assert.ok(rejected.length >= 1, 'expected some requests beyond the queue to be rejected');
  assert.equal(served.length + rejected.length, 20, `unexpected statuses: ${JSON.stringify(results.map((r) => r.status))}`);
  // One in flight plus a queue of 5 are served.
  assert.ok(served.length >= 6, `only ${served.length} served`);
  for (const r of rejected) {
    assert.equal(r.retryAfter, '1');
    assert.equal((JSON.parse(r.text) as { code: string }).code, 'QUEUE_FULL');
  }
});
