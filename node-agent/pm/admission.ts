// PM write admission on a node: read-prefer-write-limit with multi-resource fair queuing and aging.
//
// Paper 000 §V: readers go at once (PM read bandwidth keeps scaling with readers, so holding them
// back only costs latency); writers run up to the calibrated limit, where aggregate write bandwidth
// peaks, because past it the modules' write-combining buffers thrash and every writer gets slower;
// further writers wait. Waiting writers are ordered by DRFQ across functions with aging (fair-queue.ts).
//
// Every waiting request keeps its deadline: the caller passes an AbortSignal (the gRPC call's
// deadline or cancellation), and when it fires the request leaves the queue and its promise rejects
// with DEADLINE_EXCEEDED. Nothing is dropped without an answer and nothing stays queued for a caller
// that is gone. With an unbounded limit (a device that shows no collapse) a writer is granted on the
// spot and the queue is never touched, so admission costs a Map insert per invocation.
import { FairQueue } from './fair-queue.js';
import type { AdmissionClass, Demand } from './types.js';

export const DEFAULT_AGING_MS = 2_000;

export interface AcquireRequest {
  /** Unique per invocation on this node while it is waiting or admitted. */
  invocationId: string;
  /** The fairness unit, "namespace/name". */
  function: string;
  class: AdmissionClass;
  /** Expected use of CPU, PM read and PM write (shares), for the fair queue. Ignored for readers. */
  demand: Demand;
  /** Fires when the caller's deadline passes or it goes away: a wait then ends with DEADLINE_EXCEEDED. */
  signal?: AbortSignal;
}

export interface Grant {
  class: AdmissionClass;
  waitedMs: number;
  /** Writers running once this one was admitted, itself included when it is a writer. */
  concurrentWriters: number;
}

/** What release() knows about the invocation it ended, for the profiler. */
export interface Released {
  function: string;
  class: AdmissionClass;
  /** Time from the grant to the release. */
  heldMs: number;
  /** Writers running when it was admitted, itself included when it is a writer. */
  writersAtGrant: number;
  /** Time-weighted mean of the writers running while it held its grant (itself included when it writes). */
  meanWriters: number;
}

export type AdmissionErrorCode =
  /** The request's deadline passed (or its caller left) while it waited. */
  | 'DEADLINE_EXCEEDED'
  /** The invocation id is already waiting or admitted. */
  | 'ALREADY_EXISTS'
  /** Admission is closed (the node agent is stopping). */
  | 'UNAVAILABLE';

/** Codes are gRPC status names, so the PmNode service can map them one to one. */
export class AdmissionError extends Error {
  readonly code: AdmissionErrorCode;

  constructor(code: AdmissionErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AdmissionError';
    this.code = code;
  }
}

export interface AdmissionStats {
  /** Infinity = unbounded (writers never wait). */
  writerLimit: number;
  activeWriters: number;
  activeReaders: number;
  waitingWriters: number;
  /** Totals since start. */
  grantedWriters: number;
  grantedReaders: number;
  /** Writers granted because they had waited at least agingMs (a subset of grantedWriters). */
  agedGrants: number;
  /** Waits that ended without a grant (deadline passed, caller left, or admission closed). */
  expired: number;
  /** The longest wait of any granted request so far. */
  maxWaitMs: number;
  /** How long the longest-waiting writer has waited so far; 0 when none waits. */
  oldestWaitMs: number;
}

/** Callbacks for metrics, called after the state change they describe (so stats() is already current). They must not throw (see emit). */
export interface AdmissionObserver {
  granted?(event: { function: string; class: AdmissionClass; waitedMs: number; aged: boolean }): void;
  /** A wait ended without a grant. */
  expired?(event: { function: string; waitedMs: number; code: AdmissionErrorCode }): void;
  released?(event: Released): void;
  /** Any change of the counts or of the limit. */
  changed?(stats: AdmissionStats): void;
}

export interface PmAdmissionOptions {
  /** Concurrent writers admitted; Infinity (default) = unbounded. */
  writerLimit?: number;
  /** A writer that has waited this long is served next, oldest first, ahead of fair order. Default 2000 ms. */
  agingMs?: number;
  /** Monotonic milliseconds; default performance.now(). */
  now?: () => number;
  observer?: AdmissionObserver;
  /** Where an observer's exception goes (see emit); default a process warning. */
  onObserverError?: (err: unknown) => void;
}

