// Scheduler framework: the pod and snapshot shapes, Filter/Score plugin interfaces, the plugin registry and profiles.
import type { FunctionDefinition } from '../lib/function-spec.js';

/** The instance to place. */
export interface Pod {
  namespace: string;
  function: string;
  definition: FunctionDefinition;
  /** Resource requests of one instance (instanceRequests()). */
  requests: { milliCpu: number; memoryBytes: number };
}

/** An instance already placed on a node (any phase but failed). */
export interface PlacedInstance {
  namespace: string;
  function: string;
  milliCpu: number;
  memoryBytes: number;
}

export interface NodeCapacity {
  milliCpu: number;
  memoryBytes: number;
  /** Maximum number of instances the node accepts. */
  instances: number;
}

/** What the node's PM profiler predicts for one function. */
export interface PmPrediction {
  /** PM bytes written per invocation (moving average). */
  writtenBytes: number;
  /** Usage reports behind it. */
  samples: number;
}

/** A node's persistent memory as placement sees it (the node agent's GetNodePm). */
export interface NodePm {
  mode: 'off' | 'dax' | 'emulated' | 'plain';
  /** Concurrent PM writers the node admits: Infinity = unbounded, undefined = still calibrating, 0 = no PM (mode off). */
  writerLimit: number | undefined;
  /** By function key "namespace/name", only functions the node has a usage report of. */
  functions: Record<string, PmPrediction>;
}

export interface NodeState {
  name: string;
  labels: Record<string, string>;
  capacity: NodeCapacity;
  instances: PlacedInstance[];
  /** Absent: the node's PM is not known (not asked, no answer in time, or a platform that has no PM view). */
  pm?: NodePm;
}

/**
 * One edge of the cluster's XDT workflow graph: objects the consumer function's instances pulled from
 * the producer function's (the node agents' GetNodeFlows, summed over the consumers' nodes). Producer
 * and consumer are in the same namespace by construction.
 */
export interface XdtFlowEdge {
  namespace: string;
  producerFunction: string;
  consumerFunction: string;
  /** Decayed rate of the bytes pulled along the edge. */
  bytesPerSecond: number;
  /** Bytes counted since the node agents started. */
  bytesTotal: number;
}

/** The measured cost of moving object bytes from one node to another (fromNode = toNode: the same-node path). */
export interface LinkCostEntry {
  fromNode: string;
  toNode: string;
  /** Moving average of transfer seconds per GiB moved. */
  secondsPerGiB: number;
  /** Objects behind the average (at least 1). */
  samples: number;
}

export interface Snapshot {
  nodes: NodeState[];
  /** The XDT workflow graph; absent or empty: not known (no node measured a flow, or a platform without flow views). */
  flows?: XdtFlowEdge[];
  /** Measured link costs; absent or empty: none measured yet. */
  linkCosts?: LinkCostEntry[];
}

/** What every plugin sees for one scheduling attempt. */
export interface SchedulingContext {
  pod: Pod;
  snapshot: Snapshot;
}

export type StatusCode = 'success' | 'unschedulable' | 'error';

/** A plugin's verdict: expected outcomes ("does not fit") are values, not exceptions. */
export interface Status {
  code: StatusCode;
  reason?: string;
}

export const SUCCESS: Status = Object.freeze({ code: 'success' });

export function unschedulable(reason: string): Status {
  return { code: 'unschedulable', reason };
}

export function errorStatus(reason: string): Status {
  return { code: 'error', reason };
}

export const MIN_NODE_SCORE = 0;
export const MAX_NODE_SCORE = 100;

export interface FilterPlugin {
  readonly name: string;
  filter(ctx: SchedulingContext, node: NodeState): Status;
}

export interface ScorePlugin {
  readonly name: string;
  /** A raw score; after normalizeScores (when present) it must be in [0; 100]. */
  score(ctx: SchedulingContext, node: NodeState): number;
  /** Maps raw scores (node name → score) of all feasible nodes to [0; 100]. */
  normalizeScores?(scores: Readonly<Record<string, number>>): Record<string, number>;
}

export type Plugin = FilterPlugin | ScorePlugin | (FilterPlugin & ScorePlugin);

