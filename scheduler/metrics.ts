// Scheduler metrics on an injected prom-client Registry (served by lib/metrics-server.ts).
import { Counter, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';

export type ScheduleOutcome = 'scheduled' | 'unschedulable' | 'error';

export interface SchedulerMetrics {
  /** Attempts by result (scheduled, unschedulable, error). */
  attempts: Counter<'result'>;
  /** Time to run filters and scores for one attempt. */
  duration: Histogram;
}

export function createSchedulerMetrics(registry: Registry): SchedulerMetrics {
  return {
    attempts: new Counter({
      name: 'sluice_scheduler_schedule_attempts_total',
      help: 'Scheduling attempts by result (scheduled, unschedulable, error).',
      labelNames: ['result'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'sluice_scheduler_scheduling_duration_seconds',
      help: 'Time to filter and score the nodes for one scheduling attempt, in seconds.',
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1],
      registers: [registry],
    }),
  };
}
