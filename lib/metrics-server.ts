// Plain-HTTP serving of an injected prom-client Registry: /metrics for Prometheus, /healthz for liveness, plus a component's own paths.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { closeHttp, listenHttp } from './http/plain-server.js';

export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** Paths (without query) to their handlers. */
export type Routes = Readonly<Record<string, RouteHandler>>;

/** Writes `body` as uncached JSON. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: http.OutgoingHttpHeaders = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/** Answers GET and HEAD on `routes`; any other method is 405 and any other path 404, as JSON {code, message}. */
export function routesHandler(routes: Routes): RouteHandler {
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return sendJson(res, 405, { code: 'BAD_REQUEST', message: `${req.method} not allowed` }, { allow: 'GET, HEAD' });
    }
    const path = pathOf(req);
    const route = Object.hasOwn(routes, path) ? routes[path] : undefined;
    if (!route) return sendJson(res, 404, { code: 'BAD_REQUEST', message: `no such path ${path}` });
    route(req, res);
  };
}

/** The registry's text exposition; 500 {code: INTERNAL} when a collect() fails. */
export function metricsRoute(registry: Registry): RouteHandler {
  return (_req, res) => {
    registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': registry.contentType, 'content-length': Buffer.byteLength(text) });
        res.end(text);
      },
      (err: Error) => sendJson(res, 500, { code: 'INTERNAL', message: err.message }),
    );
  };
}

/** Liveness: 200 while the process serves HTTP at all (readiness is each component's own /ready). */
export const healthzRoute: RouteHandler = (_req, res) => sendJson(res, 200, { ok: true });

/** /metrics and /healthz from `registry`, plus the component's `routes` (e.g. /ready). */
export function metricsHandler(registry: Registry, routes: Routes = {}): RouteHandler {
  return routesHandler({ '/metrics': metricsRoute(registry), '/healthz': healthzRoute, ...routes });
}

export interface MetricsServer {
  /** The bound port (useful when asked for port 0). */
  readonly port: number;
  /** Stops listening and cuts open connections. */
  close(): Promise<void>;
}

/** Serves metricsHandler(registry, routes) on host:port (0 = any free port); resolves once listening. */
export async function serveMetrics(registry: Registry, host: string, port: number, routes: Routes = {}): Promise<MetricsServer> {
  const server = http.createServer(metricsHandler(registry, routes));
  const address = await listenHttp(server, port, host);
  return { port: address.port, close: () => closeHttp(server) };
}
