// Table tests for the concurrency tracker with a fake clock: time-weighted averages, counts, proxied share, reset, activity.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConcurrencyTracker, type PeriodStat } from './concurrency-tracker.js';

/** [time ms, event]; 'start'/'end' plain requests, 'start-p'/'end-p' proxied ones, 'report' closes a period. */
type Event = [number, 'start' | 'end' | 'start-p' | 'end-p' | 'report'];

interface Row {
  name: string;
  input: Event[];
  /** One PeriodStat per 'report' event. */
  want: PeriodStat[];
}

const stat = (average: number, proxiedAverage: number, requests: number, proxied: number, periodMs: number): PeriodStat => ({
  average_concurrency: average,
  average_proxied_concurrency: proxiedAverage,
  request_count: requests,
  proxied_request_count: proxied,
  period_ms: periodMs,
});

const rows: Row[] = [
  { name: 'idle period', input: [[1000, 'report']], want: [stat(0, 0, 0, 0, 1000)] },
  {
    name: 'one request for half the period',
    input: [[0, 'start'], [500, 'end'], [1000, 'report']],
    want: [stat(0.5, 0, 1, 0, 1000)],
  },
  {
    name: 'overlapping requests integrate over time',
    // 0–250: 1, 250–750: 2, 750–1000: 1 → (250 + 1000 + 250) / 1000
    input: [[0, 'start'], [250, 'start'], [750, 'end'], [1000, 'report']],
    want: [stat(1.5, 0, 2, 0, 1000)],
  },
  {
    name: 'two overlapping requests, both ended',
    input: [[0, 'start'], [250, 'start'], [750, 'end'], [1000, 'end'], [1000, 'report']],
    want: [stat(1.5, 0, 2, 0, 1000)],
  },
  {
    name: 'a request still held at the end counts to the end',
    input: [[200, 'start'], [1000, 'report']],
    want: [stat(0.8, 0, 1, 0, 1000)],
  },
  {
    name: 'proxied requests are counted in both totals',
    input: [[0, 'start-p'], [0, 'start'], [500, 'end-p'], [1000, 'report']],
    want: [stat(1.5, 0.5, 2, 1, 1000)],
  },
  {
    name: 'a request spanning periods counts in each; counts reset',
    input: [[0, 'start'], [1000, 'report'], [2000, 'report'], [2500, 'end'], [3000, 'report']],
    want: [stat(1, 0, 1, 0, 1000), stat(1, 0, 0, 0, 1000), stat(0.5, 0, 0, 0, 1000)],
  },
  {
    name: 'zero-length period reports the instantaneous count',
    input: [[0, 'start'], [0, 'start-p'], [0, 'report']],
    want: [stat(2, 1, 2, 1, 0)],
  },
  {
    name: 'short request inside a period',
    input: [[100, 'start'], [110, 'end'], [200, 'report']],
    want: [stat(0.05, 0, 1, 0, 200)],
  },
];

for (const row of rows) {
  test(`tracker: ${row.name}`, () => {
    const tracker = new ConcurrencyTracker(0);
    const got: PeriodStat[] = [];
    for (const [now, event] of row.input) {
      if (event === 'start') tracker.start(now, false);
      else if (event === 'start-p') tracker.start(now, true);
      else if (event === 'end') tracker.end(now, false);
      else if (event === 'end-p') tracker.end(now, true);
      else got.push(tracker.report(now));
    }
    assert.deepEqual(got, row.want, `want ${JSON.stringify(row.want)}\n got ${JSON.stringify(got)}`);
  });
}

test('tracker: active counts requests not yet ended', () => {
  const tracker = new ConcurrencyTracker(0);
  tracker.start(1, false);
  tracker.start(2, true);
  tracker.end(3, false);
  assert.equal(tracker.active, 1);
  tracker.end(4, true);
  tracker.end(5, true); // an extra end never goes negative
  assert.equal(tracker.active, 0);
});

test('tracker: a held request carries into the next period; activity ends with it', () => {
  const tracker = new ConcurrencyTracker(0);
  assert.equal(tracker.hadActivity(), false);
  tracker.start(500);
  tracker.report(1000);
  assert.ok(tracker.hadActivity(), 'still held');
  const got = tracker.report(2000);
  assert.deepEqual(got, stat(1, 0, 0, 0, 1000));
  tracker.end(2000);
  tracker.report(3000);
  assert.equal(tracker.hadActivity(), false);
});
