// Multi-resource fair queuing of the PM writers waiting for admission, across functions, with aging.
//
// The order is Dominant Resource Fair Queuing (Ghodsi et al., "Multi-resource fair queueing for
// packet processing", SIGCOMM'12) in its start-time form: every function (a "flow") has a virtual
// clock that advances, per request served, by that request's dominant share (the largest of its CPU,
// PM read and PM write shares). The next request served is the flow head with the smallest virtual
// start tag, so over a backlogged period each function receives grants in inverse proportion to its
// dominant share: equal dominant shares alternate, twice the share gets half the grants. A function
// that was idle does not bank credit: its next start tag is the current virtual time, not its old
// one, so it cannot burst ahead of functions that kept waiting.
//
// Fair queuing alone can keep a heavy function's requests behind a stream of light ones for a long
// time (paper 000 §V: read-prefer-write-limit needs aging so writers are not starved). Aging: any
// request that has waited at least `agingMs` goes first, oldest first. A writer then waits at most
// agingMs plus the time until a slot frees, unless writers that aged before it are still ahead —
// which only happens when writers arrive faster than the limit can serve them; no order bounds waits
// then, and the requests' deadlines end them.
//
// The module is pure: callers pass the time; nothing here reads a clock or sets a timer (aging only
// changes *which* request is next, and a grant happens only when a slot frees, so there is nothing
// to wake up for).
import type { Demand } from './types.js';

export interface FairQueueOptions {
  /** A request that has waited at least this long is served before any fair ordering; Infinity = no aging. */
  agingMs: number;
  /**
   * The least a request is charged, in dominant share. A zero demand would never advance its
   * function's virtual time, and that function would then take every grant while it has requests
   * queued; the floor keeps it finite (aging still bounds everyone else). Default 1e-3.
   */
  minShare?: number;
}

export interface Queued<T> {
  id: string;
  /** The fairness unit: the function, as "namespace/name". */
  flow: string;
  demand: Demand;
  /** When the request started waiting (the caller's clock, ms). */
  enqueuedAt: number;
  value: T;
}

export interface Served<T> extends Queued<T> {
  /** The request's virtual start tag when it was served. */
  startTag: number;
  /** Served because it waited at least agingMs, not by fair order. */
  aged: boolean;
}

interface Entry<T> extends Queued<T> {
  seq: number;
}

interface Flow<T> {
  /** FIFO within the function: its requests are served in arrival order. */
  queue: Entry<T>[];
  /** Virtual finish tag of the flow's last served request (what it has been charged up to). */
  finish: number;
  /** Start tag of queue[0], fixed when it became the head. */
  headStart: number;
}

export const DEFAULT_MIN_SHARE = 1e-3;

/** The largest of a demand's shares: what DRF equalises across functions. Negative or NaN shares count as 0. */
export function dominantShare(demand: Demand): number {
  const share = (value: number) => (Number.isFinite(value) && value > 0 ? value : 0);
  return Math.max(share(demand.cpu), share(demand.pmRead), share(demand.pmWrite));
}

export class FairQueue<T> {
  private readonly agingMs: number;
  private readonly minShare: number;
  private readonly flows = new Map<string, Flow<T>>();
  private readonly flowOf = new Map<string, string>();
  /** System virtual time: the start tag of the last request served in fair order. */
  private virtual = 0;
  private seq = 0;

  constructor(options: FairQueueOptions) {
    if (!(options.agingMs >= 0)) throw new RangeError(`agingMs must be >= 0, got ${options.agingMs}`);
    const minShare = options.minShare ?? DEFAULT_MIN_SHARE;
    if (!(minShare > 0) || !Number.isFinite(minShare)) throw new RangeError(`minShare must be > 0, got ${minShare}`);
    this.agingMs = options.agingMs;
    this.minShare = minShare;
  }

  get size(): number {
    return this.flowOf.size;
  }

  get virtualTime(): number {
    return this.virtual;
  }

  has(id: string): boolean {
    return this.flowOf.has(id);
  }

  /** Adds a waiting request at the tail of its function's queue. Ids are unique while queued. */
  enqueue(request: Queued<T>): void {
    if (this.flowOf.has(request.id)) throw new Error(`request ${request.id} is already queued`);
    let flow = this.flows.get(request.flow);
    if (!flow) {
      flow = { queue: [], finish: 0, headStart: 0 };
      this.flows.set(request.flow, flow);
    }
    flow.queue.push({ ...request, seq: this.seq++ });
    this.flowOf.set(request.id, request.flow);
    if (flow.queue.length === 1) this.setHeadStart(flow);
  }

