// Score plugin spread: fewer instances of the same function on a node score higher, so a function's instances spread out.
import { MAX_NODE_SCORE, rejectUnknownArgs } from '../framework.js';
import type { NodeState, PluginArgs, PluginFactory, ScorePlugin } from '../framework.js';

export const SPREAD = 'spread';

/** Raw score: how many instances of the function the node already has. */
export function sameFunctionCount(namespace: string, fn: string, node: NodeState): number {
  let count = 0;
  for (const instance of node.instances) {
    if (instance.namespace === namespace && instance.function === fn) count++;
  }
  return count;
}

/** The node with the most instances gets 0, a node with none gets 100, linear in between. */
export function normalizeSpreadScores(counts: Readonly<Record<string, number>>): Record<string, number> {
  const max = Math.max(0, ...Object.values(counts));
  const out: Record<string, number> = {};
  for (const [node, count] of Object.entries(counts)) {
    out[node] = max === 0 ? MAX_NODE_SCORE : ((max - count) * MAX_NODE_SCORE) / max;
  }
  return out;
}

export const spreadFactory: PluginFactory = {
  name: SPREAD,
  kinds: ['score'],
  create(args: PluginArgs): ScorePlugin {
    rejectUnknownArgs(SPREAD, args, []);
    return {
      name: SPREAD,
      score: (ctx, node) => sameFunctionCount(ctx.pod.namespace, ctx.pod.function, node),
      normalizeScores: normalizeSpreadScores,
    };
  },
};
