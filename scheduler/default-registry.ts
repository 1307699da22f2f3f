// The plugins every scheduler ships with, registered by name; the default profile runs every filter.
import { PluginRegistry, buildProfile } from './framework.js';
import type { PluginArgs, Profile } from './framework.js';
import { nodeResourcesFitFactory } from './plugins/node-resources-fit.js';
import { nodeSelectorFactory } from './plugins/node-selector.js';
import { leastAllocatedFactory } from './plugins/least-allocated.js';
import { spreadFactory } from './plugins/spread.js';
import { dataAffinityFactory } from './plugins/data-affinity.js';
import { pmWriterSpreadFactory } from './plugins/pm-writer-spread.js';
import { costModelFactory, defaultCostTerms, type CostTermRegistry } from './plugins/cost-model.js';

/** The shipped plugins; cost-model sums the terms of `costTerms` (register more there to add a cost term). */
export function defaultRegistry(costTerms: CostTermRegistry = defaultCostTerms()): PluginRegistry {
  return new PluginRegistry()
    .register(nodeResourcesFitFactory)
    .register(nodeSelectorFactory)
    .register(leastAllocatedFactory)
    .register(spreadFactory)
    .register(dataAffinityFactory)
    .register(pmWriterSpreadFactory)
    .register(costModelFactory(costTerms));
}

/** All registered filters and the given score weights by plugin name; plugins take their args from `pluginArgs` (by name), else defaults. */
export function profileFromWeights(registry: PluginRegistry, scoreWeights: Readonly<Record<string, number>>, pluginArgs: Readonly<Record<string, PluginArgs>> = {}): Profile {
  return buildProfile(registry, {
    filters: registry.names('filter').map((name) => ({ name, args: pluginArgs[name] })),
    scorers: Object.entries(scoreWeights).map(([name, weight]) => ({ name, weight, args: pluginArgs[name] })),
  });
}