interface Admitted {
  function: string;
  class: AdmissionClass;
  grantedAt: number;
  writersAtGrant: number;
  /** The writer-time integral when it was granted, for its mean concurrent writers. */
  writerIntegralAtGrant: number;
}

interface Waiter {
  request: AcquireRequest;
  resolve(grant: Grant): void;
  reject(err: AdmissionError): void;
  onAbort?: () => void;
}

type Event = () => void;

export class PmAdmission {
  private limit: number;
  private readonly now: () => number;
  private readonly observer: AdmissionObserver | undefined;
  private readonly onObserverError: (err: unknown) => void;
  private readonly queue: FairQueue<Waiter>;
  private readonly admitted = new Map<string, Admitted>();
  private writers = 0;
  private readers = 0;
  private closed = false;
  // ∫ activeWriters dt since start, brought up to date at every change of activeWriters.
  private writerIntegral = 0;
  private integralAt: number;
  private totals = { grantedWriters: 0, grantedReaders: 0, agedGrants: 0, expired: 0, maxWaitMs: 0 };

  constructor(options: PmAdmissionOptions = {}) {
    this.limit = checkLimit(options.writerLimit ?? Infinity);
    this.now = options.now ?? (() => performance.now());
    this.observer = options.observer;
    this.onObserverError = options.onObserverError ?? ((err) => process.emitWarning(`PM admission observer threw: ${(err as Error)?.stack ?? String(err)}`, 'SluiceObserverWarning'));
    this.queue = new FairQueue<Waiter>({ agingMs: options.agingMs ?? DEFAULT_AGING_MS });
    this.integralAt = this.now();
  }

  get writerLimit(): number {
    return this.limit;
  }

