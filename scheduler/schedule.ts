// One scheduling attempt as a pure function: filter every node, score the feasible ones, pick the best.
import { MAX_NODE_SCORE, MIN_NODE_SCORE } from './framework.js';
import type { NodeState, Pod, Profile, SchedulingContext, Snapshot } from './framework.js';

export interface NodeScore {
  node: string;
  /** Weighted sum of the plugin scores. */
  total: number;
  /** Normalized score (0–100, before weighting) by plugin name. */
  byPlugin: Record<string, number>;
}

export type ScheduleResult =
  | { code: 'scheduled'; node: string; scores: NodeScore[] }
  | { code: 'unschedulable'; reasons: Record<string, string> }
  | { code: 'error'; message: string };

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Runs every filter on the node; reasons of all failing filters are joined so one read tells everything. */
function runFilters(ctx: SchedulingContext, node: NodeState, profile: Profile): { reason?: string; error?: string } {
  const reasons: string[] = [];
  for (const plugin of profile.filters) {
    let status;
    try {
      status = plugin.filter(ctx, node);
    } catch (err) {
      return { error: `filter ${plugin.name} failed on node ${node.name}: ${errorMessage(err)}` };
    }
    if (status.code === 'error') return { error: `filter ${plugin.name} failed on node ${node.name}: ${status.reason ?? 'error'}` };
    if (status.code === 'unschedulable') reasons.push(`${plugin.name}: ${status.reason ?? 'does not fit'}`);
  }
  return reasons.length > 0 ? { reason: reasons.join('; ') } : {};
}

/**
 * Places `pod` on one node of `snapshot`. Filters run on every node; the feasible
 * nodes get the weighted sum of each scorer's normalized score; the highest total
 * wins, ties broken by `random` (in [0; 1)) over the tied nodes in name order.
 */
export function schedule(pod: Pod, snapshot: Snapshot, profile: Profile, random: () => number = Math.random): ScheduleResult {
  const ctx: SchedulingContext = { pod, snapshot };
  const reasons: Record<string, string> = {};
  const feasible: NodeState[] = [];
  for (const node of snapshot.nodes) {
    const result = runFilters(ctx, node, profile);
    if (result.error !== undefined) return { code: 'error', message: result.error };
    if (result.reason !== undefined) reasons[node.name] = result.reason;
    else feasible.push(node);
  }
  if (feasible.length === 0) return { code: 'unschedulable', reasons };

  const scores = new Map<string, NodeScore>(feasible.map((n) => [n.name, { node: n.name, total: 0, byPlugin: {} }]));
  for (const { plugin, weight } of profile.scorers) {
    let normalized: Record<string, number>;
    try {
      const raw: Record<string, number> = {};
      for (const node of feasible) raw[node.name] = plugin.score(ctx, node);
      normalized = plugin.normalizeScores ? plugin.normalizeScores(raw) : raw;
    } catch (err) {
      return { code: 'error', message: `score plugin ${plugin.name} failed: ${errorMessage(err)}` };
    }
    for (const node of feasible) {
      const value = normalized[node.name];
      if (typeof value !== 'number' || !Number.isFinite(value) || value < MIN_NODE_SCORE || value > MAX_NODE_SCORE) {
        return {
          code: 'error',
          message: `score plugin ${plugin.name} gave node ${node.name} score ${String(value)}, must be in [${MIN_NODE_SCORE}; ${MAX_NODE_SCORE}]`,
        };
      }
      // Integer scores, as in Kubernetes: near-equal nodes tie and the tie-break spreads load between them.
      const score = Math.round(value);
      const entry = scores.get(node.name)!;
      entry.byPlugin[plugin.name] = score;
      entry.total += score * weight;
    }
  }

  const ranked = [...scores.values()].sort((a, b) => b.total - a.total || (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
  const best = ranked.filter((s) => s.total === ranked[0].total);
  const index = Math.min(best.length - 1, Math.max(0, Math.floor(random() * best.length)));
  return { code: 'scheduled', node: best[index].node, scores: ranked };
}

/** "0/3 nodes are available: node-1: …; node-2: …", Kubernetes-style. */
export function describeUnschedulable(reasons: Readonly<Record<string, string>>, nodeCount: number): string {
  if (nodeCount === 0) return 'no nodes to schedule on';
  const details = Object.entries(reasons)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([node, reason]) => `${node}: ${reason}`);
  return `0/${nodeCount} nodes are available: ${details.join(' | ')}`;
}
