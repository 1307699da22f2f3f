// Scheduler metrics on an injected prom-client Registry, and the optional /metrics HTTP server.
import http from 'node:http';
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

/** Serves GET /metrics from `registry` on host:port; resolves the server once listening. */
export function serveMetrics(registry: Registry, host: string, port: number): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${err.message}\n`),
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
