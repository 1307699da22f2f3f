import { test } from 'node:test';
import assert from 'node:assert/strict';
import { aggregateWriteBandwidth } from './contention-model.js';
import { FluidShare, SharedBandwidth, simulateShare } from './shared-bandwidth.js';
import type { BandwidthCurve, Clock, ShareEvent } from './shared-bandwidth.js';
import type { ContentionParams } from './types.js';

/** 100 bytes per ms whatever the number of transfers: each of n gets 100/n. */
const FLAT: BandwidthCurve = () => 100_000;
/** A small write curve: one writer 100 B/ms, peak 400 B/ms at 4 writers, floor 240 B/ms (60%) at 16. */
const CURVE_PARAMS: ContentionParams = {
  writePeakBytesPerSecond: 400_000,
  writePeakWriters: 4,
  writeSingleFraction: 0.25,
  writeFloorFraction: 0.6,
  writeFloorWriters: 16,
  readPeakBytesPerSecond: 1,
  readPeakReaders: 1,
  readSingleFraction: 1,
};
const WRITES: BandwidthCurve = (n) => aggregateWriteBandwidth(n, CURVE_PARAMS);

function assertTimes(got: Map<string, number>, want: Record<string, number>, name: string): void {
  assert.deepEqual([...got.keys()].sort(), Object.keys(want).sort(), `${name}: completed transfers`);
  for (const [key, at] of Object.entries(want)) {
    const time = got.get(key) ?? NaN;
    assert.ok(Math.abs(time - at) < 1e-9 * Math.max(1, at), `${name}: ${key} done at ${time}, want ${at}`);
  }
}

const ROWS: Array<{ name: string; curve: BandwidthCurve; events: Array<ShareEvent<string>>; want: Record<string, number> }> = [
  { name: 'one transfer', curve: FLAT, events: [{ at: 0, key: 'a', bytes: 1000 }], want: { a: 10 } },
  { name: 'one transfer, starting late', curve: FLAT, events: [{ at: 7, key: 'a', bytes: 50 }], want: { a: 7.5 } },
  {
    // a alone 0–5 ms: 500 served. Both at 50/ms: b's 300 done at 11, a has 200 left, alone again → 13.
    name: 'staggered arrivals',
    curve: FLAT,
    events: [{ at: 0, key: 'a', bytes: 1000 }, { at: 5, key: 'b', bytes: 300 }],
    want: { a: 13, b: 11 },
  },
  {
    // a done at 10 alone; b arrives at 20 to an idle resource.
    name: 'an idle gap between transfers',
    curve: FLAT,
    events: [{ at: 0, key: 'a', bytes: 1000 }, { at: 20, key: 'b', bytes: 100 }],
    want: { a: 10, b: 21 },
  },
  {
    name: 'equal transfers finish together',
    curve: FLAT,
    events: [{ at: 0, key: 'a', bytes: 300 }, { at: 0, key: 'b', bytes: 300 }, { at: 0, key: 'c', bytes: 300 }],
    want: { a: 9, b: 9, c: 9 },
  },
  {
    // Below the peak writers do not slow each other: 4 writers get 100 B/ms each.
    name: '4 writers at the peak',
    curve: WRITES,
    events: ['a', 'b', 'c', 'd'].map((key) => ({ at: 0, key, bytes: 1000 })),
    want: { a: 10, b: 10, c: 10, d: 10 },
  },
  {
    // 16 writers: the floor, 240 B/ms in all, 15 B/ms each → 9600/240 = 40 ms (4 at a time: 6 ms a wave, all done at 24 ms).
    name: '16 writers at the floor',
    curve: WRITES,
    events: Array.from({ length: 16 }, (_, i) => ({ at: 0, key: `w${i}`, bytes: 600 })),
    want: Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`w${i}`, 40])),
  },
  {
    // 8 writers: 400 × (1 − 0.4 × 4/12) = 346.67 B/ms → 8000 bytes in 23.08 ms (4 writers would do it at 400 B/ms).
    name: '8 writers past the peak',
    curve: WRITES,
    events: Array.from({ length: 8 }, (_, i) => ({ at: 0, key: `w${i}`, bytes: 1000 })),
    want: Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`w${i}`, 8000 / (400 * (1 - 0.4 * (4 / 12)))])),
  },
  {
    // 5 writers: 400 × (1 − 0.4/12) = 386.67 B/ms, 77.33 each: the four small ones done at 100/77.33 = 1.2931 ms.
    // The big one, 900 left, alone at 100 B/ms: 9 ms more.
    name: 'rates recomputed at departures',
    curve: WRITES,
    events: [...['a', 'b', 'c', 'd'].map((key) => ({ at: 0, key, bytes: 100 })), { at: 0, key: 'big', bytes: 1000 }],
    want: { a: 100 / (386.6666666666667 / 5), b: 100 / (386.6666666666667 / 5), c: 100 / (386.6666666666667 / 5), d: 100 / (386.6666666666667 / 5), big: 100 / (386.6666666666667 / 5) + 9 },
  },
  {
    // Two writers at 100 B/ms each; b cancelled at 2 ms (200 served) → a alone from 2 ms (still 100 B/ms: below the peak a writer's speed is its own).
    name: 'a cancelled transfer below the peak changes nothing for the others',
    curve: WRITES,
    events: [{ at: 0, key: 'a', bytes: 1000 }, { at: 0, key: 'b', bytes: 1000 }, { at: 2, cancel: 'b' }],
    want: { a: 10 },
  },
  {
    // Flat 100 B/ms shared by two: 50 each; b cancelled at 4 ms → a has 800 left at 100 B/ms → 12.
    name: 'a cancelled transfer frees its share',
    curve: FLAT,
    events: [{ at: 0, key: 'a', bytes: 1000 }, { at: 0, key: 'b', bytes: 1000 }, { at: 4, cancel: 'b' }],
    want: { a: 12 },
  },
  {
    name: 'cancelling a finished transfer does nothing',
    curve: FLAT,
    events: [{ at: 0, key: 'a', bytes: 100 }, { at: 5, cancel: 'a' }],
    want: { a: 1 },
  },
];

