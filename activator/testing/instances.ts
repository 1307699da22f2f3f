// Loopback HTTP/1.1 and h2c servers standing in for function instances in activator tests.
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { Endpoint } from '../../lib/platform/types.js';

export interface TestInstance {
  name: string;
  endpoint: Endpoint;
  /** Requests seen, with their headers. */
  seen: Array<{ url: string; headers: IncomingHttpHeaders }>;
  close(): Promise<void>;
}

function endpointOf(name: string, port: number): Endpoint {
  return { instanceName: name, node: 'node-1', ip: '127.0.0.1', trafficPort: port };
}

/** An HTTP/1.1 instance; `handler` answers after the request is recorded. */
export async function startHttpInstance(name: string, handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<TestInstance> {
  const seen: TestInstance['seen'] = [];
  const server = http.createServer((req, res) => {
    seen.push({ url: req.url ?? '', headers: req.headers });
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    name,
    endpoint: endpointOf(name, port),
    seen,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** An h2c instance answering like a gRPC server: echoes the body, then trailers with grpc-status 0 and the byte count. */
export async function startH2Instance(name: string): Promise<TestInstance> {
  const seen: TestInstance['seen'] = [];
  const server = http2.createServer();
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });
  server.on('stream', (stream, headers) => {
    seen.push({ url: String(headers[':path']), headers: headers as IncomingHttpHeaders });
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => {
      const body = Buffer.concat(chunks);
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'x-instance': name }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'x-echo-bytes': String(body.length) }));
      stream.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    name,
    endpoint: endpointOf(name, port),
    seen,
    close: () =>
      new Promise((resolve) => {
        for (const session of sessions) session.destroy();
        server.close(() => resolve());
      }),
  };
}
