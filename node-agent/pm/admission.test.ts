// Tests of PM write admission: the limit, readers first, deadlines, limit changes, fairness and the aging bound.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as settle } from 'node:timers/promises';
import { AdmissionError, PmAdmission, type AdmissionStats, type Grant } from './admission.js';
import type { Demand } from './types.js';

const light: Demand = { cpu: 0.01, pmRead: 0, pmWrite: 0.01 };

/**
 * One scenario as a script, run against a real PmAdmission on a hand-moved clock:
 *   "w ID [FN]"  a writer of function FN (default f) asks; "r ID" a reader asks;
 *   "rel ID"     the invocation ends;   "abort ID"  its deadline passes;
 *   "limit N"    a new writer limit (N or inf);   "tick MS"  time passes.
 */
interface Row {
  name: string;
  limit: number;
  agingMs?: number;
  script: string[];
  /** Ids granted, in grant order, each with its wait when it is not 0 ("a3@10"). */
  granted: string;
  /** Ids whose wait ended without a grant, with the error code. */
  rejected?: Record<string, string>;
  stats?: Partial<AdmissionStats>;
}

const rows: Row[] = [
  {
    name: 'a burst of writers: only the limit runs, the rest wait',
    limit: 2,
    script: ['w a1', 'w a2', 'w a3', 'w a4', 'w a5'],
    granted: 'a1 a2',
    stats: { activeWriters: 2, waitingWriters: 3, grantedWriters: 2 },
  },
  {
    name: 'each release admits the next writer, in arrival order for one function',
    limit: 2,
    script: ['w a1', 'w a2', 'w a3', 'w a4', 'tick 10', 'rel a1', 'tick 5', 'rel a2', 'rel a3', 'rel a4'],
    granted: 'a1 a2 a3@10 a4@15',
    stats: { activeWriters: 0, waitingWriters: 0, grantedWriters: 4, maxWaitMs: 15 },
  },
  {
    name: 'readers never wait, even with writers waiting',
    limit: 1,
    script: ['w a1', 'w a2', 'w a3', 'tick 100', 'r x1', 'r x2', 'r x3'],
    granted: 'a1 x1 x2 x3',
    stats: { activeWriters: 1, activeReaders: 3, waitingWriters: 2, grantedReaders: 3 },
  },
  {
    name: 'readers do not count against the writer limit',
    limit: 1,
    script: ['r x1', 'r x2', 'w a1', 'w a2'],
    granted: 'x1 x2 a1',
    stats: { activeWriters: 1, activeReaders: 2, waitingWriters: 1 },
  },
  {
    name: "a reader's release admits no writer (it held no writer slot)",
    limit: 1,
    script: ['w a1', 'w a2', 'r x1', 'rel x1'],
    granted: 'a1 x1',
    stats: { activeWriters: 1, activeReaders: 0, waitingWriters: 1 },
  },
  {
    name: 'an aborted wait leaves the queue with DEADLINE_EXCEEDED; the next writer gets the slot',
    limit: 1,
    script: ['w a1', 'w a2', 'w a3', 'tick 7', 'abort a2', 'tick 3', 'rel a1'],
    granted: 'a1 a3@10',
    rejected: { a2: 'DEADLINE_EXCEEDED' },
    stats: { activeWriters: 1, waitingWriters: 0, expired: 1 },
  },
  {
    name: 'an abort after the grant changes nothing: the slot is held until release',
    limit: 1,
    script: ['w a1', 'w a2', 'abort a1', 'rel a1'],
    granted: 'a1 a2',
    stats: { activeWriters: 1, waitingWriters: 0, expired: 0 },
  },
  {
    name: 'raising the limit admits waiters at once',
    limit: 1,
    script: ['w a1', 'w a2', 'w a3', 'w a4', 'tick 4', 'limit 3'],
    granted: 'a1 a2@4 a3@4',
    stats: { activeWriters: 3, waitingWriters: 1, writerLimit: 3 },
  },
  {
    name: 'an unbounded limit admits every waiter',
    limit: 1,
    script: ['w a1', 'w a2', 'w a3', 'limit inf', 'w a4'],
    granted: 'a1 a2 a3 a4',
    stats: { activeWriters: 4, waitingWriters: 0, writerLimit: Infinity },
  },
  {
    name: 'lowering the limit preempts nobody; new writers wait until below it',
    limit: 3,
    script: ['w a1', 'w a2', 'w a3', 'limit 1', 'w a4', 'rel a1', 'rel a2', 'tick 2', 'rel a3'],
    granted: 'a1 a2 a3 a4@2',
    stats: { activeWriters: 1, waitingWriters: 0 },
  },
  {
    name: 'unbounded: writers never wait',
    limit: Infinity,
    script: Array.from({ length: 50 }, (_, i) => `w a${i}`),
    granted: Array.from({ length: 50 }, (_, i) => `a${i}`).join(' '),
    stats: { activeWriters: 50, waitingWriters: 0, maxWaitMs: 0 },
  },
  {
    name: 'release of an unknown or already released id is a no-op',
    limit: 1,
    script: ['w a1', 'w a2', 'rel nobody', 'rel a1', 'rel a1', 'rel a1', 'w a3'],
    granted: 'a1 a2',
    stats: { activeWriters: 1, waitingWriters: 1 },
  },
  {
    name: 'two writer functions with equal demands alternate through one slot',
    limit: 1,
    script: ['w a1 A', 'w a2 A', 'w a3 A', 'w b1 B', 'w b2 B', 'rel a1', 'rel b1', 'rel a2', 'rel b2'],
    granted: 'a1 b1 a2 b2 a3',
  },
  {
    name: 'aging: past agingMs the oldest waiter goes first, whatever the fair order',
    limit: 1,
    agingMs: 50,
    // A's requests weigh 100× B's, so fair order would serve all of B before A's second request.
    script: ['w a1 A!', 'w a2 A!', 'tick 30', 'w b1 B', 'w b2 B', 'w b3 B', 'tick 20', 'rel a1'],
    granted: 'a1 a2@50',
    stats: { agedGrants: 1 },
  },
];

