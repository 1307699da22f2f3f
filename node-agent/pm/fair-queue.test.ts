// Tests of the DRFQ writer queue: alternation, shares, no banked credit after idling, aging, removal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FairQueue, dominantShare } from './fair-queue.js';
import type { Demand } from './types.js';

// Shares are binary fractions where ties matter, so virtual tags compare exactly.
const writeShare = (pmWrite: number): Demand => ({ cpu: 0.001, pmRead: 0, pmWrite });

type Step =
  | { enqueue: string; n: number; demand: Demand; at: number }
  | { serve: number; at: number }
  | { remove: string };

interface Row {
  name: string;
  agingMs?: number;
  steps: Step[];
  /** The flows served, in order, one letter per grant. */
  want: string;
}

const rows: Row[] = [
  {
    name: 'two functions with equal demands alternate',
    steps: [
      { enqueue: 'A', n: 4, demand: writeShare(0.125), at: 0 },
      { enqueue: 'B', n: 4, demand: writeShare(0.125), at: 0 },
      { serve: 8, at: 1 },
    ],
    want: 'ABABABAB',
  },
  {
    name: 'the dominant share decides, whichever resource it is on',
    steps: [
      { enqueue: 'A', n: 3, demand: { cpu: 0.125, pmRead: 0, pmWrite: 0.01 }, at: 0 },
      { enqueue: 'B', n: 3, demand: { cpu: 0, pmRead: 0.125, pmWrite: 0.01 }, at: 0 },
      { serve: 6, at: 1 },
    ],
    want: 'ABABAB',
  },
  {
    name: 'twice the dominant share gets half the grants',
    steps: [
      { enqueue: 'A', n: 10, demand: writeShare(0.25), at: 0 },
      { enqueue: 'B', n: 20, demand: writeShare(0.125), at: 0 },
      { serve: 12, at: 1 },
    ],
    // Tags A: 0, .25, .5 … B: 0, .125, .25 … ties go to the earlier arrival (A).
    want: 'ABBABBABBABB',
  },
  {
    name: 'an idle function does not burst: it starts at the virtual time, not at its old tag',
    steps: [
      { enqueue: 'A', n: 20, demand: writeShare(0.125), at: 0 },
      { serve: 10, at: 1 },
      { enqueue: 'B', n: 10, demand: writeShare(0.125), at: 2 },
      { serve: 8, at: 3 },
    ],
    want: 'AAAAAAAAAA' + 'BABABABA',
  },
  {
    name: 'a function that pauses briefly keeps its charge (no reset by going idle)',
    steps: [
      { enqueue: 'A', n: 1, demand: writeShare(1), at: 0 },
      { enqueue: 'B', n: 5, demand: writeShare(0.125), at: 0 },
      { serve: 1, at: 1 },
      // A was charged 1.0; it comes back before the virtual time has passed that.
      { enqueue: 'A', n: 3, demand: writeShare(1), at: 2 },
      { serve: 7, at: 3 },
    ],
    want: 'A' + 'BBBBB' + 'AA',
  },
  {
    name: 'aging: a request that waited agingMs goes first, ahead of fair order',
    agingMs: 100,
    steps: [
      { enqueue: 'A', n: 2, demand: writeShare(1), at: 0 },
      { enqueue: 'B', n: 10, demand: writeShare(0.01), at: 50 },
      { serve: 1, at: 60 },
      { serve: 3, at: 99 },
      { serve: 1, at: 100 },
      { serve: 2, at: 140 },
    ],
    // A1 wins the first pick on a tie. A2 (tag 1) is far behind B; at t=100 it has waited 100 ms.
    want: 'A' + 'BBB' + 'A' + 'BB',
  },
  {
    name: 'aging: several aged requests go oldest first',
    agingMs: 10,
    steps: [
      { enqueue: 'A', n: 1, demand: writeShare(1), at: 0 },
      { enqueue: 'B', n: 1, demand: writeShare(0.5), at: 1 },
      { enqueue: 'C', n: 3, demand: writeShare(0.01), at: 2 },
      { serve: 5, at: 50 },
    ],
    want: 'ABCCC',
  },
  {
    name: 'no aging (Infinity): fair order however long the wait',
    agingMs: Infinity,
    steps: [
      { enqueue: 'A', n: 2, demand: writeShare(1), at: 0 },
      { enqueue: 'B', n: 5, demand: writeShare(0.01), at: 0 },
      { serve: 7, at: 1e9 },
    ],
    want: 'ABBBBBA',
  },
  {
    name: 'a removed request is not charged: its function keeps its place',
    steps: [
      { enqueue: 'A', n: 3, demand: writeShare(0.125), at: 0 },
      { enqueue: 'B', n: 3, demand: writeShare(0.125), at: 0 },
      { remove: 'A0' },
      { remove: 'A1' },
      { serve: 4, at: 1 },
    ],
    // Charged for the removed two, A's last request would start at 0.25 and come third ('BBAB').
    want: 'ABBB',
  },
  {
    name: 'a zero demand is charged the floor, not nothing',
    steps: [
      { enqueue: 'A', n: 3000, demand: { cpu: 0, pmRead: 0, pmWrite: 0 }, at: 0 },
      { enqueue: 'B', n: 1, demand: writeShare(0.5), at: 0 },
      { serve: 2, at: 1 },
    ],
    // A0 and B0 both start at 0 and A0 arrived first; A1 then starts at the floor (0.001), behind B0.
    // Uncharged, A1 would tie with B0 at 0 and win on arrival order, and so would the other 2998.
    want: 'AB',
  },
];

