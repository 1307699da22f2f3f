// The XDT flow profile of a node (protos/flow.proto): per workflow edge (namespace, producer function →
// consumer function) a decayed rate of the bytes this node's consumers pulled, and per inbound link
// (producer's node → this node) the measured transfer cost in seconds per GiB. Pure: no I/O, the clock
// is injected; node-agent/flows/service.ts feeds it FlowProfile.ReportFlows and serves its view on
// NodeAgent.GetNodeFlows.
//
// Rates. Each edge keeps one exponentially decayed byte count: at a report Δt after the previous one,
//   value ← value · 2^(−Δt / halfLife) + bytes,   rate = value · ln2 / halfLife   (bytes/s).
// A steady stream of r bytes/s converges to rate r; when it stops, the rate halves every half-life.
//
// Link costs. A report's samples from one producer node are summed (transfer seconds over cost bytes,
// so the report's own ratio is already byte-weighted), then enter a moving average with weight
// LINK_ALPHA = 0.2 per report — the same as the PM profiler's averages — rather than a weight
// proportional to the report's bytes relative to a GiB. Reasons: the queue-proxy only counts objects of
// at least its min_cost_sample_bytes in cost_bytes, so per-call latency is already kept out of the
// samples; and a per-report weight adapts in time (about five reports, i.e. seconds while traffic
// flows), whereas a per-GiB weight adapts in bytes: a link that carries little traffic (a few MiB a
// minute) would hold a stale cost for hours after it became congested, which is the case placement
// most needs to see. from_node = the sample's producer_node, to_node = this node; from = to is the
// same-node path whatever the sample's TransferPath (local store and shared memory are both "same
// node" for placement).
//
// Peers' input is never trusted and never throws: a sample with a bad number (not a finite
// non-negative integer count, a negative or non-finite transfer time, cost bytes above bytes) or an
// empty producer function is ignored on its own and reported back in the result. Memory is bounded:
// an edge whose rate fell below MIN_RATE and that has had no report for STALE_HALF_LIVES half-lives
// is dropped, edges are capped (smallest rates dropped first) and links are capped (least recently
// measured dropped first).
import type { FlowReport__Output } from '../../protos/generated/sluice/flow/v1/FlowReport.js';
import type { FlowSample__Output } from '../../protos/generated/sluice/flow/v1/FlowSample.js';
import type { LinkCost__Output } from '../../protos/generated/sluice/nodeagent/v1/LinkCost.js';
import type { NodeFlows__Output } from '../../protos/generated/sluice/nodeagent/v1/NodeFlows.js';
import type { XdtFlow__Output } from '../../protos/generated/sluice/nodeagent/v1/XdtFlow.js';

export const DEFAULT_FLOW_HALF_LIFE_MS = 60_000;
/** Edges kept at most; past it the smallest current rates go. */
export const DEFAULT_MAX_EDGES = 10_000;
/** Inbound links kept at most (node names are bounded by the cluster's size; this only guards against junk). */
export const DEFAULT_MAX_LINKS = 1_024;
/** Weight of a report in a link's moving average of seconds per GiB. */
export const LINK_ALPHA = 0.2;
/** Bytes/s below which an edge with no recent report is forgotten. */
export const MIN_RATE = 1;
/** "No recent report": none for this many half-lives. */
export const STALE_HALF_LIVES = 10;
/** Longest name accepted (a DNS subdomain); longer ones are junk. */
const MAX_NAME_LENGTH = 253;
const GIB = 2 ** 30;
const INT32_MAX = 2 ** 31 - 1;

/** The metric label of a TransferPath (a fixed set). */
export type PathLabel = 'local' | 'shm' | 'tcp' | 'unspecified';

const PATH_LABEL: Record<string, PathLabel> = {
  TRANSFER_PATH_LOCAL: 'local',
  TRANSFER_PATH_SHM: 'shm',
  TRANSFER_PATH_TCP: 'tcp',
};

/** A report as it may arrive: every field may be missing or wrong. */
export type FlowReportInput = Partial<Omit<FlowReport__Output, 'samples'>> & { samples?: ReadonlyArray<Partial<FlowSample__Output>> };

export interface FlowTableOptions {
  /** This node: the to_node of every link. */
  node: string;
  /** Half-life of the edge rates. Default 60 s. */
  halfLifeMs?: number;
  /** Milliseconds, monotonic. Default performance.now(). */
  now?: () => number;
  maxEdges?: number;
  maxLinks?: number;
}

/** A sample the table used, normalised. */
export interface AcceptedSample {
  producerFunction: string;
  producerNode: string;
  path: PathLabel;
  objects: number;
  bytes: number;
  transferSeconds: number;
  costBytes: number;
}

/** A sample (part: 'sample') or its cost measurement only (part: 'cost') that the table left out, and why. */
export interface IgnoredSample {
  index: number;
  part: 'sample' | 'cost';
  reason: string;
}