  /** Resolves when the invocation may run; rejects with an AdmissionError (see its codes). */
  acquire(request: AcquireRequest): Promise<Grant> {
    const id = request.invocationId;
    if (this.closed) return Promise.reject(new AdmissionError('UNAVAILABLE', 'PM admission is closed'));
    if (this.admitted.has(id) || this.queue.has(id)) {
      return Promise.reject(new AdmissionError('ALREADY_EXISTS', `invocation ${id} is already waiting or admitted`));
    }
    // A caller whose deadline has already passed is gone: admitting it would hold a slot nobody releases.
    if (request.signal?.aborted) return Promise.reject(deadlineError(request, 0, request.signal.reason));
    const events: Event[] = [];
    // Readers always go; a writer goes when there is room and nobody is ahead of it. With an
    // unbounded limit this is every writer: the fast path never touches the queue.
    if (request.class === 'reader' || (this.writers < this.limit && this.queue.size === 0)) {
      if (request.class === 'writer' && this.limit !== Infinity) this.queue.serveNow(request.function, request.demand);
      const grant = this.grant(request, 0, false, events);
      this.emit(events);
      return Promise.resolve(grant);
    }
    return new Promise<Grant>((resolve, reject) => {
      const waiter: Waiter = { request, resolve, reject };
      const signal = request.signal;
      if (signal) {
        waiter.onAbort = () => this.abandon(id, signal.reason);
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.queue.enqueue({ id, flow: request.function, demand: request.demand, enqueuedAt: this.now(), value: waiter });
      this.pump(events);
      this.emit(events);
    });
  }

  /** Ends an admitted invocation and admits the next waiting writers. Unknown ids (already released, never admitted) are a no-op. */
  release(invocationId: string): Released | undefined {
    const admitted = this.admitted.get(invocationId);
    if (!admitted) return undefined;
    this.admitted.delete(invocationId);
    const now = this.now();
    this.advanceIntegral(now);
    const heldMs = now - admitted.grantedAt;
    const meanWriters = heldMs > 0 ? (this.writerIntegral - admitted.writerIntegralAtGrant) / heldMs : admitted.writersAtGrant;
    if (admitted.class === 'writer') this.writers--;
    else this.readers--;
    const released: Released = {
      function: admitted.function,
      class: admitted.class,
      heldMs,
      writersAtGrant: admitted.writersAtGrant,
      meanWriters,
    };
    const events: Event[] = [() => this.observer?.released?.(released)];
    this.pump(events);
    this.emit(events);
    return released;
  }

  /** A new limit (integer ≥ 1, or Infinity). Raising it admits waiters at once; lowering it preempts nobody: running writers finish. */
  setWriterLimit(limit: number): void {
    this.limit = checkLimit(limit);
    const events: Event[] = [];
    this.pump(events);
    this.emit(events);
  }

  stats(): AdmissionStats {
    const oldest = this.queue.oldestEnqueuedAt();
    return {
      writerLimit: this.limit,
      activeWriters: this.writers,
      activeReaders: this.readers,
      waitingWriters: this.queue.size,
      ...this.totals,
      oldestWaitMs: oldest === undefined ? 0 : Math.max(0, this.now() - oldest),
    };
  }

  /** Refuses new requests and rejects every waiting one with UNAVAILABLE. Admitted invocations may still release. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const now = this.now();
    const events: Event[] = [];
    for (const { value: waiter, enqueuedAt } of this.queue.drain()) {
      this.detach(waiter);
      this.totals.expired++;
      const waitedMs = now - enqueuedAt;
      waiter.reject(new AdmissionError('UNAVAILABLE', `PM admission closed after ${Math.round(waitedMs)} ms of waiting`));
      events.push(() => this.observer?.expired?.({ function: waiter.request.function, waitedMs, code: 'UNAVAILABLE' }));
    }
    this.emit(events);
  }

  /** Grants waiting writers while there is room. */
  private pump(events: Event[]): void {
    while (this.writers < this.limit && this.queue.size > 0) {
      const now = this.now();
      const next = this.queue.next(now)!;
      this.detach(next.value);
      next.value.resolve(this.grant(next.value.request, now - next.enqueuedAt, next.aged, events));
    }
  }

  private grant(request: AcquireRequest, waitedMs: number, aged: boolean, events: Event[]): Grant {
    const now = this.now();
    if (request.class === 'writer') {
      this.advanceIntegral(now);
      this.writers++;
      this.totals.grantedWriters++;
      if (aged) this.totals.agedGrants++;
    } else {
      this.readers++;
      this.totals.grantedReaders++;
    }
    this.totals.maxWaitMs = Math.max(this.totals.maxWaitMs, waitedMs);
    this.admitted.set(request.invocationId, {
      function: request.function,
      class: request.class,
      grantedAt: now,
      writersAtGrant: this.writers,
      writerIntegralAtGrant: this.writerIntegral,
    });
    const cls = request.class;
    events.push(() => this.observer?.granted?.({ function: request.function, class: cls, waitedMs, aged }));
    return { class: cls, waitedMs, concurrentWriters: this.writers };
  }

  private abandon(id: string, reason: unknown): void {
    const queued = this.queue.remove(id);
    if (!queued) return;
    const waitedMs = this.now() - queued.enqueuedAt;
    this.totals.expired++;
    queued.value.reject(deadlineError(queued.value.request, waitedMs, reason));
    // A waiter never held a slot, so its leaving frees none: nothing to pump.
    this.emit([() => this.observer?.expired?.({ function: queued.value.request.function, waitedMs, code: 'DEADLINE_EXCEEDED' })]);
  }

  private detach(waiter: Waiter): void {
    if (waiter.onAbort) waiter.request.signal?.removeEventListener('abort', waiter.onAbort);
  }

  private advanceIntegral(now: number): void {
    this.writerIntegral += this.writers * (now - this.integralAt);
    this.integralAt = now;
  }

  // Observers run after the state is consistent, then `changed` once per operation. One that throws
  // goes to onObserverError (a process warning by default) and is otherwise ignored: a metrics bug must not strand a waiter
  // or leak a slot (acquire would otherwise reject after the grant was recorded).
  private emit(events: Event[]): void {
    if (!this.observer) return;
    const changed = this.observer.changed;
    if (changed) events.push(() => changed.call(this.observer, this.stats()));
    for (const event of events) {
      try {
        event();
      } catch (err) {
        this.onObserverError(err);
      }
    }
  }
}

function checkLimit(limit: number): number {
  if (limit === Infinity || (Number.isInteger(limit) && limit >= 1)) return limit;
  throw new RangeError(`writer limit ${limit} must be an integer >= 1 or Infinity`);
}

function deadlineError(request: AcquireRequest, waitedMs: number, reason: unknown): AdmissionError {
  return new AdmissionError(
    'DEADLINE_EXCEEDED',
    `invocation ${request.invocationId} of ${request.function}: deadline passed after ${Math.round(waitedMs)} ms waiting for PM write admission`,
    { cause: reason },
  );
}
