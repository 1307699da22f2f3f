// The deferred reporter loads gRPC only after its trigger and a delay; before that it drops stats.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DeferredStatsReporter } from './deferred-stats-reporter.js';
import { silentLogger } from './logger.js';
import type { Stat } from './stats-reporter.js';

const STAT: Stat = { namespace: 'default', function: 'f', pod_name: 'p', average_concurrency: 1 };

/** The reporter's timers are unref'd (they must not keep a component alive); the test keeps the loop alive itself. */
function keepLoopAlive(): () => void {
  const timer = setInterval(() => undefined, 1_000);
  return () => clearInterval(timer);
}

test('drops stats until the trigger has settled and the delay passed, then reports', async () => {
  let release!: () => void;
  const trigger = new Promise<void>((resolve) => (release = resolve));
  const reporter = new DeferredStatsReporter('127.0.0.1:1', silentLogger(), trigger, 50, 60_000);
  const stopKeepingAlive = keepLoopAlive();
  try {
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(reporter.loaded, false);
    assert.equal(reporter.report(STAT), false, 'reported before the trigger');
    const releasedAt = Date.now();
    release();
    await reporter.ready();
    assert.ok(Date.now() - releasedAt >= 45, 'loaded before the delay passed');
    assert.equal(reporter.loaded, true);
    assert.equal(reporter.report(STAT), true, 'no stream after loading');
  } finally {
    stopKeepingAlive();
    await reporter.close();
  }
});

test('loads after the maximum delay even if the trigger never settles', async () => {
  const reporter = new DeferredStatsReporter('127.0.0.1:1', silentLogger(), new Promise(() => undefined), 10, 50);
  const stopKeepingAlive = keepLoopAlive();
  try {
    await reporter.ready();
    assert.equal(reporter.report(STAT), true);
  } finally {
    stopKeepingAlive();
    await reporter.close();
  }
});

test('loadNow loads at once', async () => {
  const reporter = new DeferredStatsReporter('127.0.0.1:1', silentLogger(), new Promise(() => undefined), 60_000, 60_000);
  const stopKeepingAlive = keepLoopAlive();
  try {
    await reporter.loadNow();
    assert.equal(reporter.loaded, true);
  } finally {
    stopKeepingAlive();
    await reporter.close();
  }
});

test('the maximum delay stays a maximum when the trigger settles just before it', async () => {
  let release!: () => void;
  const trigger = new Promise<void>((resolve) => (release = resolve));
  const startedAt = Date.now();
  const reporter = new DeferredStatsReporter('127.0.0.1:1', silentLogger(), trigger, 5_000, 200);
  const stopKeepingAlive = keepLoopAlive();
  try {
    setTimeout(release, 150);
    await reporter.ready();
    assert.ok(Date.now() - startedAt < 1_000, `loaded after ${Date.now() - startedAt} ms, past the 200 ms maximum`);
  } finally {
    stopKeepingAlive();
    await reporter.close();
  }
});
