// TEST INFRASTRUCTURE (virtual kubelet). The pod status kubelet would report, computed from what the process runtime knows.
//
// Ports of kubelet's getPhase (pkg/kubelet/kubelet_pods.go) and the condition generators of
// pkg/kubelet/status/generate.go, for the pods this stand-in runs (regular init containers, no sidecars, no
// container-level restart rules). The result goes to the pods/status subresource as a strategic merge patch,
// so conditions owned by others (PodScheduled from the scheduler, readiness gates, DisruptionTarget) survive.
import type { ContainerStatus, Pod, PodCondition, PodStatus } from './types.js';

export const CONDITION_READY_TO_START = 'PodReadyToStartContainers';
export const CONDITION_INITIALIZED = 'Initialized';
export const CONDITION_CONTAINERS_READY = 'ContainersReady';
export const CONDITION_READY = 'Ready';

/** The runtime's picture of one pod. */
export interface PodView {
  pod: Pod;
  podIPs: readonly string[];
  hostIPs: readonly string[];
  /** RFC 3339, when the virtual kubelet first took the pod. */
  startTime: string;
  /** The "sandbox" exists: the pod's IP (and credentials) are set up. */
  sandboxReady: boolean;
  initContainerStatuses: readonly ContainerStatus[];
  containerStatuses: readonly ContainerStatus[];
  /** kubelet's podIsTerminal: the pod worker is done with the pod (deleted and stopped, or finished for good). */
  terminal: boolean;
  /** The pod was refused (unsupported spec): phase Failed with this reason and message. */
  rejected?: { reason: string; message: string };
  /** RFC 3339 "now", for lastTransitionTime. */
  now: string;
}

function statusOf(statuses: readonly ContainerStatus[], name: string): ContainerStatus | undefined {
  return statuses.find((s) => s.name === name);
}

/** kubelet's getPhase, for regular init containers and the pod-level restartPolicy. */
export function podPhase(pod: Pod, initStatuses: readonly ContainerStatus[], statuses: readonly ContainerStatus[], podIsTerminal: boolean): string {
  const policy = pod.spec.restartPolicy ?? 'Always';
  let pendingInit = 0;
  let failedInit = 0;
  for (const c of pod.spec.initContainers ?? []) {
    const s = statusOf(initStatuses, c.name);
    if (!s || s.state.running) pendingInit++;
    else if (s.state.terminated) {
      if (s.state.terminated.exitCode !== 0) failedInit++;
    } else if (s.state.waiting) {
      if (s.lastState.terminated) {
        if (s.lastState.terminated.exitCode !== 0) failedInit++;
      } else pendingInit++;
    } else pendingInit++;
  }
  let unknown = 0;
  let running = 0;
  let waiting = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const c of pod.spec.containers) {
    const s = statusOf(statuses, c.name);
    if (!s) unknown++;
    else if (s.state.running) running++;
    else if (s.state.terminated) {
      stopped++;
      if (s.state.terminated.exitCode === 0) succeeded++;
    } else if (s.state.waiting) {
      if (s.lastState.terminated) stopped++;
      else waiting++;
    } else unknown++;
  }
  if (failedInit > 0 && policy === 'Never') return 'Failed';
  if (pendingInit > 0 || waiting > 0) return 'Pending';
  if (running > 0 && unknown === 0) return 'Running';
  if (running === 0 && stopped > 0 && unknown === 0) {
    if (podIsTerminal) return stopped === succeeded ? 'Succeeded' : 'Failed';
    if (policy === 'Always') return 'Running';
    if (stopped === succeeded) return 'Succeeded';
    if (policy === 'Never') return 'Failed';
    return 'Running';
  }
  return 'Pending';
}

type Condition = Omit<PodCondition, 'lastTransitionTime' | 'lastProbeTime'>;

function list(names: string[]): string {
  // Go's %s of a []string.
  return `[${names.join(' ')}]`;
}

export function containersReadyCondition(pod: Pod, statuses: readonly ContainerStatus[], phase: string): Condition {
  const type = CONDITION_CONTAINERS_READY;
  if (phase === 'Failed') return { type, status: 'False', reason: 'PodFailed' };
  const unknown: string[] = [];
  const unready: string[] = [];
  for (const c of pod.spec.containers) {
    const s = statusOf(statuses, c.name);
    if (!s) unknown.push(c.name);
    else if (!s.ready) unready.push(c.name);
  }
  if (phase === 'Succeeded' && unknown.length === 0) return { type, status: 'False', reason: 'PodCompleted' };
  const messages = [
    ...(unknown.length > 0 ? [`containers with unknown status: ${list(unknown)}`] : []),
    ...(unready.length > 0 ? [`containers with unready status: ${list(unready)}`] : []),
  ];
  if (messages.length > 0) return { type, status: 'False', reason: 'ContainersNotReady', message: messages.join(', ') };
  return { type, status: 'True' };
}

