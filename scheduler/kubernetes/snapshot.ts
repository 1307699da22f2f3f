// Kubernetes objects → the framework's Pod and Snapshot (pure): what the same filter and score plugins see on a cluster.
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import type { FunctionDefinition } from '../../lib/function-spec.js';
import { FUNCTION_LABEL } from '../../lib/kubernetes/function-resource.js';
import { mergeNodeFlows } from '../../lib/node-flows.js';
import { parseBytes, parseMilliCpu } from '../../lib/quantity.js';
import type { NodePm, NodeState, PlacedInstance, Pod, Snapshot } from '../framework.js';
import { flowsFromProto, linkCostsFromProto } from '../proto-convert.js';
import type { NodeFlows__Output } from '../../protos/generated/sluice/nodeagent/v1/NodeFlows.js';

/** Sum of the containers' requests: the pod's real footprint, the queue-proxy sidecar included. */
export function podRequests(pod: V1Pod): { milliCpu: number; memoryBytes: number } {
  let milliCpu = 0;
  let memoryBytes = 0;
  for (const c of pod.spec?.containers ?? []) {
    const r = c.resources?.requests ?? {};
    milliCpu += r.cpu === undefined ? 0 : (parseMilliCpu(String(r.cpu)) ?? 0);
    memoryBytes += r.memory === undefined ? 0 : (parseBytes(String(r.memory)) ?? 0);
  }
  return { milliCpu, memoryBytes };
}

export function frameworkPod(pod: V1Pod, definition: FunctionDefinition): Pod {
  return { namespace: pod.metadata!.namespace!, function: pod.metadata?.labels?.[FUNCTION_LABEL] ?? pod.metadata!.name!, definition, requests: podRequests(pod) };
}

/** Why a node takes no pods at all, Kubernetes-style; undefined when it may. */
export function nodeUnavailable(node: V1Node): string | undefined {
  if (node.spec?.unschedulable) return 'node is cordoned (unschedulable)';
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  if (ready?.status !== 'True') return `node is not ready (${ready?.reason ?? 'no Ready condition'})`;
  const taint = node.spec?.taints?.find((t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute');
  if (taint) return `node has taint ${taint.key}${taint.value ? `=${taint.value}` : ''}:${taint.effect}`;
  return undefined;
}

function placed(pod: V1Pod): PlacedInstance {
  const r = podRequests(pod);
  return { namespace: pod.metadata!.namespace!, function: pod.metadata?.labels?.[FUNCTION_LABEL] ?? '', milliCpu: r.milliCpu, memoryBytes: r.memoryBytes };
}

/**
 * The cluster's XDT workflow graph and link costs from the agents' GetNodeFlows answers (by node name), merged
 * as the local platform merges them (lib/node-flows.ts) and converted as the scheduler converts a request's
 * (proto-convert.ts): what the cost-model plugin sees. Merged in node-name order, so the sums do not depend on
 * which agent answered first. Empty parts are left out, as in snapshotFromRequest.
 */
export function flowsOf(views: ReadonlyMap<string, NodeFlows__Output>): Pick<Snapshot, 'flows' | 'linkCosts'> {
  const ordered = [...views].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, view]) => view);
  const merged = mergeNodeFlows(ordered);
  const flows = flowsFromProto(merged.flows);
  const linkCosts = linkCostsFromProto(merged.link_costs);
  return { ...(flows.length > 0 ? { flows } : {}), ...(linkCosts.length > 0 ? { linkCosts } : {}) };
}

/**
 * Nodes that take pods, each with what is already placed on it: bound pods that have not finished
 * (any scheduler's: resources are shared) plus pods this scheduler bound but the watch has not shown yet,
 * and its PM view when its node agent gave one (`pm`, by node name; absent = unknown, as locally); and the
 * flows and link costs of every agent that answered GetNodeFlows (`flows`, by node name; a node that takes no
 * pods still counts: its consumers' flows are real, and the cost-model plugin scores only the snapshot's nodes).
 */
export function snapshotOf(
  nodes: readonly V1Node[],
  pods: readonly V1Pod[],
  pm: ReadonlyMap<string, NodePm> = new Map(),
  flows: ReadonlyMap<string, NodeFlows__Output> = new Map(),
): { snapshot: Snapshot; unavailable: Record<string, string> } {
  const byNode = new Map<string, PlacedInstance[]>();
  for (const pod of pods) {
    const node = pod.spec?.nodeName;
    const phase = pod.status?.phase;
    if (!node || phase === 'Succeeded' || phase === 'Failed') continue;
    let list = byNode.get(node);
    if (!list) byNode.set(node, (list = []));
    list.push(placed(pod));
  }
  const unavailable: Record<string, string> = {};
  const states: NodeState[] = [];
  for (const node of nodes) {
    const name = node.metadata!.name!;
    const why = nodeUnavailable(node);
    if (why !== undefined) {
      unavailable[name] = why;
      continue;
    }
    const a = node.status?.allocatable ?? {};
    states.push({
      name,
      labels: node.metadata?.labels ?? {},
      capacity: {
        milliCpu: parseMilliCpu(String(a.cpu ?? '0')) ?? 0,
        memoryBytes: parseBytes(String(a.memory ?? '0')) ?? 0,
        instances: Number(a.pods ?? 110),
      },
      instances: byNode.get(name) ?? [],
      ...(pm.has(name) ? { pm: pm.get(name) } : {}),
    });
  }
  return { snapshot: { nodes: states.sort((x, y) => (x.name < y.name ? -1 : 1)), ...flowsOf(flows) }, unavailable };
}
