// Tests for the JSON-line record shape and target judgement.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeTarget, formatRecordLine, judgeTarget, type BenchTarget } from './record.js';

test('formatRecordLine: exactly bench, case, metric, value, unit in that order; 3 decimals', () => {
  const line = formatRecordLine({ unit: 'ms', value: 0.123456, metric: 'latency_p50', case: 'direct/c1', bench: 'serving' });
  assert.equal(line, '{"bench":"serving","case":"direct/c1","metric":"latency_p50","value":0.123,"unit":"ms"}');
  assert.deepEqual(Object.keys(JSON.parse(line)), ['bench', 'case', 'metric', 'value', 'unit']);
});

test('formatRecordLine: extra properties are not serialized', () => {
  const record = { bench: 'b', case: 'c', metric: 'm', value: 1, unit: 'u', extra: 'x' };
  assert.equal(formatRecordLine(record), '{"bench":"b","case":"c","metric":"m","value":1,"unit":"u"}');
});

test('formatRecordLine: rejects values JSON cannot carry', () => {
  for (const value of [NaN, Infinity, -Infinity]) {
    assert.throws(() => formatRecordLine({ bench: 'b', case: 'c', metric: 'm', value, unit: 'u' }), /not a finite number/);
  }
});

test('judgeTarget and describeTarget', () => {
  const atMost: BenchTarget = { bench: 'b', case: 'c', metric: 'm', comparison: 'at-most', threshold: 1 };
  const atLeast: BenchTarget = { ...atMost, comparison: 'at-least', threshold: 50 };
  const rows: Array<{ name: string; input: { target: BenchTarget; value: number }; want: string }> = [
    { name: 'at-most below', input: { target: atMost, value: 0.5 }, want: 'PASS' },
    { name: 'at-most equal', input: { target: atMost, value: 1 }, want: 'PASS' },
    { name: 'at-most above', input: { target: atMost, value: 1.01 }, want: 'MISS' },
    { name: 'at-least above', input: { target: atLeast, value: 60 }, want: 'PASS' },
    { name: 'at-least equal', input: { target: atLeast, value: 50 }, want: 'PASS' },
    { name: 'at-least below', input: { target: atLeast, value: 49.9 }, want: 'MISS' },
  ];
  for (const row of rows) {
    const got = judgeTarget(row.input.target, row.input.value);
    assert.equal(got, row.want, `${row.name}: want ${row.want}, got ${got}`);
  }
  assert.equal(describeTarget(atMost, 'ms'), '≤ 1 ms');
  assert.equal(describeTarget(atLeast, '%'), '≥ 50 %');
});