export type RecordResult =
  | { ok: true; accepted: AcceptedSample[]; ignored: IgnoredSample[]; edgesEvicted: number }
  | { ok: false; reason: string };

interface Edge {
  namespace: string;
  producer: string;
  consumer: string;
  /** Decayed byte count as of `at`. */
  value: number;
  at: number;
  lastReportAt: number;
  bytesTotal: number;
}

interface Link {
  fromNode: string;
  secondsPerGib: number;
  samples: number;
  lastSampleAt: number;
}

function isName(v: unknown): v is string {
  return typeof v === 'string' && v !== '' && v.length <= MAX_NAME_LENGTH;
}

function isCount(v: unknown, max = Number.MAX_SAFE_INTEGER): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && v <= max;
}

/** Why a sample is unusable, or undefined when it is fine. */
function sampleProblem(s: Partial<FlowSample__Output> | undefined): string | undefined {
  if (typeof s !== 'object' || s === null) return 'not a sample';
  if (!isName(s.producer_function)) return 'producer_function is empty or too long';
  if (s.producer_node !== undefined && s.producer_node !== '' && !isName(s.producer_node)) return 'producer_node is too long';
  if (s.objects !== undefined && !isCount(s.objects, INT32_MAX)) return `objects = ${String(s.objects)}, must be a count`;
  if (!isCount(s.bytes)) return `bytes = ${String(s.bytes)}, must be a count`;
  if (s.cost_bytes !== undefined && !isCount(s.cost_bytes)) return `cost_bytes = ${String(s.cost_bytes)}, must be a count`;
  if (s.transfer_seconds !== undefined && !(typeof s.transfer_seconds === 'number' && Number.isFinite(s.transfer_seconds) && s.transfer_seconds >= 0)) {
    return `transfer_seconds = ${String(s.transfer_seconds)}, must be a finite number ≥ 0`;
  }
  if ((s.cost_bytes ?? 0) > s.bytes) return `cost_bytes = ${s.cost_bytes} exceeds bytes = ${s.bytes}`;
  return undefined;
}

function edgeKey(namespace: string, producer: string, consumer: string): string {
  return JSON.stringify([namespace, producer, consumer]);
}

export class FlowTable {
  readonly node: string;
  readonly halfLifeMs: number;
  private readonly clock: () => number;
  private readonly maxEdges: number;
  private readonly maxLinks: number;
  private readonly edges = new Map<string, Edge>();
  private readonly linkCosts = new Map<string, Link>();
  private lastPruneAt = -Infinity;

  constructor(options: FlowTableOptions) {
    this.node = options.node;
    this.halfLifeMs = options.halfLifeMs ?? DEFAULT_FLOW_HALF_LIFE_MS;
    this.clock = options.now ?? (() => performance.now());
    this.maxEdges = options.maxEdges ?? DEFAULT_MAX_EDGES;
    this.maxLinks = options.maxLinks ?? DEFAULT_MAX_LINKS;
    if (!(Number.isFinite(this.halfLifeMs) && this.halfLifeMs > 0)) throw new RangeError(`halfLifeMs ${this.halfLifeMs} must be a positive number`);
    if (!(Number.isInteger(this.maxEdges) && this.maxEdges >= 1)) throw new RangeError(`maxEdges ${this.maxEdges} must be a positive integer`);
    if (!(Number.isInteger(this.maxLinks) && this.maxLinks >= 1)) throw new RangeError(`maxLinks ${this.maxLinks} must be a positive integer`);
  }

  get size(): number {
    return this.edges.size;
  }

  /**
   * One consumer queue-proxy's report. Refused (ok: false) only when it names no namespace or no
   * consumer function; otherwise every usable sample counts and the others are listed in `ignored`.
   */
  record(report: FlowReportInput, now = this.clock()): RecordResult {
    if (typeof report !== 'object' || report === null) return { ok: false, reason: 'not a report' };
    const { namespace, function: consumer } = report;
    if (!isName(namespace)) return { ok: false, reason: 'namespace is required' };
    if (!isName(consumer)) return { ok: false, reason: 'function is required' };
    const samples = Array.isArray(report.samples) ? report.samples : [];
    const accepted: AcceptedSample[] = [];
    const ignored: IgnoredSample[] = [];
    // Per producer node: this report's cost measurement, summed over its samples.
    const costs = new Map<string, { seconds: number; bytes: number; objects: number }>();
    samples.forEach((s, index) => {
      const problem = sampleProblem(s);
      if (problem) {
        ignored.push({ index, part: 'sample', reason: problem });
        return;
      }
      const sample: AcceptedSample = {
        producerFunction: s.producer_function!,
        producerNode: s.producer_node ?? '',
        path: PATH_LABEL[String(s.path)] ?? 'unspecified',
        objects: s.objects ?? 0,
        bytes: s.bytes!,
        transferSeconds: s.transfer_seconds ?? 0,
        costBytes: s.cost_bytes ?? 0,
      };
      accepted.push(sample);
      if (sample.bytes > 0) this.addBytes(namespace, sample.producerFunction, consumer, sample.bytes, now);
      if (sample.costBytes > 0) {
        if (sample.producerNode === '') {
          ignored.push({ index, part: 'cost', reason: 'producer_node is empty: the cost has no link' });
          return;
        }
        const c = costs.get(sample.producerNode) ?? { seconds: 0, bytes: 0, objects: 0 };
        c.seconds += sample.transferSeconds;
        c.bytes += sample.costBytes;
        c.objects += sample.objects;
        costs.set(sample.producerNode, c);
      } else if (sample.transferSeconds > 0) {
        ignored.push({ index, part: 'cost', reason: 'transfer_seconds without cost_bytes' });
      }
    });
    for (const [fromNode, c] of costs) this.addCost(fromNode, (c.seconds / c.bytes) * GIB, Math.max(1, c.objects), now);
    if (now - this.lastPruneAt >= this.halfLifeMs) this.prune(now);
    return { ok: true, accepted, ignored, edgesEvicted: this.enforceEdgeCap(now) };
  }

