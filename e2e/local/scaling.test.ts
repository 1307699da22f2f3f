// Integration tests of autoscaling on a real local cluster, with test-shortened windows.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LocalCluster } from '../../cli/local-cluster.js';
import { eventually, fn, instanceCount, readyCount, startTestCluster } from './cluster-helpers.js';

let cluster: LocalCluster;

before(async () => {
  cluster = await startTestCluster(
    [
      fn('idle', 'hello', '  scaling:\n    initialScale: 1\n    stableWindow: 6s\n    scaleToZeroGracePeriod: 1s\n'),
      fn('steady', 'sleep', '  scaling:\n    initialScale: 1\n    maxScale: 3\n    target: 2\n    stableWindow: 6s\n    scaleToZeroGracePeriod: 1s\n'),
    ].join(''),
    { SLUICE_AUTOSCALER_TICK_INTERVAL: '1s' },
  );
});

after(async () => {
  await cluster?.stop();
});

test('an idle function scales back to zero after its stable window and grace period', async () => {
  assert.ok(await eventually(() => readyCount(cluster, 'idle') === 1, 15_000), 'idle never reached its initial scale');
  const res = await fetch(`${cluster.ingressUrl}/fn/default/idle/`);
  assert.equal(res.status, 200);
  await res.text();
  const atZero = await eventually(() => instanceCount(cluster, 'idle') === 0, 30_000);
  assert.ok(atZero, `idle still has ${instanceCount(cluster, 'idle')} instances`);
});

test('scaling down under steady load fails no request', async () => {
  // The function may be at zero by now (its windows are short): the load itself scales it up.
  const statuses = new Map<number, number>();
  let running = true;
  let workers = 8;
  const worker = async (id: number): Promise<void> => {
    while (running && id < workers) {
      const res = await fetch(`${cluster.ingressUrl}/fn/default/steady/?ms=50`).catch(() => undefined);
      const status = res?.status ?? 0;
      await res?.text();
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
  };
  const all = Array.from({ length: 8 }, (_, id) => worker(id));
  // Phase 1: high load scales the function up.
  const scaledUp = await eventually(() => readyCount(cluster, 'steady') >= 3, 20_000);
  assert.ok(scaledUp, `steady reached only ${readyCount(cluster, 'steady')} ready instances`);
  // Phase 2: a lower steady load lets the autoscaler scale down while requests keep flowing.
  workers = 1;
  const scaledDown = await eventually(() => instanceCount(cluster, 'steady') <= 2, 40_000);
  await sleep(1_000);
  running = false;
  await Promise.all(all);
  assert.ok(scaledDown, `steady never scaled down (instances: ${instanceCount(cluster, 'steady')})`);
  const ok = statuses.get(200) ?? 0;
  statuses.delete(200);
  assert.ok(ok > 50, `only ${ok} requests completed`);
  assert.deepEqual(Object.fromEntries(statuses), {}, 'some requests failed while scaling down');
});
