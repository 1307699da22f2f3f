// Tests for the summary table.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BenchRecord, BenchTarget } from './record.js';
import { formatTable, groupByCase, summarizeTargets } from './table.js';

const records: BenchRecord[] = [
  { bench: 'serving', case: 'direct/c1', metric: 'throughput', value: 9000.4567, unit: 'req/s' },
  { bench: 'serving', case: 'queue-proxy/c1', metric: 'p50_overhead', value: 0.4, unit: 'ms' },
  { bench: 'serving', case: 'direct/c1', metric: 'latency_p50', value: 0.1, unit: 'ms' },
  { bench: 'serving', case: 'cold-start', metric: 'latency_p50', value: 512, unit: 'ms' },
];
const targets: BenchTarget[] = [
  { bench: 'serving', case: 'queue-proxy/c1', metric: 'p50_overhead', comparison: 'at-most', threshold: 1 },
  { bench: 'serving', case: 'cold-start', metric: 'latency_p50', comparison: 'at-most', threshold: 300 },
];

test('formatTable: header, rule, rows grouped by case, targets with PASS/MISS', () => {
  const want = [
    'bench    case            metric           value  unit   target    result',
    '-------  --------------  ------------  --------  -----  --------  ------',
    'serving  direct/c1       throughput    9000.457  req/s',
    'serving  direct/c1       latency_p50        0.1  ms',
    'serving  queue-proxy/c1  p50_overhead       0.4  ms     ≤ 1 ms    PASS',
    'serving  cold-start      latency_p50        512  ms     ≤ 300 ms  MISS',
  ].join('\n');
  const got = formatTable(records, targets);
  assert.equal(got, want, `want:\n${want}\ngot:\n${got}`);
});

test('groupByCase keeps first-appearance order of cases and emission order inside a case', () => {
  assert.deepEqual(
    groupByCase(records).map((r) => `${r.case} ${r.metric}`),
    ['direct/c1 throughput', 'direct/c1 latency_p50', 'queue-proxy/c1 p50_overhead', 'cold-start latency_p50'],
  );
});

test('summarizeTargets counts only records that have a target', () => {
  assert.deepEqual(summarizeTargets(records, targets), { pass: 1, miss: 1 });
  assert.deepEqual(summarizeTargets(records, []), { pass: 0, miss: 0 });
});
