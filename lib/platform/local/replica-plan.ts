// Pure decision of the local platform's instance controller: how many instances to start and which to stop.

export type InstanceState = 'starting' | 'ready' | 'terminating';

export interface InstanceView {
  name: string;
  state: InstanceState;
  createdAtMs: number;
}

export interface ReplicaPlan {
  start: number;
  stop: string[];
}

/**
 * Brings the number of live (not terminating) instances to `desired`.
 * Surplus instances are stopped in this order, as the Kubernetes ReplicaSet
 * controller does: not-ready before ready, then the newest first (the oldest
 * instances are the warmest).
 */
export function planReplicas(desired: number, instances: readonly InstanceView[]): ReplicaPlan {
  const live = instances.filter((i) => i.state !== 'terminating');
  if (live.length < desired) return { start: desired - live.length, stop: [] };
  if (live.length === desired) return { start: 0, stop: [] };
  const victims = [...live].sort((a, b) => {
    const readiness = Number(a.state === 'ready') - Number(b.state === 'ready');
    if (readiness !== 0) return readiness;
    return b.createdAtMs - a.createdAtMs || a.name.localeCompare(b.name);
  });
  return { start: 0, stop: victims.slice(0, live.length - desired).map((i) => i.name) };
}
