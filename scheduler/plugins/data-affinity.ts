// Score plugin data-affinity: nodes carrying more of the labels a Function names as where its data lives score higher.
import { MAX_NODE_SCORE, rejectUnknownArgs } from '../framework.js';
import type { NodeState, PluginArgs, PluginFactory, ScorePlugin } from '../framework.js';

export const DATA_AFFINITY = 'data-affinity';

/** The share of the affinity labels the node has with the same value, scaled to [0; 100]; no affinity = neutral (100). */
export function dataAffinityScore(affinity: Readonly<Record<string, string>> | undefined, node: NodeState): number {
  const entries = Object.entries(affinity ?? {});
  if (entries.length === 0) return MAX_NODE_SCORE;
  const matched = entries.filter(([key, value]) => Object.hasOwn(node.labels, key) && node.labels[key] === value).length;
  return (matched * MAX_NODE_SCORE) / entries.length;
}

export const dataAffinityFactory: PluginFactory = {
  name: DATA_AFFINITY,
  kinds: ['score'],
  create(args: PluginArgs): ScorePlugin {
    rejectUnknownArgs(DATA_AFFINITY, args, []);
    return {
      name: DATA_AFFINITY,
      score: (ctx, node) => dataAffinityScore(ctx.pod.definition.spec.placement?.dataAffinity, node),
    };
  },
};
