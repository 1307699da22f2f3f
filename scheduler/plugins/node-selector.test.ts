import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeSelectorFilter } from './node-selector.js';
import type { Status } from '../framework.js';
import { makeNode } from '../fixtures.js';

test('nodeSelectorFilter', () => {
  const rows: Array<{ name: string; input: { selector?: Record<string, string>; labels: Record<string, string> }; want: Status }> = [
    { name: 'no selector matches any node', input: { labels: {} }, want: { code: 'success' } },
    { name: 'empty selector matches', input: { selector: {}, labels: { zone: 'a' } }, want: { code: 'success' } },
    { name: 'subset matches', input: { selector: { zone: 'a' }, labels: { zone: 'a', pm: 'true' } }, want: { code: 'success' } },
    {
      name: 'missing label',
      input: { selector: { pm: 'true' }, labels: { zone: 'a' } },
      want: { code: 'unschedulable', reason: 'node selector does not match: missing label pm=true' },
    },
    {
      name: 'different value',
      input: { selector: { zone: 'a', pm: 'true' }, labels: { zone: 'b', pm: 'true' } },
      want: { code: 'unschedulable', reason: 'node selector does not match: label zone=b, want zone=a' },
    },
    {
      name: 'inherited object keys are not labels',
      input: { selector: { toString: 'x' }, labels: {} },
      want: { code: 'unschedulable', reason: 'node selector does not match: missing label toString=x' },
    },
  ];
  for (const row of rows) {
    const got = nodeSelectorFilter(row.input.selector, makeNode('n', { labels: row.input.labels }));
    assert.deepEqual(got, row.want, row.name);
  }
});
