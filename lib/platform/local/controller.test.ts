// Tests of the local controller's pure helpers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crashLoopDelayMs } from './controller.js';

test('crash-loop backoff: first failure replaced at once, then doubling up to the cap', () => {
  const got = [1, 2, 3, 4, 8, 20].map((n) => crashLoopDelayMs(n, 1_000, 30_000));
  assert.deepEqual(got, [0, 1_000, 2_000, 4_000, 30_000, 30_000]);
});
