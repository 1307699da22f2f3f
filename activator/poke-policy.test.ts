// Table tests for the scale-from-zero poke rate limit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shouldPoke } from './poke-policy.js';

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
