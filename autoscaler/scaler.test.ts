// Tests of the scaler runner with a FakeClock and FakePlatform: actuation, ticks, pokes, watchers, deletion, retries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { silentLogger } from '../lib/logger.js';
import { FakeClock } from './clock.js';
import { defaultConfig, type AutoscalerConfig } from './config.js';
import { FakePlatform, testFunction } from './fake-platform.js';
import { createAutoscalerMetrics } from './metrics.js';
import { Scaler, type ScaleUpdate } from './scaler.js';
import type { StatSample } from './stat-collector.js';

const S = 1_000;

function testConfig(overrides: Partial<AutoscalerConfig> = {}): AutoscalerConfig {
  // Panic window 3 s: a 1 s panic window would only ever see the second being reported when ticks fall on whole seconds.
  return { ...defaultConfig(), stableWindowMs: 6 * S, panicWindowPercentage: 50, scaleToZeroGracePeriodMs: 2 * S, tickIntervalMs: S, ...overrides };
}

function stat(podName: string, averageConcurrency: number): StatSample {
  return { podName, averageConcurrency, averageProxiedConcurrency: 0, requestCount: averageConcurrency, proxiedRequestCount: 0 };
}

function setup(config = testConfig()) {
  const clock = new FakeClock();
  const platform = new FakePlatform();
  const registry = new Registry();
  const scaler = new Scaler({ config, platform, metrics: createAutoscalerMetrics(registry), logger: silentLogger(), clock });
  return { clock, platform, registry, scaler };
}

/**
 * Advances the clock second by second (ticks fire on whole seconds), calling `each` half-way
 * through every second as a reporting queue-proxy would, and letting setScale calls settle.
 */
async function advance(clock: FakeClock, scaler: Scaler, ms: number, each?: () => void): Promise<void> {
  for (let t = 0; t < ms; t += S) {
    clock.advance(S / 2);
    each?.();
    clock.advance(S / 2);
    await scaler.settled();
  }
}

test('Scaler: initial scale is actuated once the function and its endpoints are known', async () => {
  const { platform, scaler } = setup();
  platform.apply(testFunction('echo'));
  scaler.start();
  await scaler.settled();
  assert.deepEqual(platform.scaleCalls, [{ namespace: 'default', name: 'echo', desiredScale: 1 }]);
  await scaler.close();
});

test('Scaler: without endpoints the first decision waits for the next tick', async () => {
  const { clock, platform, scaler } = setup();
  scaler.start();
  platform.apply(testFunction('echo', { initialScale: 2 }), false);
  await scaler.settled();
  assert.deepEqual(platform.scaleCalls, []);
  await advance(clock, scaler, S);
  assert.equal(platform.lastScale('default', 'echo'), 2);
  await scaler.close();
});

test('Scaler: load scales up on the next tick', async () => {
  const { clock, platform, scaler, registry } = setup();
  platform.setReady('default', 'echo', 1);
  platform.apply(testFunction('echo'));
  scaler.start();
  assert.equal(scaler.recordStat('default', 'echo', stat('echo-0', 210)), true);
  await advance(clock, scaler, S);
  assert.equal(platform.lastScale('default', 'echo'), 3);
  const metrics = await registry.getSingleMetricAsString('sluice_autoscaler_desired_instances');
  assert.match(metrics, /sluice_autoscaler_desired_instances\{namespace="default",function="echo"\} 3/);
  await scaler.close();
});

test('Scaler: an idle function goes to zero after the stable window plus the grace period', async () => {
  const { clock, platform, scaler } = setup();
  platform.setReady('default', 'echo', 1);
  platform.apply(testFunction('echo'));
  scaler.start();
  await advance(clock, scaler, S, () => void scaler.recordStat('default', 'echo', stat('echo-0', 10)));
  const idle = (): void => void scaler.recordStat('default', 'echo', stat('echo-0', 0));
  await advance(clock, scaler, 4 * S, idle);
  assert.equal(platform.lastScale('default', 'echo'), 1, 'the load is still in the stable window');
  await advance(clock, scaler, 2 * S, idle);
  assert.equal(platform.lastScale('default', 'echo'), 1, 'within the grace period');
  await advance(clock, scaler, 2 * S, idle);
  assert.equal(platform.lastScale('default', 'echo'), 0);
  await scaler.close();
});

test('Scaler: a poke scales from zero at once, without a tick', async () => {
  const { platform, scaler } = setup();
  platform.apply(testFunction('echo', { initialScale: 0 }));
  scaler.start();
  await scaler.settled();
  assert.equal(platform.lastScale('default', 'echo'), 0);
  assert.equal(scaler.poke('default', 'echo', 1), true);
  await scaler.settled();
  assert.equal(platform.lastScale('default', 'echo'), 1);
  assert.equal(scaler.poke('default', 'missing', 1), false);
  await scaler.close();
});

test('Scaler: watchers get the current state first, then changes, then deletion', async () => {
  const { clock, platform, scaler, registry } = setup();
  platform.setReady('default', 'echo', 1);
  platform.apply(testFunction('echo'));
  scaler.start();
  const updates: ScaleUpdate[] = [];
  const unsubscribe = scaler.subscribe((u) => updates.push(u));
  assert.equal(updates.length, 1);
  assert.deepEqual([updates[0].function, updates[0].desiredScale, updates[0].readyInstances], ['echo', 1, 1]);
  await advance(clock, scaler, S, () => void scaler.recordStat('default', 'echo', stat('echo-0', 350)));
  assert.equal(updates.at(-1)?.desiredScale, 5);
  assert.equal(updates.at(-1)?.panicMode, true);
  platform.delete('default', 'echo');
  assert.equal(updates.at(-1)?.deleted, true);
  assert.equal(scaler.poke('default', 'echo', 1), false, 'deleted functions are forgotten');
  assert.equal(scaler.recordStat('default', 'echo', stat('echo-0', 1)), false);
  assert.doesNotMatch(await registry.metrics(), /function="echo"/);
  unsubscribe();
  await scaler.close();
});

test('Scaler: a failed setScale is retried on the next tick', async () => {
  const { clock, platform, scaler } = setup();
  platform.failSetScale = 1;
  platform.apply(testFunction('echo'));
  scaler.start();
  await scaler.settled();
  assert.deepEqual(platform.scaleCalls, []);
  await advance(clock, scaler, S);
  assert.equal(platform.lastScale('default', 'echo'), 1);
  await advance(clock, scaler, 3 * S);
  assert.equal(platform.scaleCalls.length, 1, 'an unchanged decision is not re-sent');
  await scaler.close();
});

test('Scaler: a changed spec takes effect at once', async () => {
  const { platform, scaler } = setup();
  platform.setReady('default', 'echo', 4);
  platform.apply(testFunction('echo', { minScale: 4 }));
  scaler.start();
  await scaler.settled();
  assert.equal(platform.lastScale('default', 'echo'), 4);
  platform.apply(testFunction('echo', { maxScale: 2 }));
  await scaler.settled();
  assert.equal(platform.lastScale('default', 'echo'), 2);
  await scaler.close();
});

test('Scaler: close stops the ticker', async () => {
  const { clock, platform, scaler } = setup();
  platform.apply(testFunction('echo'));
  scaler.start();
  assert.equal(clock.pendingTimers, 1);
  await scaler.close();
  assert.equal(clock.pendingTimers, 0);
});
