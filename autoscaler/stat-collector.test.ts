// Tests of the stat collector: proxied subtraction, several pods, one stat per pod per second, stale pods, no data.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StatCollector, type StatSample } from './stat-collector.js';

const T0 = 1_000_000_000;
const S = 1_000;
const KEY = 'default/echo';
const WINDOWS = { stableWindowMs: 10 * S, panicWindowMs: 2 * S };

function stat(podName: string, averageConcurrency: number, averageProxiedConcurrency = 0, requestCount = 0, proxiedRequestCount = 0): StatSample {
  return { podName, averageConcurrency, averageProxiedConcurrency, requestCount, proxiedRequestCount };
}

function collector(): StatCollector {
  const c = new StatCollector();
  c.track(KEY, WINDOWS);
  return c;
}

test('StatCollector: queue-proxies subtract what the activator already reported', () => {
  const c = collector();
  c.record(KEY, stat('activator-1', 4), T0);
  c.record(KEY, stat('pod-a', 5, 3, 10, 6), T0);
  const got = c.observe(KEY, T0, 1);
  assert.deepEqual(
    { stable: got.stableConcurrency, panic: got.panicConcurrency, rps: got.stableRequestsPerSecond },
    { stable: 6, panic: 6, rps: 4 },
  );
});

test('StatCollector: pods add up per second', () => {
  const c = collector();
  for (let s = 0; s < 3; s++) {
    c.record(KEY, stat('pod-a', 2), T0 + s * S);
    c.record(KEY, stat('pod-b', 4), T0 + s * S + 400);
  }
  const got = c.observe(KEY, T0 + 2 * S, 2);
  assert.equal(got.stableConcurrency, 6);
  assert.equal(got.panicConcurrency, 6);
});

test('StatCollector: the latest stat of a pod in a second replaces the earlier one', () => {
  const c = collector();
  c.record(KEY, stat('pod-a', 2), T0);
  c.record(KEY, stat('pod-a', 3), T0 + 500);
  c.record(KEY, stat('pod-b', 1), T0 + 600);
  assert.equal(c.observe(KEY, T0 + 900, 2).panicConcurrency, 4);
});

test('StatCollector: a pod that stops reporting leaves the panic window, then the stable window', () => {
  const c = collector();
  for (let s = 0; s < 10; s++) {
    c.record(KEY, stat('pod-a', 1), T0 + s * S);
    if (s < 5) c.record(KEY, stat('pod-b', 9), T0 + s * S);
    c.observe(KEY, T0 + s * S, 2);
  }
  const mid = c.observe(KEY, T0 + 9 * S, 1);
  assert.equal(mid.panicConcurrency, 1, 'pod-b is out of the 2 s panic window');
  assert.equal(mid.stableConcurrency, (10 * 1 + 5 * 9) / 10, 'its past seconds still count in the stable window');
  assert.equal(c.trackedPods(KEY), 1, 'pod-b bookkeeping is forgotten');
  for (let s = 10; s < 20; s++) c.record(KEY, stat('pod-a', 1), T0 + s * S);
  assert.equal(c.observe(KEY, T0 + 19 * S, 1).stableConcurrency, 1);
});

test('StatCollector: no data with nothing in the panic window and no ready instance', () => {
  const c = collector();
  assert.equal(c.observe(KEY, T0, 0).hasData, false);
  assert.equal(c.observe(KEY, T0, 1).hasData, true, 'a ready instance with no stats is idle, which is data');
  c.record(KEY, stat('activator-1', 1), T0);
  const got = c.observe(KEY, T0 + S, 0);
  assert.equal(got.hasData, true);
  assert.equal(got.receivedStats, true);
  assert.equal(c.observe(KEY, T0 + 2 * S, 0).hasData, false, 'the stat left the 2 s panic window');
});

test('StatCollector: stats of untracked or forgotten functions are dropped', () => {
  const c = collector();
  assert.equal(c.record('default/other', stat('pod-a', 1), T0), false);
  c.forget(KEY);
  assert.equal(c.isTracked(KEY), false);
  assert.equal(c.record(KEY, stat('pod-a', 1), T0), false);
  assert.equal(c.observe(KEY, T0, 0).hasData, false);
});

test('StatCollector: negative results of the subtraction count as zero', () => {
  const c = collector();
  c.record(KEY, stat('pod-a', 1, 1.5), T0);
  assert.equal(c.observe(KEY, T0, 1).stableConcurrency, 0);
});
