// A Function's status from what the operator observed (pure): the Ready condition, URL and replica counts.
import type { V1Deployment } from '@kubernetes/client-node';
import type { FunctionCondition, FunctionStatus } from '../lib/kubernetes/function-resource.js';

export type Observation =
  | { kind: 'invalid'; message: string }
  | { kind: 'failed'; message: string }
  | { kind: 'applied'; deployment: V1Deployment };

interface Readiness {
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
}

function deploymentCondition(d: V1Deployment, type: string): { status: string; reason?: string; message?: string } | undefined {
  return d.status?.conditions?.find((c) => c.type === type);
}

/** Knative's view: a function scaled to zero is still Ready (the activator holds its requests). */
function readiness(observation: Observation): Readiness {
  if (observation.kind === 'invalid') return { status: 'False', reason: 'InvalidSpec', message: observation.message };
  if (observation.kind === 'failed') return { status: 'False', reason: 'ReconcileFailed', message: observation.message };
  const d = observation.deployment;
  const generation = d.metadata?.generation ?? 0;
  if ((d.status?.observedGeneration ?? 0) < generation) return { status: 'Unknown', reason: 'Deploying', message: 'the Deployment controller has not seen the latest spec yet' };
  const progressing = deploymentCondition(d, 'Progressing');
  if (progressing?.status === 'False') {
    return { status: 'False', reason: progressing.reason ?? 'ProgressDeadlineExceeded', message: progressing.message ?? 'the Deployment does not progress' };
  }
  const failure = deploymentCondition(d, 'ReplicaFailure');
  if (failure?.status === 'True') return { status: 'False', reason: failure.reason ?? 'ReplicaFailure', message: failure.message ?? 'instances cannot be created' };
  const wanted = d.spec?.replicas ?? 1;
  const ready = d.status?.readyReplicas ?? 0;
  if (wanted === 0) return { status: 'True', reason: 'ScaledToZero', message: 'no instances; the activator starts one on the next request' };
  if (ready > 0) return { status: 'True', reason: 'Serving', message: `${ready}/${wanted} instances ready` };
  return { status: 'Unknown', reason: 'Deploying', message: `waiting for an instance to become ready (0/${wanted})` };
}

/**
 * The new status; the Ready condition keeps its lastTransitionTime while its status stays, so
 * repeated reconciles write nothing (statusEqual) and watchers see real transitions only.
 */
export function functionStatus(previous: FunctionStatus | undefined, observation: Observation, generation: number, url: string, now: Date): FunctionStatus {
  const r = readiness(observation);
  const before = previous?.conditions?.find((c) => c.type === 'Ready');
  const condition: FunctionCondition = {
    type: 'Ready',
    status: r.status,
    reason: r.reason,
    message: r.message,
    observedGeneration: generation,
    lastTransitionTime: before && before.status === r.status ? before.lastTransitionTime : rfc3339(now),
  };
  const status: FunctionStatus = { observedGeneration: generation, url, conditions: [condition] };
  if (observation.kind === 'applied') {
    status.replicas = observation.deployment.status?.replicas ?? 0;
    status.readyReplicas = observation.deployment.status?.readyReplicas ?? 0;
  }
  return status;
}

/** metav1.Time's form: RFC 3339 to the second. */
export function rfc3339(time: Date): string {
  return time.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined).sort(([x], [y]) => (x < y ? -1 : 1));
    return Object.fromEntries(entries.map(([k, v]) => [k, canonical(v)]));
  }
  return value;
}

/** Compares statuses as stored, whatever the key order. */
export function statusEqual(a: FunctionStatus | undefined, b: FunctionStatus): boolean {
  return JSON.stringify(canonical(a ?? {})) === JSON.stringify(canonical(b));
}