export function isFilterPlugin(plugin: Plugin): plugin is FilterPlugin {
  return typeof (plugin as Partial<FilterPlugin>).filter === 'function';
}

export function isScorePlugin(plugin: Plugin): plugin is ScorePlugin {
  return typeof (plugin as Partial<ScorePlugin>).score === 'function';
}

/** Raw plugin arguments, e.g. from configuration. */
export type PluginArgs = Readonly<Record<string, unknown>>;

export type PluginKind = 'filter' | 'score';

/** Builds a plugin from validated args; `create` throws PluginConfigError for bad args. */
export interface PluginFactory {
  readonly name: string;
  readonly kinds: readonly PluginKind[];
  create(args: PluginArgs): Plugin;
}

export class PluginConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PluginConfigError';
  }
}

/** Throws when `args` has keys other than `allowed`: a typo must not be silently ignored. */
export function rejectUnknownArgs(plugin: string, args: PluginArgs, allowed: readonly string[]): void {
  const unknown = Object.keys(args).filter((k) => !allowed.includes(k));
  if (unknown.length > 0) {
    const accepted = allowed.length > 0 ? `accepted: ${allowed.join(', ')}` : 'it takes no arguments';
    throw new PluginConfigError(`plugin ${plugin}: unknown argument ${unknown.map((k) => `"${k}"`).join(', ')} (${accepted})`);
  }
}

/** Plugins by name. */
export class PluginRegistry {
  private readonly factories = new Map<string, PluginFactory>();

  register(factory: PluginFactory): this {
    if (this.factories.has(factory.name)) throw new PluginConfigError(`plugin ${factory.name} is already registered`);
    this.factories.set(factory.name, factory);
    return this;
  }

  names(kind?: PluginKind): string[] {
    return [...this.factories.values()].filter((f) => kind === undefined || f.kinds.includes(kind)).map((f) => f.name);
  }

  has(name: string, kind?: PluginKind): boolean {
    const factory = this.factories.get(name);
    return factory !== undefined && (kind === undefined || factory.kinds.includes(kind));
  }

  /** Instantiates a plugin; with `kind`, also checks that the plugin is of that kind. */
  create(name: string, args: PluginArgs = {}, kind?: PluginKind): Plugin {
    const factory = this.factories.get(name);
    if (!factory || (kind !== undefined && !factory.kinds.includes(kind))) {
      const known = this.names(kind).join(', ');
      throw new PluginConfigError(`unknown ${kind ? `${kind} ` : ''}plugin "${name}", must be one of ${known}`);
    }
    return factory.create(args);
  }
}

export interface WeightedScorePlugin {
  plugin: ScorePlugin;
  weight: number;
}

/** The plugins one scheduling attempt runs: every filter, then the weighted scorers. */
export interface Profile {
  filters: FilterPlugin[];
  scorers: WeightedScorePlugin[];
}

export interface ProfileSpec {
  filters: Array<{ name: string; args?: PluginArgs }>;
  scorers: Array<{ name: string; weight: number; args?: PluginArgs }>;
}

export const MAX_SCORE_WEIGHT = 100;

/** Instantiates a profile; throws PluginConfigError naming the plugin for unknown names, wrong kinds or bad weights. */
export function buildProfile(registry: PluginRegistry, spec: ProfileSpec): Profile {
  const filters = spec.filters.map(({ name, args }) => registry.create(name, args, 'filter') as FilterPlugin);
  const scorers = spec.scorers.map(({ name, weight, args }) => {
    const plugin = registry.create(name, args, 'score') as ScorePlugin;
    if (!Number.isInteger(weight) || weight < 1 || weight > MAX_SCORE_WEIGHT) {
      throw new PluginConfigError(`plugin ${name}: weight = ${weight}, must be an integer in [1; ${MAX_SCORE_WEIGHT}]`);
    }
    return { plugin, weight };
  });
  return { filters, scorers };
}

/** Sum of the requests of the instances placed on a node. */
export function placedTotals(node: NodeState): { milliCpu: number; memoryBytes: number } {
  let milliCpu = 0;
  let memoryBytes = 0;
  for (const instance of node.instances) {
    milliCpu += instance.milliCpu;
    memoryBytes += instance.memoryBytes;
  }
  return { milliCpu, memoryBytes };
}
