// Table tests for the time-weighted load average and the poke rate limit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LoadTracker, shouldPoke, type LoadReport } from './load-tracker.js';

type Step = ['arrive' | 'depart', number];

const rows: Array<{ name: string; input: { start: number; steps: Step[]; reportAt: number }; want: LoadReport }> = [
  { name: 'idle period', input: { start: 0, steps: [], reportAt: 1000 }, want: { averageConcurrency: 0, requestCount: 0, periodMs: 1000 } },
  {
    name: 'one request for half the period',
    input: { start: 0, steps: [['arrive', 0], ['depart', 500]], reportAt: 1000 },
    want: { averageConcurrency: 0.5, requestCount: 1, periodMs: 1000 },
  },
  {
    name: 'two overlapping requests',
    input: { start: 0, steps: [['arrive', 0], ['arrive', 250], ['depart', 750], ['depart', 1000]], reportAt: 1000 },
    want: { averageConcurrency: 1.5, requestCount: 2, periodMs: 1000 },
  },
  {
    name: 'request still held at the end counts to the end',
    input: { start: 0, steps: [['arrive', 200]], reportAt: 1000 },
    want: { averageConcurrency: 0.8, requestCount: 1, periodMs: 1000 },
  },
];

for (const row of rows) {
  test(`LoadTracker: ${row.name}`, () => {
    const tracker = new LoadTracker(row.input.start);
    for (const [kind, at] of row.input.steps) {
      if (kind === 'arrive') tracker.arrive(at);
      else tracker.depart(at);
    }
    const got = tracker.report(row.input.reportAt);
    assert.deepEqual(got, row.want, `want ${JSON.stringify(row.want)}, got ${JSON.stringify(got)}`);
  });
}

test('LoadTracker: a held request carries into the next period', () => {
  const tracker = new LoadTracker(0);
  tracker.arrive(500);
  tracker.report(1000);
  assert.ok(tracker.hadActivity(), 'still held');
  const got = tracker.report(2000);
  assert.deepEqual(got, { averageConcurrency: 1, requestCount: 0, periodMs: 1000 });
  tracker.depart(2000);
  tracker.report(3000);
  assert.equal(tracker.hadActivity(), false);
});

const pokeRows: Array<{ name: string; input: { ready: number; last: number | undefined; now: number }; want: boolean }> = [
  { name: 'first request at zero', input: { ready: 0, last: undefined, now: 100 }, want: true },
  { name: 'again within 500 ms', input: { ready: 0, last: 100, now: 599 }, want: false },
  { name: 'again after 500 ms', input: { ready: 0, last: 100, now: 600 }, want: true },
  { name: 'instances ready', input: { ready: 1, last: undefined, now: 100 }, want: false },
];

for (const row of pokeRows) {
  test(`shouldPoke: ${row.name}`, () => {
    const got = shouldPoke(row.input.ready, row.input.last, row.input.now);
    assert.equal(got, row.want, `want ${row.want}, got ${got}`);
  });
}
