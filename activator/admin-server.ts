// The activator's admin port: /metrics and /healthz (lib/metrics-server.ts) plus /ready, which answers 503 while draining.
import type { Registry } from 'prom-client';
import { serveMetrics, type MetricsServer } from '../lib/metrics-server.js';

export interface AdminServerOptions {
  registry: Registry;
  isReady: () => boolean;
  host: string;
  port: number;
}

export function startAdminServer(options: AdminServerOptions): Promise<MetricsServer> {
  return serveMetrics(options.registry, options.host, options.port, {
    '/ready': (_req, res) => {
      const ready = options.isReady();
      res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' }).end(ready ? 'ready' : 'draining');
    },
  });
}