for (const row of rows) {
  test(`PmAdmission: ${row.name}`, async () => {
    let now = 0;
    const admission = new PmAdmission({ writerLimit: row.limit, agingMs: row.agingMs ?? 10_000, now: () => now });
    const granted: string[] = [];
    const rejected: Record<string, string> = {};
    const aborts = new Map<string, AbortController>();
    for (const line of row.script) {
      const [op, arg, fn] = line.split(' ');
      if (op === 'w' || op === 'r') {
        const abort = new AbortController();
        aborts.set(arg, abort);
        // "A!" is function A with a heavy demand.
        const demand = fn?.endsWith('!') ? { cpu: 0, pmRead: 0, pmWrite: 1 } : light;
        admission.acquire({ invocationId: arg, function: fn?.replace('!', '') ?? 'f', class: op === 'w' ? 'writer' : 'reader', demand, signal: abort.signal }).then(
          (grant: Grant) => granted.push(grant.waitedMs === 0 ? arg : `${arg}@${grant.waitedMs}`),
          (err: AdmissionError) => (rejected[arg] = err.code),
        );
      } else if (op === 'rel') admission.release(arg);
      else if (op === 'abort') aborts.get(arg)!.abort();
      else if (op === 'limit') admission.setWriterLimit(arg === 'inf' ? Infinity : Number(arg));
      else if (op === 'tick') now += Number(arg);
      else throw new Error(`bad script line ${line}`);
      await settle();
    }
    assert.equal(granted.join(' '), row.granted);
    assert.deepEqual(rejected, row.rejected ?? {});
    if (row.stats) {
      const stats = admission.stats();
      for (const [key, want] of Object.entries(row.stats)) assert.equal(stats[key as keyof AdmissionStats], want, key);
    }
  });
}

