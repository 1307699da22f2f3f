// Filter plugin node-selector: every label of spec.placement.nodeSelector must be on the node with the same value.
import { SUCCESS, rejectUnknownArgs, unschedulable } from '../framework.js';
import type { FilterPlugin, NodeState, PluginArgs, PluginFactory, Status } from '../framework.js';

export const NODE_SELECTOR = 'node-selector';

/** The selector labels the node lacks or has with another value, described; empty when it matches. */
export function selectorMismatches(selector: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>>): string[] {
  const problems: string[] = [];
  for (const [key, want] of Object.entries(selector)) {
    const have = Object.hasOwn(labels, key) ? labels[key] : undefined;
    if (have === undefined) problems.push(`missing label ${key}=${want}`);
    else if (have !== want) problems.push(`label ${key}=${have}, want ${key}=${want}`);
  }
  return problems;
}

export function nodeSelectorFilter(selector: Readonly<Record<string, string>> | undefined, node: NodeState): Status {
  if (!selector) return SUCCESS;
  const problems = selectorMismatches(selector, node.labels);
  return problems.length === 0 ? SUCCESS : unschedulable(`node selector does not match: ${problems.join(', ')}`);
}

export const nodeSelectorFactory: PluginFactory = {
  name: NODE_SELECTOR,
  kinds: ['filter'],
  create(args: PluginArgs): FilterPlugin {
    rejectUnknownArgs(NODE_SELECTOR, args, []);
    return {
      name: NODE_SELECTOR,
      filter: (ctx, node) => nodeSelectorFilter(ctx.pod.definition.spec.placement?.nodeSelector, node),
    };
  },
};