  /** The node's flows and inbound link costs at `now` (forgets the stale edges first). Sorted, so equal tables give equal views. */
  view(now = this.clock()): NodeFlows__Output {
    this.prune(now);
    const flows: XdtFlow__Output[] = [];
    for (const e of this.edges.values()) {
      flows.push({
        namespace: e.namespace,
        producer_function: e.producer,
        consumer_function: e.consumer,
        bytes_per_second: this.rate(e, now),
        bytes_total: e.bytesTotal,
      });
    }
    flows.sort(
      (a, b) =>
        compare(a.namespace, b.namespace) || compare(a.producer_function, b.producer_function) || compare(a.consumer_function, b.consumer_function),
    );
    return { node: this.node, flows, links: this.links() };
  }

  /** The inbound link costs, by from_node. */
  links(): LinkCost__Output[] {
    return [...this.linkCosts.values()]
      .map((l) => ({ from_node: l.fromNode, to_node: this.node, seconds_per_gib: l.secondsPerGib, samples: l.samples }))
      .sort((a, b) => compare(a.from_node, b.from_node));
  }

  private decayed(e: Edge, now: number): number {
    // A clock that went back (an injected one) decays nothing rather than growing the value.
    const dt = Math.max(0, now - e.at);
    return e.value * 2 ** (-dt / this.halfLifeMs);
  }

  private rate(e: Edge, now: number): number {
    return (this.decayed(e, now) * Math.LN2) / (this.halfLifeMs / 1000);
  }

  private addBytes(namespace: string, producer: string, consumer: string, bytes: number, now: number): void {
    const key = edgeKey(namespace, producer, consumer);
    let e = this.edges.get(key);
    if (!e) {
      e = { namespace, producer, consumer, value: 0, at: now, lastReportAt: now, bytesTotal: 0 };
      this.edges.set(key, e);
    }
    e.value = this.decayed(e, now) + bytes;
    e.at = Math.max(e.at, now);
    e.lastReportAt = Math.max(e.lastReportAt, now);
    e.bytesTotal += bytes;
  }

  private addCost(fromNode: string, secondsPerGib: number, objects: number, now: number): void {
    const l = this.linkCosts.get(fromNode);
    if (l) {
      l.secondsPerGib += LINK_ALPHA * (secondsPerGib - l.secondsPerGib);
      l.samples = Math.min(INT32_MAX, l.samples + objects);
      l.lastSampleAt = Math.max(l.lastSampleAt, now);
      return;
    }
    if (this.linkCosts.size >= this.maxLinks) {
      let oldest: Link | undefined;
      for (const candidate of this.linkCosts.values()) if (!oldest || candidate.lastSampleAt < oldest.lastSampleAt) oldest = candidate;
      if (oldest) this.linkCosts.delete(oldest.fromNode);
    }
    this.linkCosts.set(fromNode, { fromNode, secondsPerGib, samples: Math.min(INT32_MAX, objects), lastSampleAt: now });
  }

  private prune(now: number): void {
    this.lastPruneAt = now;
    const staleMs = STALE_HALF_LIVES * this.halfLifeMs;
    for (const [key, e] of this.edges) {
      if (now - e.lastReportAt >= staleMs && this.rate(e, now) < MIN_RATE) this.edges.delete(key);
    }
  }

  /** Drops the smallest current rates (the least recently reported first among equals) down to maxEdges. */
  private enforceEdgeCap(now: number): number {
    if (this.edges.size <= this.maxEdges) return 0;
    // Stale edges go first, whatever their rank.
    this.prune(now);
    const excess = this.edges.size - this.maxEdges;
    if (excess <= 0) return 0;
    const ranked = [...this.edges].map(([key, e]) => ({ key, rate: this.rate(e, now), last: e.lastReportAt }));
    ranked.sort((a, b) => a.rate - b.rate || a.last - b.last);
    for (let i = 0; i < excess; i++) this.edges.delete(ranked[i].key);
    return excess;
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