export function podReadyCondition(pod: Pod, conditions: readonly PodCondition[], statuses: readonly ContainerStatus[], phase: string): Condition {
  const containersReady = containersReadyCondition(pod, statuses, phase);
  if (containersReady.status !== 'True') return { ...containersReady, type: CONDITION_READY };
  const messages: string[] = [];
  for (const gate of pod.spec.readinessGates ?? []) {
    const c = conditions.find((x) => x.type === gate.conditionType);
    if (!c) messages.push(`corresponding condition of pod readiness gate "${gate.conditionType}" does not exist.`);
    else if (c.status !== 'True') messages.push(`the status of pod readiness gate "${gate.conditionType}" is not "True", but ${c.status}`);
  }
  if (messages.length > 0) return { type: CONDITION_READY, status: 'False', reason: 'ReadinessGatesNotReady', message: messages.join(', ') };
  return { type: CONDITION_READY, status: 'True' };
}

export function initializedCondition(pod: Pod, initStatuses: readonly ContainerStatus[], statuses: readonly ContainerStatus[], phase: string): Condition {
  const type = CONDITION_INITIALIZED;
  const unknown: string[] = [];
  const incomplete: string[] = [];
  for (const c of pod.spec.initContainers ?? []) {
    const s = statusOf(initStatuses, c.name);
    if (!s) unknown.push(c.name);
    else if (!s.ready) incomplete.push(c.name);
  }
  if (phase === 'Succeeded' && unknown.length === 0) return { type, status: 'True', reason: 'PodCompleted' };
  // HasAnyRegularContainerStarted: once a regular container ran, the pod stays initialized.
  if (statuses.some((s) => s.state.running || s.state.terminated || s.lastState.terminated)) return { type, status: 'True' };
  const messages = [
    ...(unknown.length > 0 ? [`containers with unknown status: ${list(unknown)}`] : []),
    ...(incomplete.length > 0 ? [`containers with incomplete status: ${list(incomplete)}`] : []),
  ];
  if (messages.length > 0) return { type, status: 'False', reason: 'ContainersNotInitialized', message: messages.join(', ') };
  return { type, status: 'True' };
}

/** Keeps a condition's lastTransitionTime while its status does not change. */
function withTransition(condition: Condition, previous: readonly PodCondition[], now: string): PodCondition {
  const old = previous.find((c) => c.type === condition.type);
  const lastTransitionTime = old && old.status === condition.status && old.lastTransitionTime ? old.lastTransitionTime : now;
  return { ...condition, lastProbeTime: null, lastTransitionTime };
}

/** A pods/status patch body's status: null clears a field (reason and message once a pod is no longer refused). */
export type PodStatusPatch = Omit<PodStatus, 'reason' | 'message'> & { reason?: string | null; message?: string | null };

/** The status to patch: every field the kubelet owns. */
export function buildPodStatus(view: PodView): PodStatusPatch {
  const { pod } = view;
  const previous = pod.status?.conditions ?? [];
  const ips = {
    hostIP: view.hostIPs[0],
    hostIPs: view.hostIPs.map((ip) => ({ ip })),
    ...(view.podIPs.length > 0 ? { podIP: view.podIPs[0], podIPs: view.podIPs.map((ip) => ({ ip })) } : {}),
    startTime: view.startTime,
  };
  if (view.rejected) {
    return { phase: 'Failed', reason: view.rejected.reason, message: view.rejected.message, ...ips, observedGeneration: pod.metadata.generation };
  }
  let phase = podPhase(pod, view.initContainerStatuses, view.containerStatuses, view.terminal);
  // kubelet's TerminatePod: a pod the worker is done with always ends in a terminal phase.
  if (view.terminal && (phase === 'Pending' || phase === 'Running')) phase = 'Failed';
  const conditions: Condition[] = [
    { type: CONDITION_READY_TO_START, status: view.sandboxReady && !view.terminal ? 'True' : 'False' },
    initializedCondition(pod, view.initContainerStatuses, view.containerStatuses, phase),
    containersReadyCondition(pod, view.containerStatuses, phase),
    podReadyCondition(pod, previous, view.containerStatuses, phase),
  ];
  return {
    phase,
    reason: null,
    message: null,
    conditions: conditions.map((c) => withTransition(c, previous, view.now)),
    ...ips,
    ...((pod.spec.initContainers ?? []).length > 0 ? { initContainerStatuses: [...view.initContainerStatuses] } : {}),
    containerStatuses: [...view.containerStatuses],
    observedGeneration: pod.metadata.generation,
  };
}
