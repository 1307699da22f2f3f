// The function server for TypeScript functions: serve(handler) with a health endpoint and graceful shutdown.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { withPmAccount } from './pm.js';

export type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface ServeOptions {
  /** Defaults to $PORT, else 8080. */
  port?: number;
  /** Defaults to $HOST (the instance address on the local platform), else 0.0.0.0. */
  host?: string;
  /** Answered by the server itself with 200, for readiness probes. */
  healthPath?: string;
  /** How long in-flight requests may finish after SIGTERM. */
  shutdownTimeoutMs?: number;
}

export interface FunctionServer {
  server: http.Server;
  port: number;
  close(): Promise<void>;
}

/** Where the platform says this instance runs (env set by the node agent or Kubernetes). */
export const instanceInfo = {
  namespace: process.env.SLUICE_NAMESPACE ?? 'default',
  function: process.env.SLUICE_FUNCTION ?? '',
  instance: process.env.SLUICE_INSTANCE ?? '',
};

function sendHandlerError(res: ServerResponse, err: unknown): void {
  if (res.headersSent) {
    res.destroy(err as Error);
    return;
  }
  const body = JSON.stringify({ code: 'FUNCTION_ERROR', message: (err as Error)?.message ?? String(err) });
  res.writeHead(500, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/**
 * Serves `handler` over HTTP/1.1. A handler that throws or rejects gets a 500
 * JSON answer; SIGTERM stops accepting, lets in-flight requests finish, then exits.
 */
export async function serve(handler: Handler, options: ServeOptions = {}): Promise<FunctionServer> {
  const healthPath = options.healthPath ?? '/healthz';
  const server = http.createServer({ keepAlive: true, keepAliveTimeout: 65_000, requestTimeout: 0 }, (req, res) => {
    if (req.url === healthPath) {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 2 });
      res.end('ok');
      return;
    }
    try {
      const result = withPmAccount(res, () => handler(req, res));
      if (result instanceof Promise) result.catch((err: unknown) => sendHandlerError(res, err));
    } catch (err) {
      sendHandlerError(res, err);
    }
  });
  const port = options.port ?? Number(process.env.PORT ?? 8080);
  const host = options.host ?? process.env.HOST ?? '0.0.0.0';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const close = (): Promise<void> =>
    new Promise((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
  const onSignal = (): void => {
    const timer = setTimeout(() => process.exit(0), options.shutdownTimeoutMs ?? 30_000);
    timer.unref();
    void close().then(() => process.exit(0));
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  return { server, port: (server.address() as AddressInfo).port, close };
}

/** Reads a query parameter of the request URL. */
export function queryParam(req: IncomingMessage, name: string): string | null {
  const q = req.url?.indexOf('?') ?? -1;
  if (q < 0) return null;
  return new URLSearchParams(req.url!.slice(q + 1)).get(name);
}