test('simulateShare: completion times of the fluid model', () => {
  for (const row of ROWS) assertTimes(simulateShare(row.events, row.curve), row.want, row.name);
});

test('FluidShare refuses what cannot be served', () => {
  const share = new FluidShare<string>(() => 0);
  assert.throws(() => share.add('a', 10, 0), /bandwidth 0 B\/s for 1 transfers/);
  assert.equal(share.active, 0, 'the refused transfer did not join');
  const ok = new FluidShare<string>(FLAT);
  for (const bytes of [0, -1, NaN, Infinity]) assert.throws(() => ok.add('a', bytes, 0), RangeError);
  ok.add('a', 10, 0);
  assert.throws(() => ok.add('a', 10, 0), /already active/);
});

/** Time that moves only when told: timers fire in due order as `advance` passes them. */
class ManualClock implements Clock {
  private time = 0;
  private readonly timers = new Map<number, { at: number; callback: () => void }>();
  private nextId = 0;

  now(): number {
    return this.time;
  }

  setTimer(callback: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.set(id, { at: this.time + ms, callback });
    return id;
  }

  clearTimer(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  get pendingTimers(): number {
    return this.timers.size;
  }

  /** Moves to `to`, firing due timers (and letting the promises they settle run) on the way. */
  async advanceTo(to: number): Promise<void> {
    for (;;) {
      let next: [number, { at: number; callback: () => void }] | undefined;
      for (const entry of this.timers) if (entry[1].at <= to && (next === undefined || entry[1].at < next[1].at)) next = entry;
      if (next === undefined) break;
      this.timers.delete(next[0]);
      this.time = next[1].at;
      next[1].callback();
      await flush();
    }
    this.time = to;
    await flush();
  }
}

async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

test('SharedBandwidth with a manual clock matches the fluid model', async () => {
  for (const row of ROWS) {
    const clock = new ManualClock();
    const resource = new SharedBandwidth(row.curve, clock, 0);
    const done = new Map<string, number>();
    const controllers = new Map<string, AbortController>();
    const events = [...row.events].sort((a, b) => a.at - b.at);
    const settled: Array<Promise<void>> = [];
    for (const event of events) {
      await clock.advanceTo(event.at);
      if ('cancel' in event) {
        controllers.get(event.cancel)?.abort(new Error('cancelled'));
        continue;
      }
      const controller = new AbortController();
      controllers.set(event.key, controller);
      settled.push(
        resource.transfer(event.bytes, controller.signal).then(
          () => void done.set(event.key, clock.now()),
          (err: Error) => assert.equal(err.message, 'cancelled', row.name),
        ),
      );
    }
    await clock.advanceTo(1000);
    await Promise.all(settled);
    assertTimes(done, row.want, row.name);
    assert.equal(resource.active, 0, `${row.name}: nothing left active`);
    assert.equal(clock.pendingTimers, 0, `${row.name}: no timer left`);
  }
});

test('SharedBandwidth: abort, zero bytes and close', async () => {
  const clock = new ManualClock();
  const resource = new SharedBandwidth(FLAT, clock, 0);
  await resource.transfer(0); // nothing to serve: at once, never active
  const aborted = AbortSignal.abort(new Error('too late'));
  await assert.rejects(resource.transfer(10, aborted), /too late/);
  assert.equal(resource.active, 0);

  const controller = new AbortController();
  const cancelled = resource.transfer(1000, controller.signal);
  const other = resource.transfer(1000);
  assert.equal(resource.active, 2);
  await clock.advanceTo(4);
  controller.abort(new Error('deadline'));
  await assert.rejects(cancelled, /deadline/);
  assert.equal(resource.active, 1, 'the aborted transfer left at once');
  const pending = resource.transfer(10_000);
  resource.close(new Error('bye'));
  await assert.rejects(other, /bye/);
  await assert.rejects(pending, /bye/);
  await assert.rejects(resource.transfer(1), /bye/);
  assert.equal(resource.active, 0);
  assert.equal(clock.pendingTimers, 0);
});

test('SharedBandwidth in real time', async () => {
  // 1 MB/s shared: two transfers of 20 kB and 40 kB at once → 40 ms and 60 ms (20 kB each by 40 ms, then 20 kB alone).
  const resource = new SharedBandwidth(() => 1e6);
  const start = performance.now();
  const elapsed = (p: Promise<void>): Promise<number> => p.then(() => performance.now() - start);
  const [small, large] = await Promise.all([elapsed(resource.transfer(20_000)), elapsed(resource.transfer(40_000))]);
  // Loose bounds: on a busy machine the process can be preempted between the two calls, giving the
  // first transfer a head start alone at the full rate, and timers fire late.
  assert.ok(small >= 35 && small < 80, `small done after ${small} ms, want ~40`);
  assert.ok(large >= 59 && large < 110, `large done after ${large} ms, want ~60`);
  assert.equal(resource.active, 0);
});
