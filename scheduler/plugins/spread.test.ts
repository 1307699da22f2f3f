import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeSpreadScores, sameFunctionCount } from './spread.js';
import { makeNode, placed } from '../fixtures.js';

test('sameFunctionCount counts only the same namespace and function', () => {
  const node = makeNode('n', { instances: [placed('a'), placed('a'), placed('b'), placed('a', 100, 1, 'other')] });
  assert.equal(sameFunctionCount('default', 'a', node), 2);
  assert.equal(sameFunctionCount('default', 'b', node), 1);
  assert.equal(sameFunctionCount('other', 'a', node), 1);
  assert.equal(sameFunctionCount('default', 'c', node), 0);
});

test('normalizeSpreadScores', () => {
  const rows: Array<{ name: string; input: Record<string, number>; want: Record<string, number> }> = [
    { name: 'no instances anywhere', input: { a: 0, b: 0 }, want: { a: 100, b: 100 } },
    { name: 'emptier node wins', input: { a: 1, b: 0 }, want: { a: 0, b: 100 } },
    { name: 'linear in between', input: { a: 4, b: 2, c: 1 }, want: { a: 0, b: 50, c: 75 } },
    { name: 'equal counts tie', input: { a: 3, b: 3 }, want: { a: 0, b: 0 } },
    { name: 'no nodes', input: {}, want: {} },
  ];
  for (const row of rows) {
    assert.deepEqual(normalizeSpreadScores(row.input), row.want, row.name);
  }
});