test('PmAdmission: the limit holds at every moment of a burst and its drain', async () => {
  let now = 0;
  let peak = 0;
  const admission = new PmAdmission({
    writerLimit: 4,
    now: () => now,
    observer: { changed: (s) => (peak = Math.max(peak, s.activeWriters)) },
  });
  const running = new Set<string>();
  for (let i = 0; i < 100; i++) {
    const id = `w${i}`;
    void admission.acquire({ invocationId: id, function: `f${i % 3}`, class: 'writer', demand: light }).then(() => running.add(id));
  }
  let rounds = 0;
  for (; admission.stats().activeWriters > 0 || admission.stats().waitingWriters > 0; rounds++) {
    await settle();
    assert.ok(running.size <= 4, `${running.size} running`);
    now += 1;
    for (const id of [...running]) {
      running.delete(id);
      admission.release(id);
    }
  }
  assert.equal(rounds, 25);
  assert.equal(peak, 4);
  assert.equal(admission.stats().grantedWriters, 100);
});

test('PmAdmission: a pre-aborted signal, a duplicate id and close() each get an answer', async () => {
  const admission = new PmAdmission({ writerLimit: 1 });
  await assert.rejects(
    admission.acquire({ invocationId: 'x', function: 'f', class: 'reader', demand: light, signal: AbortSignal.abort() }),
    (err: AdmissionError) => err.code === 'DEADLINE_EXCEEDED',
  );
  await admission.acquire({ invocationId: 'a', function: 'f', class: 'writer', demand: light });
  await assert.rejects(admission.acquire({ invocationId: 'a', function: 'f', class: 'writer', demand: light }), (err: AdmissionError) => err.code === 'ALREADY_EXISTS');
  const waiting = admission.acquire({ invocationId: 'b', function: 'f', class: 'writer', demand: light });
  await assert.rejects(admission.acquire({ invocationId: 'b', function: 'g', class: 'reader', demand: light }), (err: AdmissionError) => err.code === 'ALREADY_EXISTS');
  admission.close();
  await assert.rejects(waiting, (err: AdmissionError) => err.code === 'UNAVAILABLE');
  await assert.rejects(admission.acquire({ invocationId: 'c', function: 'f', class: 'reader', demand: light }), (err: AdmissionError) => err.code === 'UNAVAILABLE');
  assert.equal(admission.stats().waitingWriters, 0);
  // Admitted invocations still release after close.
  assert.equal(admission.release('a')?.class, 'writer');
  assert.throws(() => admission.setWriterLimit(0), RangeError);
  assert.throws(() => admission.setWriterLimit(2.5), RangeError);
});

test('PmAdmission: a real timer deadline ends the wait with DEADLINE_EXCEEDED and nothing stays queued', async () => {
  const admission = new PmAdmission({ writerLimit: 1 });
  await admission.acquire({ invocationId: 'a', function: 'f', class: 'writer', demand: light });
  const started = performance.now();
  // A deadline like a gRPC call's (AbortSignal.timeout's timer is unref'd and would not keep the test alive).
  const deadline = new AbortController();
  setTimeout(() => deadline.abort(new DOMException('deadline', 'TimeoutError')), 30);
  await assert.rejects(
    admission.acquire({ invocationId: 'b', function: 'f', class: 'writer', demand: light, signal: deadline.signal }),
    (err: AdmissionError) => err instanceof AdmissionError && err.code === 'DEADLINE_EXCEEDED' && /deadline passed/.test(err.message),
  );
  assert.ok(performance.now() - started >= 25);
  assert.equal(admission.stats().waitingWriters, 0);
  assert.equal(admission.stats().expired, 1);
  // The aborted id may ask again (a retry), and is admitted after a release.
  const retry = admission.acquire({ invocationId: 'b', function: 'f', class: 'writer', demand: light });
  admission.release('a');
  assert.equal((await retry).class, 'writer');
});

