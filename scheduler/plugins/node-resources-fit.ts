// Filter plugin node-resources-fit: the node must have room for the instance's CPU, memory and instance slot.
import { SUCCESS, placedTotals, rejectUnknownArgs, unschedulable } from '../framework.js';
import type { FilterPlugin, NodeState, PluginArgs, PluginFactory, Pod, Status } from '../framework.js';

export const NODE_RESOURCES_FIT = 'node-resources-fit';

function formatMilliCpu(milliCpu: number): string {
  return `${milliCpu}m`;
}

function formatBytes(bytes: number): string {
  const units: Array<[string, number]> = [['Gi', 2 ** 30], ['Mi', 2 ** 20], ['Ki', 2 ** 10]];
  for (const [unit, size] of units) {
    if (Math.abs(bytes) >= size) return `${Number((bytes / size).toFixed(2))}${unit}`;
  }
  return `${bytes}`;
}

/** Every resource the instance does not fit in, each named; empty when it fits. */
export function resourceShortfalls(requests: Pod['requests'], node: NodeState): string[] {
  const placed = placedTotals(node);
  const { capacity } = node;
  const problems: string[] = [];
  if (placed.milliCpu + requests.milliCpu > capacity.milliCpu) {
    const free = Math.max(0, capacity.milliCpu - placed.milliCpu);
    problems.push(
      `insufficient cpu: requests ${formatMilliCpu(requests.milliCpu)}, ${formatMilliCpu(free)} free of ${formatMilliCpu(capacity.milliCpu)}`,
    );
  }
  if (placed.memoryBytes + requests.memoryBytes > capacity.memoryBytes) {
    const free = Math.max(0, capacity.memoryBytes - placed.memoryBytes);
    problems.push(
      `insufficient memory: requests ${formatBytes(requests.memoryBytes)}, ${formatBytes(free)} free of ${formatBytes(capacity.memoryBytes)}`,
    );
  }
  if (node.instances.length >= capacity.instances) {
    problems.push(`too many instances: ${node.instances.length} of ${capacity.instances}`);
  }
  return problems;
}

export function nodeResourcesFit(requests: Pod['requests'], node: NodeState): Status {
  const problems = resourceShortfalls(requests, node);
  return problems.length === 0 ? SUCCESS : unschedulable(problems.join('; '));
}

export const nodeResourcesFitFactory: PluginFactory = {
  name: NODE_RESOURCES_FIT,
  kinds: ['filter'],
  create(args: PluginArgs): FilterPlugin {
    rejectUnknownArgs(NODE_RESOURCES_FIT, args, []);
    return { name: NODE_RESOURCES_FIT, filter: (ctx, node) => nodeResourcesFit(ctx.pod.requests, node) };
  },
};
