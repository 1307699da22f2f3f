// Score plugin pm-writer-spread: spreads functions predicted to write persistent memory heavily across
// nodes, by the writer load each node would carry relative to its PM writer limit (issue 5, the
// scheduler's half of PM-write admission; each node still admits its own writers).
//
// Which functions write comes from the nodes' PM profilers (NodeState.pm, the node agents'
// GetNodePm): a function is a writer when its predicted bytes written per invocation reach the
// threshold, taking the prediction of the node with the most usage reports of it. The pod's own
// function is judged the same way; for a pod that is not a predicted writer every node gets the same
// score, so the plugin never changes where other functions go.
import { MAX_NODE_SCORE, PluginConfigError, rejectUnknownArgs } from '../framework.js';
import type { NodeState, PluginArgs, PluginFactory, ScorePlugin, SchedulingContext, Snapshot } from '../framework.js';

export const PM_WRITER_SPREAD = 'pm-writer-spread';

export interface PmWriterSpreadArgs {
  /** Predicted PM bytes written per invocation from which a function is a writer (the node agents' pm-writer-threshold). */
  writerThresholdBytes: number;
}

export const DEFAULT_PM_WRITER_SPREAD_ARGS: PmWriterSpreadArgs = { writerThresholdBytes: 64 * 1024 };

/** Every node's score for a pod that is not a predicted writer: the plugin has nothing to say. */
export const NEUTRAL_SCORE = MAX_NODE_SCORE;
/** A writer on a node whose PM is not known (no answer, or still calibrating): as on a node exactly at its limit. */
export const UNKNOWN_PM_SCORE = MAX_NODE_SCORE / 2;
/** A writer on a node without PM (mode off): below every node that has PM. */
export const NO_PM_SCORE = 0;

/** Predicted bytes written per invocation by function key, across the cluster: the node with the most usage reports wins. */
export function clusterPredictions(snapshot: Snapshot): Map<string, number> {
  const best = new Map<string, { writtenBytes: number; samples: number }>();
  for (const node of snapshot.nodes) {
    for (const [fn, p] of Object.entries(node.pm?.functions ?? {})) {
      const known = best.get(fn);
      if (!known || p.samples > known.samples || (p.samples === known.samples && p.writtenBytes > known.writtenBytes)) best.set(fn, p);
    }
  }
  return new Map([...best].map(([fn, p]) => [fn, p.writtenBytes]));
}

/** Function keys predicted to write at least `thresholdBytes` per invocation. */
export function predictedWriters(snapshot: Snapshot, thresholdBytes: number): Set<string> {
  const out = new Set<string>();
  for (const [fn, bytes] of clusterPredictions(snapshot)) if (bytes >= thresholdBytes) out.add(fn);
  return out;
}

/** Instances on the node of functions in `writers`. */
export function writerInstances(node: NodeState, writers: ReadonlySet<string>): number {
  let n = 0;
  for (const i of node.instances) if (writers.has(`${i.namespace || 'default'}/${i.function}`)) n++;
  return n;
}

/**
 * A predicted writer's score on `node`, in [0; 100], from the writer load the node would carry with
 * it: load = (writer instances + 1) / writer limit, score = 100 / (1 + load). An unbounded limit is no
 * pressure (100); a node with one free slot of two scores 67, a node at its limit 50, twice over it 33.
 * PM nodes never score below 1, so a node without PM (0) is always last; an unknown node scores 50.
 */
export function writerScore(node: NodeState, writers: ReadonlySet<string>): number {
  const pm = node.pm;
  if (!pm || pm.writerLimit === undefined) return UNKNOWN_PM_SCORE;
  if (pm.mode === 'off' || pm.writerLimit <= 0) return NO_PM_SCORE;
  if (pm.writerLimit === Infinity) return MAX_NODE_SCORE;
  const load = (writerInstances(node, writers) + 1) / pm.writerLimit;
  return Math.max(1, MAX_NODE_SCORE / (1 + load));
}

export function parsePmWriterSpreadArgs(args: PluginArgs): PmWriterSpreadArgs {
  rejectUnknownArgs(PM_WRITER_SPREAD, args, ['writerThresholdBytes']);
  const out = { ...DEFAULT_PM_WRITER_SPREAD_ARGS };
  const value = args.writerThresholdBytes;
  if (value !== undefined) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 1) {
      throw new PluginConfigError(`plugin ${PM_WRITER_SPREAD}: writerThresholdBytes = ${String(value)}, must be a number ≥ 1`);
    }
    out.writerThresholdBytes = value;
  }
  return out;
}

export const pmWriterSpreadFactory: PluginFactory = {
  name: PM_WRITER_SPREAD,
  kinds: ['score'],
  create(rawArgs: PluginArgs): ScorePlugin {
    const args = parsePmWriterSpreadArgs(rawArgs);
    // score() runs once per node of an attempt: classify the cluster's functions once per snapshot.
    const cache = new WeakMap<Snapshot, { writers: Set<string> }>();
    const writersOf = (ctx: SchedulingContext): Set<string> => {
      let entry = cache.get(ctx.snapshot);
      if (!entry) cache.set(ctx.snapshot, (entry = { writers: predictedWriters(ctx.snapshot, args.writerThresholdBytes) }));
      return entry.writers;
    };
    return {
      name: PM_WRITER_SPREAD,
      score(ctx, node) {
        const writers = writersOf(ctx);
        if (!writers.has(`${ctx.pod.namespace || 'default'}/${ctx.pod.function}`)) return NEUTRAL_SCORE;
        return writerScore(node, writers);
      },
    };
  },
};
