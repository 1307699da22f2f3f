// Operator metrics on an injected prom-client Registry (served by lib/metrics-server.ts).
import { Counter, Gauge, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';
import type { WorkQueue } from '../lib/kubernetes/work-queue.js';

export interface OperatorMetrics {
  /** Reconciles by result (applied, invalid, error). */
  reconciles: Counter<'result'>;
  duration: Histogram;
}

export function createOperatorMetrics(registry: Registry, queue: WorkQueue): OperatorMetrics {
  new Gauge({
    name: 'sluice_operator_work_queue_depth',
    help: 'Functions waiting to be reconciled.',
    registers: [registry],
    collect() {
      this.set(queue.length);
    },
  });
  return {
    reconciles: new Counter({
      name: 'sluice_operator_reconciles_total',
      help: 'Function reconciles by result (applied, invalid, error).',
      labelNames: ['result'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'sluice_operator_reconcile_duration_seconds',
      help: 'Time of one Function reconcile, API calls included, in seconds.',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
  };
}