  /** Takes a request out without serving it (its deadline passed): it is not charged. */
  remove(id: string): Queued<T> | undefined {
    const flowName = this.flowOf.get(id);
    if (flowName === undefined) return undefined;
    const flow = this.flows.get(flowName)!;
    const index = flow.queue.findIndex((entry) => entry.id === id);
    const [entry] = flow.queue.splice(index, 1);
    this.flowOf.delete(id);
    if (index === 0 && flow.queue.length > 0) this.setHeadStart(flow);
    return strip(entry);
  }

  /** Removes and returns the request to serve now: the oldest if it has aged, else the smallest start tag. */
  next(now: number): Served<T> | undefined {
    let fairest: Flow<T> | undefined;
    let oldest: Flow<T> | undefined;
    for (const [name, flow] of this.flows) {
      const head = flow.queue[0];
      if (!head) {
        // Forget idle functions whose charge the virtual clock has passed: they would start at the
        // virtual time anyway. One that is still ahead keeps its charge, so pausing does not reset it.
        if (flow.finish <= this.virtual) this.flows.delete(name);
        continue;
      }
      if (!fairest || flow.headStart < fairest.headStart || (flow.headStart === fairest.headStart && head.seq < fairest.queue[0].seq)) {
        fairest = flow;
      }
      if (!oldest || head.enqueuedAt < oldest.queue[0].enqueuedAt || (head.enqueuedAt === oldest.queue[0].enqueuedAt && head.seq < oldest.queue[0].seq)) {
        oldest = flow;
      }
    }
    if (!fairest || !oldest) return undefined;
    // The oldest waiting request overall is always the head of its function's queue (FIFO within a
    // function), so aging only needs to look at heads.
    const aged = now - oldest.queue[0].enqueuedAt >= this.agingMs;
    const flow = aged ? oldest : fairest;
    const startTag = flow.headStart;
    const entry = flow.queue.shift()!;
    this.flowOf.delete(entry.id);
    flow.finish = startTag + Math.max(dominantShare(entry.demand), this.minShare);
    // Only a fair-order pick moves the virtual clock: it is then the smallest start tag waiting, so
    // newcomers start level with the function furthest behind. An aged pick may be far ahead of the
    // others and would push newcomers behind functions that have been waiting.
    if (!aged) this.virtual = Math.max(this.virtual, startTag);
    if (flow.queue.length > 0) this.setHeadStart(flow);
    return { ...strip(entry), startTag, aged };
  }

  /**
   * Charges a request that was served without waiting (a free slot and nobody queued), exactly as if
   * it had been queued and picked at once. Without the charge a function running in every free slot
   * would meet the first contention with a clean slate, as if it had used nothing.
   */
  serveNow(flowName: string, demand: Demand): void {
    let flow = this.flows.get(flowName);
    if (!flow) {
      flow = { queue: [], finish: 0, headStart: 0 };
      this.flows.set(flowName, flow);
    }
    const startTag = Math.max(this.virtual, flow.finish);
    // Nothing waits, so this start tag is the smallest there is: it moves the virtual clock like a fair pick.
    this.virtual = startTag;
    flow.finish = startTag + Math.max(dominantShare(demand), this.minShare);
    if (flow.queue.length > 0) this.setHeadStart(flow);
  }

  /** Enqueue time of the request that has waited longest, or undefined when empty. */
  oldestEnqueuedAt(): number | undefined {
    let oldest: number | undefined;
    for (const flow of this.flows.values()) {
      const head = flow.queue[0];
      if (head && (oldest === undefined || head.enqueuedAt < oldest)) oldest = head.enqueuedAt;
    }
    return oldest;
  }

  /** Removes and returns every waiting request, oldest first (shutting down). */
  drain(): Queued<T>[] {
    const all = [...this.flows.values()].flatMap((flow) => flow.queue);
    all.sort((a, b) => a.seq - b.seq);
    this.flows.clear();
    this.flowOf.clear();
    return all.map(strip);
  }

  private setHeadStart(flow: Flow<T>): void {
    // max(): a function that kept waiting continues from its own finish tag; one that was idle (its
    // finish behind the virtual clock) starts at the virtual clock and banks nothing.
    flow.headStart = Math.max(this.virtual, flow.finish);
  }
}

function strip<T>(entry: Entry<T>): Queued<T> {
  const { seq: _seq, ...queued } = entry;
  return queued;
}
