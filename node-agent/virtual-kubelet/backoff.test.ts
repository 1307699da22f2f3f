import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KUBELET_BACKOFF, restartDecision, shouldRestart } from './backoff.js';
import type { BackoffEntry } from './backoff.js';

test('restartDecision: immediate first restart, then 10 s doubling up to 5 min (a container that exits at once every time)', () => {
  let entry: BackoffEntry | undefined;
  let now = 0;
  const waits: number[] = [];
  const messages: number[] = [];
  for (let i = 0; i < 9; i++) {
    const d = restartDecision(entry, now, now, KUBELET_BACKOFF);
    waits.push(d.waitMs);
    messages.push(d.delayMs);
    entry = d.next;
    now += d.waitMs; // restarts, exits right away
  }
  assert.deepEqual(waits, [0, 10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000]);
  assert.deepEqual(messages, waits);
});

test('restartDecision: table', () => {
  const config = { initialMs: 1_000, maxMs: 4_000 };
  const rows: Array<{ name: string; entry?: BackoffEntry; finishedAt: number; now: number; wait: number; next: BackoffEntry }> = [
    { name: 'no entry: at once', finishedAt: 50, now: 60, wait: 0, next: { delayMs: 1_000, lastUpdateMs: 60 } },
    { name: 'in back-off: the rest of the delay since the exit', entry: { delayMs: 2_000, lastUpdateMs: 0 }, finishedAt: 500, now: 1_000, wait: 1_500, next: { delayMs: 4_000, lastUpdateMs: 2_500 } },
    { name: 'delay already over (looked at late)', entry: { delayMs: 2_000, lastUpdateMs: 0 }, finishedAt: 500, now: 5_000, wait: 0, next: { delayMs: 4_000, lastUpdateMs: 5_000 } },
    { name: 'capped at max', entry: { delayMs: 4_000, lastUpdateMs: 0 }, finishedAt: 100, now: 100, wait: 4_000, next: { delayMs: 4_000, lastUpdateMs: 4_100 } },
    { name: 'ran longer than 2 × max since the last restart: starts over', entry: { delayMs: 4_000, lastUpdateMs: 0 }, finishedAt: 8_001, now: 8_001, wait: 0, next: { delayMs: 1_000, lastUpdateMs: 8_001 } },
    { name: 'exactly 2 × max: still in back-off', entry: { delayMs: 4_000, lastUpdateMs: 0 }, finishedAt: 8_000, now: 8_000, wait: 4_000, next: { delayMs: 4_000, lastUpdateMs: 12_000 } },
  ];
  for (const row of rows) {
    const d = restartDecision(row.entry, row.finishedAt, row.now, config);
    assert.equal(d.waitMs, row.wait, row.name);
    assert.deepEqual(d.next, row.next, row.name);
  }
});

test('shouldRestart: restartPolicy × exit code', () => {
  const rows: Array<[string | undefined, number, boolean]> = [
    [undefined, 0, true],
    ['Always', 0, true],
    ['Always', 1, true],
    ['OnFailure', 0, false],
    ['OnFailure', 137, true],
    ['Never', 0, false],
    ['Never', 1, false],
  ];
  for (const [policy, code, want] of rows) assert.equal(shouldRestart(policy, code), want, `${policy} ${code}`);
});
