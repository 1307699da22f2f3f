// Where each node's agent answers on a cluster (pure): the pods of the chart's node-agent DaemonSet, by node.
import type { V1Pod } from '@kubernetes/client-node';

/** The labels the chart gives the node agent pods (templates/_helpers.tpl sluice.selectorLabels, without the release). */
export const NODE_AGENT_LABELS: Readonly<Record<string, string>> = { 'app.kubernetes.io/name': 'sluice', 'app.kubernetes.io/component': 'node-agent' };

/** The container port the agent's gRPC server (PmNode, FlowProfile, NodeAgent.GetNodePm/GetNodeFlows) is named by in the chart. */
export const NODE_AGENT_GRPC_PORT_NAME = 'grpc';

/** When the pod names no such port: the agent's default (node-agent/kubernetes/config.ts). */
export const DEFAULT_NODE_AGENT_GRPC_PORT = 9095;

function isReady(pod: V1Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

function grpcPort(pod: V1Pod): number {
  for (const c of pod.spec?.containers ?? []) {
    const port = c.ports?.find((p) => p.name === NODE_AGENT_GRPC_PORT_NAME);
    if (port) return port.containerPort;
  }
  return DEFAULT_NODE_AGENT_GRPC_PORT;
}

/**
 * node name → host:port of its agent's gRPC server, at the pod IP (the scheduler reaches pods directly; the
 * hostPort is for the function pods of the node). Only running pods with an IP that are not being deleted count;
 * when a node has two (a rolling update), a ready one wins, then the newer.
 */
export function nodeAgentTargets(pods: readonly V1Pod[], labels: Readonly<Record<string, string>> = NODE_AGENT_LABELS): Map<string, string> {
  const best = new Map<string, V1Pod>();
  for (const pod of pods) {
    const podLabels = pod.metadata?.labels ?? {};
    if (!Object.entries(labels).every(([k, v]) => podLabels[k] === v)) continue;
    const node = pod.spec?.nodeName;
    if (!node || !pod.status?.podIP || pod.status.phase !== 'Running' || pod.metadata?.deletionTimestamp) continue;
    const current = best.get(node);
    if (current && !prefer(pod, current)) continue;
    best.set(node, pod);
  }
  const out = new Map<string, string>();
  for (const [node, pod] of best) {
    const ip = pod.status!.podIP!;
    out.set(node, `${ip.includes(':') ? `[${ip}]` : ip}:${grpcPort(pod)}`);
  }
  return out;
}

function prefer(candidate: V1Pod, current: V1Pod): boolean {
  if (isReady(candidate) !== isReady(current)) return isReady(candidate);
  return created(candidate) > created(current);
}

function created(pod: V1Pod): number {
  const t = pod.metadata?.creationTimestamp;
  return t === undefined ? 0 : new Date(t).getTime();
}
