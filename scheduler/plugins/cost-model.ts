// Score plugin cost-model: scores each feasible node by what placing one more instance of the pod's
// function there would cost in data movement (issue: XDT data locality), as the sum of pluggable cost
// terms; the other score plugins (spread, least-allocated) weigh it against load.
//
// Unit of every term: seconds of data movement per second (s/s) — the transfer seconds the cluster
// would spend per second of wall time, bytes per second × seconds per byte. 0.5 means that, at the
// observed rates, the function's data would keep a link busy half the time.
//
// Terms live in a CostTermRegistry, not in the plugin: a new term (egress fees, reads from a storage
// node, …) is a CostTermFactory registered by name and enabled with the plugin argument `terms`; neither
// this plugin nor the framework changes. The shipped term is xdt-flows (the XDT workflow graph × the
// measured per-byte cost between nodes).
//
// Scores are normalized across the feasible nodes: the cheapest node 100, linear in the cost above it,
// the dearest 0 — but a spread of costs smaller than `fullScaleSecondsPerSecond` only takes its share of
// the 100 points, so a trickle of flow does not outweigh load (spread, least-allocated); when every node
// costs the same (a function without flows) every node gets 100, so the plugin never moves functions it
// has nothing to say about.
import { MAX_NODE_SCORE, PluginConfigError, rejectUnknownArgs } from '../framework.js';
import type { LinkCostEntry, NodeState, PluginArgs, PluginFactory, SchedulingContext, ScorePlugin, Snapshot, XdtFlowEdge } from '../framework.js';

export const COST_MODEL = 'cost-model';
export const XDT_FLOWS = 'xdt-flows';

export const GIB = 2 ** 30;

/**
 * One term of the cost model: what placing one more instance of ctx.pod on `node` would cost, in
 * seconds of data movement per second (s/s). It must be pure, finite and ≥ 0; it is called once per
 * feasible node of an attempt, so work per snapshot belongs in a cache (see xdt-flows).
 */
export interface CostTerm {
  readonly name: string;
  cost(ctx: SchedulingContext, node: NodeState): number;
}

/** What every term is built with: the plugin's link-cost priors (see CostModelArgs). */
export type CostTermSettings = Pick<CostModelArgs, 'sameNodeSecondsPerGiB' | 'crossNodeSecondsPerGiB'>;

export interface CostTermFactory {
  readonly name: string;
  create(settings: CostTermSettings): CostTerm;
}

/** Cost terms by name. */
export class CostTermRegistry {
  private readonly factories = new Map<string, CostTermFactory>();

  register(factory: CostTermFactory): this {
    if (this.factories.has(factory.name)) throw new PluginConfigError(`plugin ${COST_MODEL}: cost term ${factory.name} is already registered`);
    this.factories.set(factory.name, factory);
    return this;
  }

  names(): string[] {
    return [...this.factories.keys()];
  }

  has(name: string): boolean {
    return this.factories.has(name);
  }

  create(name: string, settings: CostTermSettings): CostTerm {
    const factory = this.factories.get(name);
    if (!factory) throw new PluginConfigError(`plugin ${COST_MODEL}: unknown cost term "${name}", must be one of ${this.names().join(', ')}`);
    return factory.create(settings);
  }
}

export interface CostModelArgs {
  /** The cost terms summed, by registered name. */
  terms: string[];
  /**
   * Priors of the per-byte cost, in seconds per GiB, used only until nodes have measured transfers:
   * a same-node pair without a measurement takes the mean of the measured same-node pairs, a
   * cross-node pair the mean of the measured cross-node pairs; these apply when there are none.
   * 0.5 s/GiB ≈ 2 GiB/s (a loopback or shared-memory copy); 8.6 s/GiB ≈ 1 Gbit/s.
   */
  sameNodeSecondsPerGiB: number;
  crossNodeSecondsPerGiB: number;
  /**
   * The cost difference between the cheapest and the dearest node (s/s) from which the plugin uses its
   * whole score range; smaller differences use a proportional part. 0.1 = the data would keep a link
   * busy a tenth of the time more on the dearest node.
   */
  fullScaleSecondsPerSecond: number;
}