for (const row of rows) {
  test(`FairQueue: ${row.name}`, () => {
    const queue = new FairQueue<null>({ agingMs: row.agingMs ?? Infinity });
    const counts = new Map<string, number>();
    let served = '';
    for (const step of row.steps) {
      if ('enqueue' in step) {
        for (let i = 0; i < step.n; i++) {
          const n = counts.get(step.enqueue) ?? 0;
          counts.set(step.enqueue, n + 1);
          queue.enqueue({ id: `${step.enqueue}${n}`, flow: step.enqueue, demand: step.demand, enqueuedAt: step.at, value: null });
        }
      } else if ('serve' in step) {
        for (let i = 0; i < step.serve; i++) {
          const next = queue.next(step.at);
          assert.ok(next, `a request to serve at step ${i} of ${JSON.stringify(step)}`);
          served += next.flow;
        }
      } else {
        assert.ok(queue.remove(step.remove), `removed ${step.remove}`);
      }
    }
    assert.equal(served, row.want);
  });
}

test('FairQueue: long-run grants follow inverse dominant shares (1 : 2 : 4)', () => {
  const queue = new FairQueue<null>({ agingMs: Infinity });
  const shares: Record<string, number> = { A: 0.4, B: 0.2, C: 0.1 };
  let id = 0;
  for (const flow of Object.keys(shares)) {
    for (let i = 0; i < 1000; i++) queue.enqueue({ id: String(id++), flow, demand: writeShare(shares[flow]), enqueuedAt: 0, value: null });
  }
  const grants: Record<string, number> = { A: 0, B: 0, C: 0 };
  for (let i = 0; i < 700; i++) grants[queue.next(1)!.flow]++;
  assert.ok(Math.abs(grants.A - 100) <= 1, `A ${grants.A}`);
  assert.ok(Math.abs(grants.B - 200) <= 1, `B ${grants.B}`);
  assert.ok(Math.abs(grants.C - 400) <= 1, `C ${grants.C}`);
});

test('FairQueue: removal, has, size, oldest and drain keep the books straight', () => {
  const queue = new FairQueue<string>({ agingMs: Infinity });
  assert.equal(queue.next(0), undefined);
  queue.enqueue({ id: 'a', flow: 'f', demand: writeShare(0.125), enqueuedAt: 5, value: 'va' });
  queue.enqueue({ id: 'b', flow: 'g', demand: writeShare(0.125), enqueuedAt: 3, value: 'vb' });
  queue.enqueue({ id: 'c', flow: 'f', demand: writeShare(0.125), enqueuedAt: 7, value: 'vc' });
  assert.throws(() => queue.enqueue({ id: 'a', flow: 'g', demand: writeShare(0.125), enqueuedAt: 8, value: 'dup' }), /already queued/);
  assert.equal(queue.size, 3);
  assert.equal(queue.oldestEnqueuedAt(), 3);
  assert.equal(queue.remove('b')?.value, 'vb');
  assert.equal(queue.remove('b'), undefined);
  assert.equal(queue.has('b'), false);
  assert.equal(queue.oldestEnqueuedAt(), 5);
  assert.deepEqual(
    queue.drain().map((q) => q.value),
    ['va', 'vc'],
  );
  assert.equal(queue.size, 0);
  assert.equal(queue.oldestEnqueuedAt(), undefined);
});

test('FairQueue: dominantShare ignores negative and non-finite shares', () => {
  assert.equal(dominantShare({ cpu: 0.2, pmRead: 0.5, pmWrite: 0.3 }), 0.5);
  assert.equal(dominantShare({ cpu: -1, pmRead: Number.NaN, pmWrite: 0.1 }), 0.1);
  assert.equal(dominantShare({ cpu: 0, pmRead: 0, pmWrite: 0 }), 0);
  assert.throws(() => new FairQueue({ agingMs: -1 }), RangeError);
  assert.throws(() => new FairQueue({ agingMs: 0, minShare: 0 }), RangeError);
});