test('PmAdmission: release reports the writers that ran alongside, time-weighted', async () => {
  let now = 0;
  const admission = new PmAdmission({ writerLimit: 4, now: () => now });
  await admission.acquire({ invocationId: 'a', function: 'f', class: 'writer', demand: light });
  now = 10;
  const b = await admission.acquire({ invocationId: 'b', function: 'f', class: 'writer', demand: light });
  assert.equal(b.concurrentWriters, 2);
  const x = await admission.acquire({ invocationId: 'x', function: 'g', class: 'reader', demand: light });
  assert.equal(x.concurrentWriters, 2);
  now = 30;
  const a = admission.release('a')!;
  // a: alone for 10 ms, with b for 20 ms → (1×10 + 2×20) / 30.
  assert.equal(a.writersAtGrant, 1);
  assert.ok(Math.abs(a.meanWriters - 50 / 30) < 1e-9, String(a.meanWriters));
  assert.equal(a.heldMs, 30);
  now = 40;
  // x (a reader): 2 writers for 20 ms, then 1 for 10 ms.
  assert.ok(Math.abs(admission.release('x')!.meanWriters - 50 / 30) < 1e-9);
});

test('PmAdmission: an observer that throws leaves the state consistent', async () => {
  const errors: string[] = [];
  const admission = new PmAdmission({
    writerLimit: 1,
    observer: {
      granted: () => {
        throw new Error('metrics broke');
      },
    },
    onObserverError: (err) => errors.push((err as Error).message),
  });
  const a = await admission.acquire({ invocationId: 'a', function: 'f', class: 'writer', demand: light });
  assert.equal(a.class, 'writer');
  const b = admission.acquire({ invocationId: 'b', function: 'f', class: 'writer', demand: light });
  admission.release('a');
  assert.equal((await b).class, 'writer');
  assert.deepEqual(errors, ['metrics broke', 'metrics broke']);
  assert.equal(admission.stats().activeWriters, 1);
});

test('PmAdmission: the observer sees grants, expiries, releases and one change per operation', async () => {
  const seen: string[] = [];
  const admission = new PmAdmission({
    writerLimit: 1,
    observer: {
      granted: (e) => seen.push(`granted ${e.function} ${e.class}`),
      expired: (e) => seen.push(`expired ${e.function} ${e.code}`),
      released: (e) => seen.push(`released ${e.function}`),
      changed: (s) => seen.push(`changed w=${s.activeWriters} q=${s.waitingWriters}`),
    },
  });
  await admission.acquire({ invocationId: 'a', function: 'f', class: 'writer', demand: light });
  const abort = new AbortController();
  const b = admission.acquire({ invocationId: 'b', function: 'g', class: 'writer', demand: light, signal: abort.signal });
  abort.abort();
  await assert.rejects(b);
  admission.release('a');
  assert.deepEqual(seen, ['granted f writer', 'changed w=1 q=0', 'changed w=1 q=1', 'expired g DEADLINE_EXCEEDED', 'changed w=1 q=0', 'released f', 'changed w=0 q=0']);
});

// ---- simulated runs: a discrete-event loop over a real PmAdmission on a simulated clock ----

interface Workload {
  fn: string;
  demand: Demand;
  /** Closed loop: this many clients, each asking again as soon as its previous invocation ends. */
  clients?: number;
  /** Open loop: one request every periodMs from offsetMs on. */
  periodMs?: number;
  offsetMs?: number;
}

interface SimResult {
  grants: Record<string, number>;
  /** Longest wait per function, counting requests still waiting at the end. */
  maxWaitMs: Record<string, number>;
}

