// The autoscaler over real gRPC on loopback with a FakePlatform and FakeClock: pokes, streamed stats, scale watches.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { grpc } from '../lib/grpc.js';
import { silentLogger } from '../lib/logger.js';
import { createAutoscalerClient, StatsReporter, type Stat } from '../lib/stats-reporter.js';
import type { ScaleUpdate__Output } from '../protos/generated/sluice/autoscaler/v1/ScaleUpdate.js';
import { startAutoscaler } from './autoscaler.js';
import { FakeClock } from './clock.js';
import { defaultConfig } from './config.js';
import { FakePlatform, testFunction } from './fake-platform.js';

async function start(platform: FakePlatform) {
  const clock = new FakeClock();
  const registry = new Registry();
  const config = { ...defaultConfig(), grpcAddress: '127.0.0.1:0', metricsPort: 0, stableWindowMs: 6_000, tickIntervalMs: 1_000 };
  const autoscaler = await startAutoscaler(config, { platform, logger: silentLogger(), registry, clock });
  const client = createAutoscalerClient(`127.0.0.1:${autoscaler.grpcPort}`);
  return { clock, registry, autoscaler, client, config };
}

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function poke(client: ReturnType<typeof createAutoscalerClient>, fn: string, concurrency: number): Promise<grpc.ServiceError | null> {
  return new Promise((resolve) => client.Poke({ namespace: 'default', function: fn, concurrency }, (err) => resolve(err)));
}

function stat(pod: string, concurrency: number, clock: FakeClock): Stat {
  return {
    namespace: 'default',
    function: 'echo',
    pod_name: pod,
    source: 'STAT_SOURCE_QUEUE_PROXY',
    average_concurrency: concurrency,
    average_proxied_concurrency: 0,
    request_count: concurrency,
    proxied_request_count: 0,
    timestamp_ms: clock.now(),
    period_ms: 1_000,
  };
}

test('Poke for a function at zero scales it up without waiting for a tick', async () => {
  const platform = new FakePlatform();
  platform.apply(testFunction('echo', { initialScale: 0 }));
  const { autoscaler, client } = await start(platform);
  try {
    await platform.waitForScale((c) => c.name === 'echo' && c.desiredScale === 0);
    // The FakeClock never advances in this test: no tick can happen.
    assert.equal(await poke(client, 'echo', 1), null);
    const call = await platform.waitForScale((c) => c.name === 'echo' && c.desiredScale >= 1);
    assert.deepEqual(call, { namespace: 'default', name: 'echo', desiredScale: 1 });

    const missing = await poke(client, 'nope', 1);
    assert.equal(missing?.code, grpc.status.NOT_FOUND);
    assert.match(missing?.details ?? '', /FUNCTION_NOT_FOUND/);
  } finally {
    client.close();
    await autoscaler.close();
  }
});

test('Stats streamed by two pods reach WatchScale as the desired scale', async () => {
  const platform = new FakePlatform();
  platform.setReady('default', 'echo', 2);
  platform.apply(testFunction('echo'));
  const { autoscaler, client, clock, registry } = await start(platform);
  const updates: ScaleUpdate__Output[] = [];
  const watch = client.WatchScale({ watcher: 'test' });
  watch.on('data', (u: ScaleUpdate__Output) => updates.push(u));
  watch.on('error', () => undefined); // cancelled at the end
  const podA = new StatsReporter('', silentLogger(), client);
  const podB = client.ReportStats(() => undefined);
  try {
    await until(() => updates.length > 0, 'the initial state');
    assert.deepEqual([updates[0].function, updates[0].ready_instances, updates[0].deleted], ['echo', 2, false]);

    // 2 pods × 140 concurrent requests at a target of 70 per instance → 4 instances.
    assert.equal(podA.report(stat('echo-a', 140, clock)), true);
    podB.write(stat('echo-b', 140, clock));
    await until(async () => /function="echo"\} 2/.test(await registry.getSingleMetricAsString('sluice_autoscaler_stats_received_total')), 'both stats');
    clock.advance(1_000);
    await until(() => updates.some((u) => u.desired_scale === 4), 'desired scale 4 on the watch');
    const update = updates.find((u) => u.desired_scale === 4);
    assert.equal(update?.observed_stable_concurrency, 280);
    assert.equal(update?.ready_instances, 2);
    await platform.waitForScale((c) => c.name === 'echo' && c.desiredScale === 4);

    platform.delete('default', 'echo');
    await until(() => updates.at(-1)?.deleted === true, 'the deletion on the watch');
  } finally {
    podB.end();
    await podA.close();
    watch.cancel();
    client.close();
    await autoscaler.close();
  }
});

test('The metrics port serves /metrics and /healthz', async () => {
  const platform = new FakePlatform();
  platform.apply(testFunction('echo'));
  const { autoscaler, client } = await start(platform);
  try {
    const health = await fetch(`http://127.0.0.1:${autoscaler.metricsPort}/healthz`);
    assert.equal(health.status, 200);
    const metrics = await (await fetch(`http://127.0.0.1:${autoscaler.metricsPort}/metrics`)).text();
    assert.match(metrics, /sluice_autoscaler_desired_instances\{namespace="default",function="echo"\} 1/);
    assert.equal((await fetch(`http://127.0.0.1:${autoscaler.metricsPort}/nope`)).status, 404);
  } finally {
    client.close();
    await autoscaler.close();
  }
});

test('close ends open stats and watch streams', async () => {
  const platform = new FakePlatform();
  platform.apply(testFunction('echo'));
  const { autoscaler, client, clock } = await start(platform);
  const watch = client.WatchScale({ watcher: 'test' });
  const watchEnded = new Promise<void>((resolve) => {
    watch.on('data', () => undefined);
    watch.on('end', resolve);
    watch.on('error', () => resolve());
  });
  const statsDone = new Promise<grpc.ServiceError | null>((resolve) => {
    const stream = client.ReportStats((err) => resolve(err));
    stream.write(stat('echo-a', 1, clock));
  });
  try {
    await until(() => (autoscaler.scaler.snapshot()).length === 1, 'the function');
    await new Promise((resolve) => setTimeout(resolve, 50));
    await autoscaler.close();
    assert.equal(await statsDone, null, 'the stats call is answered with OK');
    await watchEnded;
  } finally {
    client.close();
    await autoscaler.close();
  }
});
