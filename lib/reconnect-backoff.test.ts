// Table tests for the reconnect backoff: doubling up to the cap, one pending retry, reset, cancel.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ReconnectBackoff } from './reconnect-backoff.js';

type Step = 'schedule' | 'cancel' | 'reset';

/** Each step is followed by a reading of [nextDelayMs, pending]; every test cancels at the end. */
const rows: Array<{ name: string; input: Step[]; want: Array<[number, boolean]> }> = [
  { name: 'a new backoff waits the initial delay', input: [], want: [] },
  { name: 'each retry doubles the next delay', input: ['schedule', 'cancel', 'schedule', 'cancel', 'schedule'], want: [[200, true], [200, false], [400, true], [400, false], [800, true]] },
  { name: 'a retry already pending is not doubled', input: ['schedule', 'schedule', 'schedule'], want: [[200, true], [200, true], [200, true]] },
  {
    name: 'the delay stops at the cap',
    input: ['schedule', 'cancel', 'schedule', 'cancel', 'schedule', 'cancel', 'schedule', 'cancel', 'schedule', 'cancel', 'schedule'],
    want: [[200, true], [200, false], [400, true], [400, false], [800, true], [800, false], [1600, true], [1600, false], [2000, true], [2000, false], [2000, true]],
  },
  { name: 'reset goes back to the initial delay', input: ['schedule', 'cancel', 'schedule', 'reset'], want: [[200, true], [200, false], [400, true], [100, true]] },
];

for (const row of rows) {
  test(`ReconnectBackoff: ${row.name}`, () => {
    const backoff = new ReconnectBackoff(100, 2_000);
    assert.equal(backoff.nextDelayMs, 100);
    const got: Array<[number, boolean]> = [];
    try {
      for (const step of row.input) {
        if (step === 'schedule') backoff.schedule(() => assert.fail('no retry runs during the test'));
        else if (step === 'cancel') backoff.cancel();
        else backoff.reset();
        got.push([backoff.nextDelayMs, backoff.pending]);
      }
    } finally {
      backoff.cancel();
    }
    assert.deepEqual(got, row.want, `want ${JSON.stringify(row.want)}, got ${JSON.stringify(got)}`);
  });
}

test('ReconnectBackoff: the retry runs after the delay and is no longer pending', async () => {
  const backoff = new ReconnectBackoff(1, 10);
  await new Promise<void>((resolve) => backoff.schedule(resolve));
  assert.equal(backoff.pending, false);
  assert.equal(backoff.nextDelayMs, 2);
});
