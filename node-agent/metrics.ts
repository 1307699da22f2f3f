// Node agent metrics on an injected prom-client Registry (served by lib/metrics-server.ts).
import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';

export const PHASE_LABELS = ['starting', 'ready', 'terminating', 'failed'] as const;
export type PhaseLabel = (typeof PHASE_LABELS)[number];

export interface NodeAgentMetrics {
  /** Instance starts by function. */
  starts: Counter<'namespace' | 'function'>;
  /** Instances whose function server or queue-proxy exited unexpectedly, by function. */
  failures: Counter<'namespace' | 'function'>;
}

/** `countByPhase` is read at scrape time, so the gauge never drifts from the runtime's state. */
export function createNodeAgentMetrics(registry: Registry, countByPhase: () => Record<PhaseLabel, number>): NodeAgentMetrics {
  new Gauge({
    name: 'sluice_node_agent_instances',
    help: 'Instances on this node by phase (starting, ready, terminating, failed).',
    labelNames: ['phase'],
    registers: [registry],
    collect() {
      const counts = countByPhase();
      for (const phase of PHASE_LABELS) this.set({ phase }, counts[phase]);
    },
  });
  return {
    starts: new Counter({
      name: 'sluice_node_agent_instance_starts_total',
      help: 'Instances started on this node.',
      labelNames: ['namespace', 'function'],
      registers: [registry],
    }),
    failures: new Counter({
      name: 'sluice_node_agent_instance_failures_total',
      help: 'Instances whose function server or queue-proxy exited unexpectedly.',
      labelNames: ['namespace', 'function'],
      registers: [registry],
    }),
  };
}
