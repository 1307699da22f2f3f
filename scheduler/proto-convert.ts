// Converts between the Scheduler gRPC messages and the framework's Pod/Snapshot/ScheduleResult (pure).
import { instanceRequests, parseFunctionDefinition } from '../lib/function-spec.js';
import type { LinkCostEntry, NodePm, NodeState, Pod, Snapshot, XdtFlowEdge } from './framework.js';
import { describeUnschedulable } from './schedule.js';
import type { ScheduleResult } from './schedule.js';
import type { NodeSnapshot__Output } from '../protos/generated/sluice/scheduler/v1/NodeSnapshot.js';
import type { NodePm__Output } from '../protos/generated/sluice/nodeagent/v1/NodePm.js';
import type { XdtFlow__Output } from '../protos/generated/sluice/nodeagent/v1/XdtFlow.js';
import type { LinkCost__Output } from '../protos/generated/sluice/nodeagent/v1/LinkCost.js';
import type { ScheduleRequest__Output } from '../protos/generated/sluice/scheduler/v1/ScheduleRequest.js';
import type { ScheduleResponse } from '../protos/generated/sluice/scheduler/v1/ScheduleResponse.js';

/** A request that cannot be scheduled because it is malformed (answered with SCHEDULE_CODE_ERROR). */
export class InvalidRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidRequestError';
  }
}

export function podFromRequest(request: ScheduleRequest__Output): Pod {
  let value: unknown;
  try {
    value = JSON.parse(request.function_spec_json);
  } catch (err) {
    throw new InvalidRequestError(`function_spec_json is not JSON: ${(err as Error).message}`);
  }
  let definition;
  try {
    definition = parseFunctionDefinition(value, `function_spec_json of ${request.namespace}/${request.function}`);
  } catch (err) {
    throw new InvalidRequestError((err as Error).message);
  }
  return {
    namespace: request.namespace || (definition.metadata.namespace ?? 'default'),
    function: request.function || definition.metadata.name,
    definition,
    requests: instanceRequests(definition),
  };
}

/** The request's nodes, workflow graph and link costs; flows and link costs are left out when there are none. */
export function snapshotFromRequest(request: Pick<ScheduleRequest__Output, 'nodes' | 'flows' | 'link_costs'>): Snapshot {
  const snapshot = snapshotFromProto(request.nodes);
  const flows = flowsFromProto(request.flows ?? []);
  const linkCosts = linkCostsFromProto(request.link_costs ?? []);
  return { ...snapshot, ...(flows.length > 0 ? { flows } : {}), ...(linkCosts.length > 0 ? { linkCosts } : {}) };
}

export function snapshotFromProto(nodes: readonly NodeSnapshot__Output[]): Snapshot {
  const seen = new Set<string>();
  const out: NodeState[] = nodes.map((entry, index) => {
    const info = entry.node;
    if (!info || info.name === '') throw new InvalidRequestError(`nodes[${index}]: node info with a name is required`);
    if (seen.has(info.name)) throw new InvalidRequestError(`nodes[${index}]: node ${info.name} is listed twice`);
    seen.add(info.name);
    const pm = nodePmFromProto(entry.pm);
    return {
      name: info.name,
      labels: { ...info.labels },
      capacity: {
        milliCpu: Number(info.capacity?.milli_cpu ?? 0),
        memoryBytes: Number(info.capacity?.memory_bytes ?? 0),
        instances: info.capacity?.instances ?? 0,
      },
      // Failed instances hold no resources (their processes are gone).
      instances: entry.instances
        .filter((i) => i.phase !== 'INSTANCE_PHASE_FAILED')
        .map((i) => ({ namespace: i.namespace, function: i.function, milliCpu: Number(i.milli_cpu), memoryBytes: Number(i.memory_bytes) })),
      ...(pm ? { pm } : {}),
    };
  });
  return { nodes: out };
}

const PM_MODES: Partial<Record<NodePm__Output['mode'], NodePm['mode']>> = {
  NODE_PM_MODE_OFF: 'off',
  NODE_PM_MODE_DAX: 'dax',
  NODE_PM_MODE_EMULATED: 'emulated',
  NODE_PM_MODE_PLAIN: 'plain',
};

/** A node's PM view; undefined when absent or of no known mode (unknown, not an error: placement works without it). */
export function nodePmFromProto(view: NodePm__Output | null | undefined): NodePm | undefined {
  const mode = view ? PM_MODES[view.mode] : undefined;
  if (!view || !mode) return undefined;
  const functions: NodePm['functions'] = {};
  for (const f of view.functions) {
    const writtenBytes = Number(f.written_bytes);
    if (!f.function || !(Number.isFinite(writtenBytes) && writtenBytes >= 0) || !(f.samples > 0)) continue;
    functions[`${f.namespace || 'default'}/${f.function}`] = { writtenBytes, samples: f.samples };
  }
  let writerLimit: number | undefined;
  if (mode === 'off') writerLimit = 0;
  else if (view.calibrated) writerLimit = view.writer_limit > 0 ? view.writer_limit : Infinity;
  return { mode, writerLimit, functions };
}

const isCount = (n: number): boolean => Number.isFinite(n) && n >= 0;

/**
 * The workflow graph's edges. Junk entries (no producer or consumer name, a rate or total that is not a
 * finite number ≥ 0) are left out, never an error: the measurements only steer placement.
 */
export function flowsFromProto(flows: readonly XdtFlow__Output[]): XdtFlowEdge[] {
  const out: XdtFlowEdge[] = [];
  for (const f of flows) {
    const bytesPerSecond = Number(f.bytes_per_second);
    const bytesTotal = Number(f.bytes_total);
    if (!f.producer_function || !f.consumer_function || !isCount(bytesPerSecond) || !isCount(bytesTotal)) continue;
    out.push({ namespace: f.namespace || 'default', producerFunction: f.producer_function, consumerFunction: f.consumer_function, bytesPerSecond, bytesTotal });
  }
  return out;
}

/** Measured link costs; entries without both node names, with a cost that is not a finite number ≥ 0 or without samples are left out. */
export function linkCostsFromProto(links: readonly LinkCost__Output[]): LinkCostEntry[] {
  const out: LinkCostEntry[] = [];
  for (const l of links) {
    const secondsPerGiB = Number(l.seconds_per_gib);
    const samples = Number(l.samples);
    if (!l.from_node || !l.to_node || !isCount(secondsPerGiB) || !(Number.isInteger(samples) && samples >= 1)) continue;
    out.push({ fromNode: l.from_node, toNode: l.to_node, secondsPerGiB, samples });
  }
  return out;
}

export function responseFromResult(result: ScheduleResult, nodeCount: number): ScheduleResponse {
  switch (result.code) {
    case 'scheduled':
      return {
        code: 'SCHEDULE_CODE_SCHEDULED',
        node: result.node,
        scores: result.scores.map((s) => ({ node: s.node, total: s.total, by_plugin: s.byPlugin })),
      };
    case 'unschedulable':
      return {
        code: 'SCHEDULE_CODE_UNSCHEDULABLE',
        message: describeUnschedulable(result.reasons, nodeCount),
        reasons: result.reasons,
      };
    case 'error':
      return { code: 'SCHEDULE_CODE_ERROR', message: result.message };
  }
}
