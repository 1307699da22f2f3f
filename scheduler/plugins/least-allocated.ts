// Score plugin least-allocated: prefers nodes with the most CPU and memory left after placing the instance.
import { MAX_NODE_SCORE, PluginConfigError, placedTotals, rejectUnknownArgs } from '../framework.js';
import type { NodeState, PluginArgs, PluginFactory, Pod, ScorePlugin } from '../framework.js';

export const LEAST_ALLOCATED = 'least-allocated';

export interface LeastAllocatedArgs {
  /** Relative weights of CPU and memory in the score (Kubernetes' default: 1 and 1). */
  cpuWeight: number;
  memoryWeight: number;
}

export const DEFAULT_LEAST_ALLOCATED_ARGS: LeastAllocatedArgs = { cpuWeight: 1, memoryWeight: 1 };

/** Free share of one resource after the request, scaled to [0; 100]; a resource with no capacity scores 0. */
function freeShare(requested: number, capacity: number): number {
  if (capacity <= 0 || requested >= capacity) return 0;
  return ((capacity - requested) * MAX_NODE_SCORE) / capacity;
}

export function leastAllocatedScore(requests: Pod['requests'], node: NodeState, args: LeastAllocatedArgs): number {
  const placed = placedTotals(node);
  const cpu = freeShare(placed.milliCpu + requests.milliCpu, node.capacity.milliCpu);
  const memory = freeShare(placed.memoryBytes + requests.memoryBytes, node.capacity.memoryBytes);
  return (cpu * args.cpuWeight + memory * args.memoryWeight) / (args.cpuWeight + args.memoryWeight);
}

export function parseLeastAllocatedArgs(args: PluginArgs): LeastAllocatedArgs {
  rejectUnknownArgs(LEAST_ALLOCATED, args, ['cpuWeight', 'memoryWeight']);
  const out = { ...DEFAULT_LEAST_ALLOCATED_ARGS };
  for (const key of ['cpuWeight', 'memoryWeight'] as const) {
    const value = args[key];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 100) {
      throw new PluginConfigError(`plugin ${LEAST_ALLOCATED}: ${key} = ${String(value)}, must be a number in [0; 100]`);
    }
    out[key] = value;
  }
  if (out.cpuWeight + out.memoryWeight === 0) {
    throw new PluginConfigError(`plugin ${LEAST_ALLOCATED}: cpuWeight and memoryWeight must not both be 0`);
  }
  return out;
}

export const leastAllocatedFactory: PluginFactory = {
  name: LEAST_ALLOCATED,
  kinds: ['score'],
  create(rawArgs: PluginArgs): ScorePlugin {
    const args = parseLeastAllocatedArgs(rawArgs);
    return { name: LEAST_ALLOCATED, score: (ctx, node) => leastAllocatedScore(ctx.pod.requests, node, args) };
  },
};
