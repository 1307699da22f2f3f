// Plain HTTP handlers for the queue-proxy's admin port (/ready, /healthz) and metrics port (/metrics).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/** /ready answers 200 only while the function server is ready and the proxy is not draining. */
export function adminHandler(isReady: () => boolean): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const path = pathOf(req);
    if (req.method !== 'GET' && req.method !== 'HEAD') return json(res, 405, { code: 'BAD_REQUEST', message: `${req.method} not allowed` });
    if (path === '/ready') {
      const ready = isReady();
      return json(res, ready ? 200 : 503, { ready });
    }
    if (path === '/healthz') return json(res, 200, { ok: true });
    json(res, 404, { code: 'BAD_REQUEST', message: `no such path ${path}` });
  };
}

export function metricsHandler(registry: Registry): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    if (pathOf(req) !== '/metrics') return json(res, 404, { code: 'BAD_REQUEST', message: 'only /metrics is served here' });
    registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': registry.contentType, 'content-length': Buffer.byteLength(text) });
        res.end(text);
      },
      (err: Error) => json(res, 500, { code: 'INTERNAL', message: err.message }),
    );
  };
}
