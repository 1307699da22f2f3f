// Table tests for the load-balancing policies with a deterministic random source.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  FIRST_AVAILABLE,
  RANDOM_CHOICE_2,
  ROUND_ROBIN,
  createLbPolicy,
  lbPolicyNameFor,
  registerLbPolicy,
  type LbTarget,
} from './lb-policy.js';

interface Target extends LbTarget {
  id: string;
  inFlight: number;
  capacity: number;
}

/** Replays `values` in order (then 0). */
function sequence(values: number[]): () => number {
  let i = 0;
  return () => (i < values.length ? values[i++] : 0);
}

const INF = Infinity;

const rows: Array<{
  name: string;
  input: { policy: string; targets: Array<[id: string, inFlight: number, capacity: number]>; random?: number[]; picks: number; takeSlot?: boolean };
  /** Target id per pick, or 'queue'. */
  want: string[];
}> = [
  { name: 'rc2: no targets queues', input: { policy: RANDOM_CHOICE_2, targets: [], picks: 1 }, want: ['queue'] },
  { name: 'rc2: single target', input: { policy: RANDOM_CHOICE_2, targets: [['a', 5, INF]], picks: 2 }, want: ['a', 'a'] },
  { name: 'rc2: two targets, fewer in flight wins', input: { policy: RANDOM_CHOICE_2, targets: [['a', 3, INF], ['b', 1, INF]], picks: 1 }, want: ['b'] },
  { name: 'rc2: two targets, tie takes the first', input: { policy: RANDOM_CHOICE_2, targets: [['a', 1, INF], ['b', 1, INF]], picks: 1 }, want: ['a'] },
  {
    name: 'rc2: random pair among four, lower load wins',
    // first = floor(0.9*4)=3 (d), second = floor(0.1*3)=0 (a): a has fewer in flight.
    input: { policy: RANDOM_CHOICE_2, targets: [['a', 0, INF], ['b', 0, INF], ['c', 0, INF], ['d', 2, INF]], random: [0.9, 0.1], picks: 1 },
    want: ['a'],
  },
  {
    name: 'rc2: second index skips the first',
    // first = floor(0.5*3)=1 (b), second = floor(0.5*2)=1 → 2 (c); c is less loaded.
    input: { policy: RANDOM_CHOICE_2, targets: [['a', 0, INF], ['b', 4, INF], ['c', 1, INF]], random: [0.5, 0.5], picks: 1 },
    want: ['c'],
  },
  {
    name: 'rc2: spreads when slots are taken',
    input: { policy: RANDOM_CHOICE_2, targets: [['a', 0, INF], ['b', 0, INF]], picks: 4, takeSlot: true },
    want: ['a', 'b', 'a', 'b'],
  },
  { name: 'first-available: no targets', input: { policy: FIRST_AVAILABLE, targets: [], picks: 1 }, want: ['queue'] },
  { name: 'first-available: first free in order', input: { policy: FIRST_AVAILABLE, targets: [['a', 1, 1], ['b', 0, 1], ['c', 0, 1]], picks: 2 }, want: ['b', 'b'] },
  {
    name: 'first-available: fills in order then queues',
    input: { policy: FIRST_AVAILABLE, targets: [['a', 0, 2], ['b', 0, 2]], picks: 5, takeSlot: true },
    want: ['a', 'a', 'b', 'b', 'queue'],
  },
  { name: 'round-robin: no targets', input: { policy: ROUND_ROBIN, targets: [], picks: 1 }, want: ['queue'] },
  {
    name: 'round-robin: cycles',
    input: { policy: ROUND_ROBIN, targets: [['a', 0, 10], ['b', 0, 10], ['c', 0, 10]], picks: 4 },
    want: ['a', 'b', 'c', 'a'],
  },
  {
    name: 'round-robin: skips full instances',
    input: { policy: ROUND_ROBIN, targets: [['a', 0, 4], ['b', 4, 4], ['c', 0, 4]], picks: 3 },
    want: ['a', 'c', 'a'],
  },
  {
    name: 'round-robin: queues when all are full',
    input: { policy: ROUND_ROBIN, targets: [['a', 4, 4], ['b', 4, 4]], picks: 1 },
    want: ['queue'],
  },
  {
    name: 'round-robin: takes slots until full',
    input: { policy: ROUND_ROBIN, targets: [['a', 3, 4], ['b', 2, 4]], picks: 4, takeSlot: true },
    want: ['a', 'b', 'b', 'queue'],
  },
];

for (const row of rows) {
  test(`lb-policy: ${row.name}`, () => {
    const policy = createLbPolicy(row.input.policy, sequence(row.input.random ?? []));
    const targets: Target[] = row.input.targets.map(([id, inFlight, capacity]) => ({ id, inFlight, capacity }));
    const got: string[] = [];
    for (let i = 0; i < row.input.picks; i++) {
      const pick = policy.pick(targets);
      if (pick.kind === 'queue') {
        got.push('queue');
        continue;
      }
      got.push(pick.endpoint.id);
      if (row.input.takeSlot) pick.endpoint.inFlight++;
    }
    assert.deepEqual(got, row.want, `want ${JSON.stringify(row.want)}, got ${JSON.stringify(got)}`);
  });
}

const byConcurrency: Array<{ name: string; input: number; want: string }> = [
  { name: 'unlimited', input: 0, want: RANDOM_CHOICE_2 },
  { name: 'one', input: 1, want: FIRST_AVAILABLE },
  { name: 'three', input: 3, want: FIRST_AVAILABLE },
  { name: 'four', input: 4, want: ROUND_ROBIN },
  { name: 'hundred', input: 100, want: ROUND_ROBIN },
];

for (const row of byConcurrency) {
  test(`lbPolicyNameFor: ${row.name}`, () => {
    const got = lbPolicyNameFor(row.input);
    assert.equal(got, row.want, `want ${row.want}, got ${got}`);
  });
}

test('registry: unknown and duplicate names are errors', () => {
  assert.throws(() => createLbPolicy('nope'), /unknown load-balancing policy "nope"/);
  assert.throws(() => registerLbPolicy(ROUND_ROBIN, () => createLbPolicy(ROUND_ROBIN)), /already registered/);
});
