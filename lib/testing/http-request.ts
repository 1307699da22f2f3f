// A small HTTP/1.1 client for tests: one request on a fresh loopback connection, the whole (small) response buffered.
import http, { type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';

export interface SimpleResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface SimpleRequest {
  method?: string;
  /** Default '/'. */
  path?: string;
  headers?: OutgoingHttpHeaders;
  body?: string | Buffer;
}

/** Sends one request to 127.0.0.1:port without connection reuse; resolves with status, headers and body. */
export function request(port: number, options: SimpleRequest = {}): Promise<SimpleResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method: options.method ?? 'GET', path: options.path ?? '/', headers: options.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}
