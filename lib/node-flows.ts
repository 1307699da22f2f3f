// The cluster's XDT workflow graph and link costs from the nodes' NodeAgent.GetNodeFlows answers (pure), shared by
// the local platform's controller (lib/platform/local/controller.ts, which sends them in ScheduleRequest.flows /
// link_costs) and the scheduler on Kubernetes (scheduler/kubernetes/snapshot.ts, which puts them in the Snapshot).
import type { NodeFlows__Output } from '../protos/generated/sluice/nodeagent/v1/NodeFlows.js';
import type { XdtFlow__Output } from '../protos/generated/sluice/nodeagent/v1/XdtFlow.js';
import type { LinkCost__Output } from '../protos/generated/sluice/nodeagent/v1/LinkCost.js';

const isCount = (n: number): boolean => Number.isFinite(n) && n >= 0;

/**
 * Each consumer's node reports its own edges, so an edge seen on several nodes (consumers on several nodes) is summed
 * by (namespace, producer, consumer); each node reports its inbound links, so links are concatenated.
 */
export function mergeNodeFlows(views: Iterable<NodeFlows__Output>): { flows: XdtFlow__Output[]; link_costs: LinkCost__Output[] } {
  const flows = new Map<string, XdtFlow__Output>();
  const linkCosts: LinkCost__Output[] = [];
  for (const view of views) {
    for (const f of view.flows) {
      // An entry the scheduler would ignore must not be summed into a good one.
      if (!f.producer_function || !f.consumer_function || !isCount(f.bytes_per_second) || !isCount(f.bytes_total)) continue;
      const namespace = f.namespace || 'default';
      const key = JSON.stringify([namespace, f.producer_function, f.consumer_function]);
      const known = flows.get(key);
      if (known) {
        known.bytes_per_second += f.bytes_per_second;
        known.bytes_total += f.bytes_total;
      } else {
        flows.set(key, { ...f, namespace });
      }
    }
    linkCosts.push(...view.links);
  }
  return { flows: [...flows.values()], link_costs: linkCosts };
}