export const DEFAULT_COST_MODEL_ARGS: Readonly<CostModelArgs> = Object.freeze({
  terms: [XDT_FLOWS],
  sameNodeSecondsPerGiB: 0.5,
  crossNodeSecondsPerGiB: 8.6,
  fullScaleSecondsPerSecond: 0.1,
});

/** Key of a function in the snapshot, "namespace/name" (empty namespace = default). */
function fnKey(namespace: string, fn: string): string {
  return `${namespace || 'default'}/${fn}`;
}

/** Seconds per byte of moving object bytes from `fromNode` to `toNode`. */
export type LinkCostFn = (fromNode: string, toNode: string) => number;

/**
 * Per-byte link costs from the snapshot's measurements: a measured pair costs its measurement (pairs
 * listed more than once: the mean weighted by samples); any other pair the mean of the measured pairs of
 * its kind (same-node or cross-node), or the prior of its kind when none of that kind is measured.
 */
export function linkCostModel(linkCosts: readonly LinkCostEntry[] | undefined, priors: CostTermSettings): LinkCostFn {
  const pairs = new Map<string, { fromNode: string; toNode: string; weighted: number; samples: number }>();
  for (const l of linkCosts ?? []) {
    if (!(Number.isFinite(l.secondsPerGiB) && l.secondsPerGiB >= 0 && l.samples > 0)) continue;
    const key = JSON.stringify([l.fromNode, l.toNode]);
    const pair = pairs.get(key) ?? { fromNode: l.fromNode, toNode: l.toNode, weighted: 0, samples: 0 };
    pair.weighted += l.secondsPerGiB * l.samples;
    pair.samples += l.samples;
    pairs.set(key, pair);
  }
  const measured = new Map<string, number>();
  const same: number[] = [];
  const cross: number[] = [];
  for (const [key, pair] of pairs) {
    const secondsPerGiB = pair.weighted / pair.samples;
    measured.set(key, secondsPerGiB / GIB);
    (pair.fromNode === pair.toNode ? same : cross).push(secondsPerGiB);
  }
  const mean = (xs: number[], prior: number): number => (xs.length > 0 ? xs.reduce((a, b) => a + b, 0) / xs.length : prior) / GIB;
  const sameFallback = mean(same, priors.sameNodeSecondsPerGiB);
  const crossFallback = mean(cross, priors.crossNodeSecondsPerGiB);
  return (fromNode, toNode) => measured.get(JSON.stringify([fromNode, toNode])) ?? (fromNode === toNode ? sameFallback : crossFallback);
}

/** For every function key, the share of its placed instances on each node (nodes without one left out). */
export function instanceShares(snapshot: Snapshot): Map<string, Map<string, number>> {
  const counts = new Map<string, Map<string, number>>();
  for (const node of snapshot.nodes) {
    for (const i of node.instances) {
      const key = fnKey(i.namespace, i.function);
      let byNode = counts.get(key);
      if (!byNode) counts.set(key, (byNode = new Map()));
      byNode.set(node.name, (byNode.get(node.name) ?? 0) + 1);
    }
  }
  for (const byNode of counts.values()) {
    let total = 0;
    for (const n of byNode.values()) total += n;
    for (const [node, n] of byNode) byNode.set(node, n / total);
  }
  return counts;
}

/** The edges of the workflow graph that touch function `key` ("namespace/name"), as consumer and as producer. */
export function edgesOf(flows: readonly XdtFlowEdge[] | undefined, key: string): { inbound: XdtFlowEdge[]; outbound: XdtFlowEdge[] } {
  const inbound: XdtFlowEdge[] = [];
  const outbound: XdtFlowEdge[] = [];
  for (const f of flows ?? []) {
    if (!(Number.isFinite(f.bytesPerSecond) && f.bytesPerSecond > 0)) continue;
    if (fnKey(f.namespace, f.consumerFunction) === key) inbound.push(f);
    if (fnKey(f.namespace, f.producerFunction) === key) outbound.push(f);
  }
  return { inbound, outbound };
}