async function simulate(options: { limit: number; agingMs: number; serviceMs: number; untilMs: number; workloads: Workload[] }): Promise<SimResult> {
  let now = 0;
  const admission = new PmAdmission({ writerLimit: options.limit, agingMs: options.agingMs, now: () => now });
  const events: Array<{ at: number; seq: number; run: () => void }> = [];
  let seq = 0;
  const schedule = (at: number, run: () => void) => events.push({ at, seq: seq++, run });
  const grants: Record<string, number> = {};
  const maxWaitMs: Record<string, number> = {};
  const waiting = new Map<string, { fn: string; since: number }>();
  const note = (fn: string, waited: number) => (maxWaitMs[fn] = Math.max(maxWaitMs[fn] ?? 0, waited));
  let ids = 0;
  const ask = (w: Workload, then?: () => void) => {
    const id = `${w.fn}#${ids++}`;
    waiting.set(id, { fn: w.fn, since: now });
    void admission.acquire({ invocationId: id, function: w.fn, class: 'writer', demand: w.demand }).then((grant) => {
      waiting.delete(id);
      grants[w.fn] = (grants[w.fn] ?? 0) + 1;
      note(w.fn, grant.waitedMs);
      schedule(now + options.serviceMs, () => {
        admission.release(id);
        then?.();
      });
    });
  };
  for (const w of options.workloads) {
    if (w.clients) {
      const loop = () => ask(w, loop);
      for (let c = 0; c < w.clients; c++) schedule(0, loop);
    }
    if (w.periodMs) for (let at = w.offsetMs ?? 0; at < options.untilMs; at += w.periodMs) schedule(at, () => ask(w));
  }
  while (events.length > 0) {
    events.sort((a, b) => a.at - b.at || a.seq - b.seq);
    const event = events.shift()!;
    if (event.at > options.untilMs) break;
    now = event.at;
    event.run();
    // Grants resolve in microtasks; let them schedule their completions at this same instant.
    await settle();
  }
  for (const { fn, since } of waiting.values()) note(fn, now - since);
  return { grants, maxWaitMs };
}

const heavy: Demand = { cpu: 0.01, pmRead: 0, pmWrite: 1 };

test('PmAdmission (simulated): aging bounds every writer wait by agingMs + one service time', async () => {
  // A light function keeps the queue busy from 4 closed-loop clients; a heavy function (100× the
  // dominant share) asks every 10 ms. By fair order alone it would get one grant per 500 ms of A's
  // virtual time and wait without bound; aging caps its wait.
  const base = { limit: 2, serviceMs: 10, untilMs: 2_000 };
  const workloads: Workload[] = [
    { fn: 'A', demand: light, clients: 4 },
    { fn: 'B', demand: heavy, periodMs: 10, offsetMs: 3 },
  ];
  const aged = await simulate({ ...base, agingMs: 50, workloads });
  const worst = Math.max(...Object.values(aged.maxWaitMs));
  assert.ok(worst <= 50 + base.serviceMs, `max wait ${worst} ms, bound 60 ms (${JSON.stringify(aged.maxWaitMs)})`);
  assert.ok(aged.grants.B >= 190, `B served about as often as it asks: ${aged.grants.B}`);
  // The same run without aging: the heavy function starves, so the bound above is aging's doing.
  const unaged = await simulate({ ...base, agingMs: Infinity, workloads });
  assert.ok(unaged.maxWaitMs.B > 1_000, `without aging B waits ${unaged.maxWaitMs.B} ms`);
});

test('PmAdmission (simulated): fairness between two writer functions follows their dominant shares', async () => {
  const rows = [
    { name: 'equal demands', a: 0.1, b: 0.1, ratio: 1 },
    { name: 'twice the share, half the grants', a: 0.2, b: 0.1, ratio: 2 },
    { name: 'PM write vs CPU dominant, equal size', a: 0.1, b: 0.1, ratio: 1, bOnCpu: true },
  ];
  for (const row of rows) {
    const result = await simulate({
      limit: 2,
      agingMs: Infinity,
      serviceMs: 10,
      untilMs: 3_000,
      workloads: [
        { fn: 'A', demand: { cpu: 0.01, pmRead: 0, pmWrite: row.a }, clients: 6 },
        { fn: 'B', demand: row.bOnCpu ? { cpu: row.b, pmRead: 0, pmWrite: 0.01 } : { cpu: 0.01, pmRead: 0, pmWrite: row.b }, clients: 6 },
      ],
    });
    const ratio = result.grants.B / result.grants.A;
    assert.ok(Math.abs(ratio - row.ratio) / row.ratio < 0.05, `${row.name}: B/A grants ${ratio.toFixed(3)}, want ${row.ratio}`);
  }
});
