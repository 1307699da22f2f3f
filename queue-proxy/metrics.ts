// Queue-proxy Prometheus metrics on an injected registry: process defaults plus request counts, latency, in-flight and queued gauges.
import { Counter, Gauge, Histogram, collectDefaultMetrics, type Registry } from 'prom-client';

export type CodeClass = '1xx' | '2xx' | '3xx' | '4xx' | '5xx';

/** Live numbers the gauges read at scrape time (so the hot path never touches a gauge). */
export interface QueueProxyGaugeSource {
  inFlight(): number;
  queued(): number;
}

export interface QueueProxyMetrics {
  /** Counts one finished request and observes its duration. */
  observe(status: number, seconds: number): void;
  queueFull(): void;
}

/** Status code → class label; anything outside 100–599 counts as 5xx (the proxy failed it). */
export function codeClass(status: number): CodeClass {
  if (status >= 100 && status < 200) return '1xx';
  if (status >= 200 && status < 300) return '2xx';
  if (status >= 300 && status < 400) return '3xx';
  if (status >= 400 && status < 500) return '4xx';
  return '5xx';
}

const CLASSES: readonly CodeClass[] = ['1xx', '2xx', '3xx', '4xx', '5xx'];

export function createQueueProxyMetrics(registry: Registry, namespace: string, fn: string, gauges: QueueProxyGaugeSource): QueueProxyMetrics {
  // Every instance has a queue-proxy, most of them idle: sample event-loop delay every 100 ms, not
  // prom-client's default 10 ms, so an idle queue-proxy costs next to no CPU.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 100 });
  const labels = { namespace, function: fn };
  const requests = new Counter({
    name: 'sluice_queue_proxy_requests_total',
    help: 'Requests answered by the queue-proxy, by status class.',
    labelNames: ['namespace', 'function', 'code_class'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'sluice_queue_proxy_request_duration_seconds',
    help: 'Time from request arrival at the queue-proxy to the end of its response, queueing included.',
    labelNames: ['namespace', 'function'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [registry],
  });
  new Gauge({
    name: 'sluice_queue_proxy_in_flight_requests',
    help: 'Requests being forwarded to the function server.',
    labelNames: ['namespace', 'function'],
    registers: [registry],
    collect() {
      this.set(labels, gauges.inFlight());
    },
  });
  new Gauge({
    name: 'sluice_queue_proxy_queued_requests',
    help: 'Requests waiting for a concurrency slot or for the function server to become ready.',
    labelNames: ['namespace', 'function'],
    registers: [registry],
    collect() {
      this.set(labels, gauges.queued());
    },
  });
  const queueFull = new Counter({
    name: 'sluice_queue_proxy_queue_full_total',
    help: 'Requests rejected with QUEUE_FULL because the queue was full.',
    labelNames: ['namespace', 'function'],
    registers: [registry],
  });
  // Bound children up front: a labelled lookup per request would hash the labels every time.
  const byClass = new Map(CLASSES.map((c) => [c, requests.labels({ ...labels, code_class: c })]));
  const durationChild = duration.labels(labels);
  const queueFullChild = queueFull.labels(labels);
  queueFullChild.inc(0);
  return {
    observe(status, seconds) {
      byClass.get(codeClass(status))!.inc();
      durationChild.observe(seconds);
    },
    queueFull() {
      queueFullChild.inc();
    },
  };
}