/**
 * The xdt-flows cost of one more instance of function F on node N, in s/s: each edge G→F with rate r
 * adds r × Σ_M share_G(M) × cost(M→N), each edge F→H adds r × Σ_M share_H(M) × cost(N→M), where
 * share_X(M) is the fraction of X's placed instances on node M. An edge whose other end has no instance
 * adds nothing; a self-edge F→F counts both ways.
 */
export function xdtFlowsCost(
  edges: { inbound: readonly XdtFlowEdge[]; outbound: readonly XdtFlowEdge[] },
  node: string,
  shares: ReadonlyMap<string, ReadonlyMap<string, number>>,
  linkCost: LinkCostFn,
): number {
  let cost = 0;
  for (const f of edges.inbound) {
    for (const [m, share] of shares.get(fnKey(f.namespace, f.producerFunction)) ?? []) cost += f.bytesPerSecond * share * linkCost(m, node);
  }
  for (const f of edges.outbound) {
    for (const [m, share] of shares.get(fnKey(f.namespace, f.consumerFunction)) ?? []) cost += f.bytesPerSecond * share * linkCost(node, m);
  }
  return cost;
}

export const xdtFlowsTermFactory: CostTermFactory = {
  name: XDT_FLOWS,
  create(settings: CostTermSettings): CostTerm {
    // cost() runs once per node of an attempt: build the link costs, shares and the pod's edges once per snapshot.
    const cache = new WeakMap<Snapshot, { linkCost: LinkCostFn; shares: Map<string, Map<string, number>>; edges: Map<string, ReturnType<typeof edgesOf>> }>();
    return {
      name: XDT_FLOWS,
      cost(ctx, node) {
        const { snapshot, pod } = ctx;
        if (!snapshot.flows || snapshot.flows.length === 0) return 0;
        let entry = cache.get(snapshot);
        if (!entry) {
          entry = { linkCost: linkCostModel(snapshot.linkCosts, settings), shares: instanceShares(snapshot), edges: new Map() };
          cache.set(snapshot, entry);
        }
        const key = fnKey(pod.namespace, pod.function);
        let edges = entry.edges.get(key);
        if (!edges) entry.edges.set(key, (edges = edgesOf(snapshot.flows, key)));
        return xdtFlowsCost(edges, node.name, entry.shares, entry.linkCost);
      },
    };
  },
};

/** The terms every scheduler ships with. */
export function defaultCostTerms(): CostTermRegistry {
  return new CostTermRegistry().register(xdtFlowsTermFactory);
}

/** Costs within this fraction of the dearest node's are equal (float rounding of equal sums). */
export const EQUAL_COST_TOLERANCE = 1e-9;

/**
 * Cheapest node 100, then 100·(1 − (c − min)/max(max − min, fullScale)): the dearest node 0 when the costs
 * spread at least `fullScale`, a proportional part of the range when less; every node 100 when all cost the same.
 */
export function normalizeCostScores(costs: Readonly<Record<string, number>>, fullScale = 0): Record<string, number> {
  const values = Object.values(costs);
  const max = Math.max(...values);
  const min = Math.min(...values);
  const out: Record<string, number> = {};
  const equal = !(max - min > EQUAL_COST_TOLERANCE * Math.abs(max));
  const range = Math.max(max - min, fullScale);
  for (const [node, c] of Object.entries(costs)) out[node] = equal ? MAX_NODE_SCORE : MAX_NODE_SCORE * (1 - (c - min) / range);
  return out;
}

function priorArg(args: PluginArgs, key: 'sameNodeSecondsPerGiB' | 'crossNodeSecondsPerGiB', fallback: number): number {
  const value = args[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new PluginConfigError(`plugin ${COST_MODEL}: ${key} = ${String(value)}, must be a number ≥ 0 (seconds per GiB)`);
  }
  return value;
}

