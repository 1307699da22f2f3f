// Tests for the WatchScale follower against a FakeAutoscaler, including reconnecting after the autoscaler restarts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../lib/logger.js';
import { createAutoscalerClient } from '../lib/stats-reporter.js';
import { ScaleWatcher, type ScaleUpdate } from './scale-watcher.js';
import { FakeAutoscaler } from '../lib/testing/fake-autoscaler.js';

async function eventually(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test('ScaleWatcher delivers updates and reconnects after the autoscaler restarts', async () => {
  const first = new FakeAutoscaler();
  const address = await first.start();
  const client = createAutoscalerClient(address);
  const updates: ScaleUpdate[] = [];
  let resets = 0;
  const watcher = new ScaleWatcher({
    client,
    watcher: 'activator-test',
    logger: silentLogger(),
    onReset: () => resets++,
    onUpdate: (update) => updates.push(update),
  });
  let second: FakeAutoscaler | undefined;
  try {
    watcher.start();
    await first.watched();
    first.pushScale({ namespace: 'default', function: 'hello', desired_scale: 2 });
    await eventually(() => updates.length === 1, 'first update');
    assert.equal(updates[0].desired_scale, 2);
    assert.equal(resets, 1);

    await first.close();
    second = new FakeAutoscaler();
    await second.start(address);
    await second.watched();
    second.pushScale({ namespace: 'default', function: 'hello', desired_scale: 5 });
    await eventually(() => updates.length === 2, 'update after reconnect');
    assert.equal(updates[1].desired_scale, 5);
    assert.equal(resets, 2);
  } finally {
    watcher.stop();
    client.close();
    await first.close();
    await second?.close();
  }
});
