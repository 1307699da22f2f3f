// Activator metrics on an injected prom-client Registry: requests, latency, queue and in-flight gauges, pokes, desired scale, locality decisions.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { LOCALITY_OUTCOMES } from './locality.js';

/** Bounded values of the code_class label ('aborted' = the client left before an answer). */
export type CodeClass = '1xx' | '2xx' | '3xx' | '4xx' | '5xx' | 'aborted';

export function codeClass(status: number): CodeClass {
  if (status >= 500) return '5xx';
  if (status >= 400) return '4xx';
  if (status >= 300) return '3xx';
  if (status >= 200) return '2xx';
  if (status >= 100) return '1xx';
  return 'aborted';
}

/** Per-function load read at scrape time, so the request path updates no gauges. */
export interface LoadSource {
  forEachFunction(visit: (namespace: string, name: string, queued: number, inFlight: number) => void): void;
}

export interface ActivatorMetrics {
  requests: Counter<'namespace' | 'function' | 'code_class'>;
  requestDuration: Histogram<'namespace' | 'function'>;
  queued: Gauge<'namespace' | 'function'>;
  inFlight: Gauge<'namespace' | 'function'>;
  queueFull: Counter<'namespace' | 'function'>;
  pokes: Counter<'namespace' | 'function'>;
  desiredInstances: Gauge<'namespace' | 'function'>;
  /** Routing decisions for requests carrying an XDT reference, by outcome (local | remote | no-preference). */
  localityDecisions: Counter<'namespace' | 'function' | 'outcome'>;
  /** Drops every series of a deleted function. */
  forget(namespace: string, name: string): void;
}

const FUNCTION_LABELS = ['namespace', 'function'] as const;

export function createActivatorMetrics(registry: Registry, load: LoadSource): ActivatorMetrics {
  const requests = new Counter({
    name: 'sluice_activator_requests_total',
    help: 'Requests answered by the activator, by function and status class.',
    labelNames: [...FUNCTION_LABELS, 'code_class'] as const,
    registers: [registry],
  });
  const requestDuration = new Histogram({
    name: 'sluice_activator_request_duration_seconds',
    help: 'Time from arrival to the end of the response, queueing included.',
    labelNames: FUNCTION_LABELS,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [registry],
  });
  const queued = new Gauge({
    name: 'sluice_activator_queued_requests',
    help: 'Requests waiting in the activator for an instance with capacity.',
    labelNames: FUNCTION_LABELS,
    registers: [registry],
    collect() {
      this.reset();
      load.forEachFunction((namespace, name, waiting) => this.set({ namespace, function: name }, waiting));
    },
  });
  const inFlight = new Gauge({
    name: 'sluice_activator_in_flight_requests',
    help: 'Requests the activator has sent to instances and not yet finished.',
    labelNames: FUNCTION_LABELS,
    registers: [registry],
    collect() {
      this.reset();
      load.forEachFunction((namespace, name, _waiting, active) => this.set({ namespace, function: name }, active));
    },
  });
  const queueFull = new Counter({
    name: 'sluice_activator_queue_full_total',
    help: 'Requests rejected with QUEUE_FULL.',
    labelNames: FUNCTION_LABELS,
    registers: [registry],
  });
  const pokes = new Counter({
    name: 'sluice_activator_pokes_total',
    help: 'Pokes sent to the autoscaler for functions at zero.',
    labelNames: FUNCTION_LABELS,
    registers: [registry],
  });
  const desiredInstances = new Gauge({
    name: 'sluice_activator_desired_instances',
    help: 'Desired instances per function, as last announced by the autoscaler.',
    labelNames: FUNCTION_LABELS,
    registers: [registry],
  });
  const localityDecisions = new Counter({
    name: 'sluice_activator_locality_decisions_total',
    help: 'Routing decisions for requests carrying an XDT reference: local (an instance on the producer\'s node), remote (none there could take it now), no-preference (locality routing off, or the reference unreadable).',
    labelNames: [...FUNCTION_LABELS, 'outcome'] as const,
    registers: [registry],
  });
  return {
    requests,
    requestDuration,
    queued,
    inFlight,
    queueFull,
    pokes,
    desiredInstances,
    localityDecisions,
    forget(namespace, name) {
      const labels = { namespace, function: name };
      for (const code_class of ['1xx', '2xx', '3xx', '4xx', '5xx', 'aborted'] as const) requests.remove({ ...labels, code_class });
      requestDuration.remove(labels);
      queueFull.remove(labels);
      pokes.remove(labels);
      for (const outcome of LOCALITY_OUTCOMES) localityDecisions.remove({ ...labels, outcome });
    },
  };
}