export function parseCostModelArgs(args: PluginArgs, terms: CostTermRegistry): CostModelArgs {
  rejectUnknownArgs(COST_MODEL, args, ['terms', 'sameNodeSecondsPerGiB', 'crossNodeSecondsPerGiB', 'fullScaleSecondsPerSecond']);
  let names = [...DEFAULT_COST_MODEL_ARGS.terms];
  if (args.terms !== undefined) {
    const value = args.terms;
    if (!Array.isArray(value) || value.length === 0 || !value.every((t) => typeof t === 'string')) {
      throw new PluginConfigError(`plugin ${COST_MODEL}: terms = ${JSON.stringify(value)}, must be a non-empty list of cost term names (${terms.names().join(', ')})`);
    }
    names = value as string[];
    for (const [i, name] of names.entries()) {
      if (!terms.has(name)) {
        throw new PluginConfigError(`plugin ${COST_MODEL}: terms = ${JSON.stringify(value)}, unknown cost term "${name}", must be one of ${terms.names().join(', ')}`);
      }
      if (names.indexOf(name) !== i) throw new PluginConfigError(`plugin ${COST_MODEL}: terms = ${JSON.stringify(value)}, ${name} is listed twice`);
    }
  }
  const sameNodeSecondsPerGiB = priorArg(args, 'sameNodeSecondsPerGiB', DEFAULT_COST_MODEL_ARGS.sameNodeSecondsPerGiB);
  const crossNodeSecondsPerGiB = priorArg(args, 'crossNodeSecondsPerGiB', DEFAULT_COST_MODEL_ARGS.crossNodeSecondsPerGiB);
  if (sameNodeSecondsPerGiB > crossNodeSecondsPerGiB) {
    throw new PluginConfigError(
      `plugin ${COST_MODEL}: sameNodeSecondsPerGiB = ${sameNodeSecondsPerGiB} is above crossNodeSecondsPerGiB = ${crossNodeSecondsPerGiB}, the same node must not cost more than another`,
    );
  }
  const fullScale = args.fullScaleSecondsPerSecond ?? DEFAULT_COST_MODEL_ARGS.fullScaleSecondsPerSecond;
  if (typeof fullScale !== 'number' || !Number.isFinite(fullScale) || fullScale < 0) {
    throw new PluginConfigError(`plugin ${COST_MODEL}: fullScaleSecondsPerSecond = ${String(fullScale)}, must be a number ≥ 0 (seconds per second)`);
  }
  return { terms: names, sameNodeSecondsPerGiB, crossNodeSecondsPerGiB, fullScaleSecondsPerSecond: fullScale };
}

/** Sum of the terms' costs of one node; a term giving a cost that is not a finite number ≥ 0 fails the attempt, naming the term. */
export function totalCost(terms: readonly CostTerm[], ctx: SchedulingContext, node: NodeState): number {
  let total = 0;
  for (const term of terms) {
    const c = term.cost(ctx, node);
    if (typeof c !== 'number' || !Number.isFinite(c) || c < 0) {
      throw new Error(`cost term ${term.name} gave node ${node.name} cost ${String(c)}, must be a finite number ≥ 0 (seconds per second)`);
    }
    total += c;
  }
  return total;
}

/** The cost-model plugin over the terms of `terms` (the shipped ones by default); terms are looked up when a profile is built. */
export function costModelFactory(terms: CostTermRegistry = defaultCostTerms()): PluginFactory {
  return {
    name: COST_MODEL,
    kinds: ['score'],
    create(rawArgs: PluginArgs): ScorePlugin {
      const args = parseCostModelArgs(rawArgs, terms);
      const settings: CostTermSettings = { sameNodeSecondsPerGiB: args.sameNodeSecondsPerGiB, crossNodeSecondsPerGiB: args.crossNodeSecondsPerGiB };
      const built = args.terms.map((name) => terms.create(name, settings));
      return {
        name: COST_MODEL,
        score: (ctx, node) => totalCost(built, ctx, node),
        normalizeScores: (costs) => normalizeCostScores(costs, args.fullScaleSecondsPerSecond),
      };
    },
  };
}

export const costModelPluginFactory: PluginFactory = costModelFactory();
