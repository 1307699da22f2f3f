// Prometheus metrics of the autoscaler, on an injected registry; labels are namespace and function only.
import { Counter, Gauge, type Registry } from 'prom-client';

const LABELS = ['namespace', 'function'] as const;

export interface AutoscalerMetrics {
  desiredInstances: Gauge<'namespace' | 'function'>;
  readyInstances: Gauge<'namespace' | 'function'>;
  panicMode: Gauge<'namespace' | 'function'>;
  stableConcurrency: Gauge<'namespace' | 'function'>;
  panicConcurrency: Gauge<'namespace' | 'function'>;
  excessBurstCapacity: Gauge<'namespace' | 'function'>;
  decisions: Counter<'namespace' | 'function'>;
  statsReceived: Counter<'namespace' | 'function'>;
  /** Drops every series of a deleted function so label values stay bounded by the live functions. */
  forget(namespace: string, fn: string): void;
}

export function createAutoscalerMetrics(registry: Registry): AutoscalerMetrics {
  const registers = [registry];
  const gauge = (name: string, help: string): Gauge<'namespace' | 'function'> =>
    new Gauge({ name, help, labelNames: LABELS, registers });
  const counter = (name: string, help: string): Counter<'namespace' | 'function'> =>
    new Counter({ name, help, labelNames: LABELS, registers });
  const metrics = {
    desiredInstances: gauge('sluice_autoscaler_desired_instances', 'Instances the autoscaler wants for the function.'),
    readyInstances: gauge('sluice_autoscaler_ready_instances', 'Ready instances of the function, as the platform reports them.'),
    panicMode: gauge('sluice_autoscaler_panic_mode', '1 while the function is in panic mode, else 0.'),
    stableConcurrency: gauge('sluice_autoscaler_stable_concurrency', 'Average concurrency over the stable window.'),
    panicConcurrency: gauge('sluice_autoscaler_panic_concurrency', 'Average concurrency over the panic window.'),
    excessBurstCapacity: gauge(
      'sluice_autoscaler_excess_burst_capacity',
      'Ready capacity minus panic concurrency minus target burst capacity (negative: activator in the path).',
    ),
    decisions: counter('sluice_autoscaler_decisions_total', 'Scale decisions computed (ticks and pokes).'),
    statsReceived: counter('sluice_autoscaler_stats_received_total', 'Stats received from queue-proxies and activators.'),
  };
  return {
    ...metrics,
    forget(namespace, fn) {
      for (const metric of Object.values(metrics)) metric.remove({ namespace, function: fn });
    },
  };
}
