// Streaming reverse-proxy primitives shared by the activator and the queue-proxy: HTTP/1.1 via undici pools, h2c via http2 sessions.
import http2, { type ClientHttp2Session, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { Pool, errors as undiciErrors } from 'undici';
import { SluiceError } from '../errors.js';
import { forwardableHeaders, isHopByHop } from './headers.js';

export interface UpstreamPoolOptions {
  /** Connections per upstream origin. */
  connectionsPerUpstream: number;
  keepAliveTimeoutMs: number;
  connectTimeoutMs: number;
}

export const DEFAULT_UPSTREAM_POOL_OPTIONS: UpstreamPoolOptions = {
  connectionsPerUpstream: 256,
  keepAliveTimeoutMs: 30_000,
  connectTimeoutMs: 2_000,
};

/** Keep-alive connection pools (HTTP/1.1) and sessions (h2c), one per upstream origin. */
export class UpstreamPools {
  private readonly pools = new Map<string, Pool>();
  private readonly sessions = new Map<string, ClientHttp2Session>();

  constructor(private readonly options: UpstreamPoolOptions = DEFAULT_UPSTREAM_POOL_OPTIONS) {}

  http1(origin: string): Pool {
    let pool = this.pools.get(origin);
    if (!pool) {
      pool = new Pool(origin, {
        connections: this.options.connectionsPerUpstream,
        pipelining: 1,
        keepAliveTimeout: this.options.keepAliveTimeoutMs,
        keepAliveMaxTimeout: this.options.keepAliveTimeoutMs,
        connectTimeout: this.options.connectTimeoutMs,
        // Function timeouts are enforced per request (see ForwardOptions.timeoutMs).
        headersTimeout: 0,
        bodyTimeout: 0,
      });
      this.pools.set(origin, pool);
    }
    return pool;
  }

  http2(origin: string): ClientHttp2Session {
    let session = this.sessions.get(origin);
    if (!session || session.closed || session.destroyed) {
      const created = http2.connect(origin, { maxSessionMemory: 64 });
      created.on('error', () => undefined); // surfaced on the streams using it
      const forget = (): void => {
        if (this.sessions.get(origin) === created) this.sessions.delete(origin);
      };
      created.once('close', forget);
      created.once('goaway', forget);
      created.unref();
      this.sessions.set(origin, created);
      session = created;
    }
    return session;
  }

  /** Closes the pool and session of an origin that left (instance stopped). */
  async forget(origin: string): Promise<void> {
    const pool = this.pools.get(origin);
    this.pools.delete(origin);
    const session = this.sessions.get(origin);
    this.sessions.delete(origin);
    session?.close();
    await pool?.close().catch(() => undefined);
  }

  async close(): Promise<void> {
    const origins = new Set([...this.pools.keys(), ...this.sessions.keys()]);
    await Promise.all([...origins].map((o) => this.forget(o)));
  }
}

export interface ForwardOptions {
  /** Path (with query) to request upstream. */
  path: string;
  /** Extra or replaced request headers (lowercase names). */
  setHeaders?: Record<string, string>;
  /** Time allowed until response headers, and between body chunks. 0 = none. */
  timeoutMs: number;
  /** Names what is upstream in error messages, e.g. 'function default/hello instance hello-abc'. */
  upstreamName: string;
  /** Extra response headers added to the upstream's response (lowercase names), e.g. x-sluice-instance. */
  responseHeaders?: Record<string, string>;
  /**
   * forwardHttp1 only: the request body to stream instead of `req` itself (null = none), e.g. a
   * byte-counting wrapper. undici destroys the body when a forward fails, so a caller that wants to
   * retry must pass a wrapper that leaves `req` intact.
   */
  body?: Readable | null;
}

/** Why a forward failed; `retryable` is true only when nothing reached the upstream. */
export class ForwardError extends SluiceError {
  constructor(
    code: 'UPSTREAM_FAILED' | 'UPSTREAM_TIMEOUT',
    message: string,
    readonly retryable: boolean,
    cause?: unknown,
  ) {
    super(code, message, { cause });
  }
}

const CONNECT_ERROR_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'ENOTFOUND', 'EHOSTUNREACH']);

const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * A failure is retryable only when the request cannot have reached the function: the connection
 * was never made, or (for idempotent requests without a consumed body) it broke before any answer,
 * as when a keep-alive connection closes under a request.
 */
function classify(err: unknown, upstreamName: string, bodyTouched: boolean, method = 'GET'): ForwardError {
  if (err instanceof ForwardError) return err;
  if (err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError) {
    return new ForwardError('UPSTREAM_TIMEOUT', `${upstreamName} did not respond in time`, false, err);
  }
  const code = (err as { code?: string }).code ?? '';
  const connectFailure = code === 'ECONNREFUSED' || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'EHOSTUNREACH';
  const reason = (err as Error).message || code || 'unknown error';
  return new ForwardError(
    'UPSTREAM_FAILED',
    `${upstreamName} failed: ${reason}`,
    !bodyTouched && (connectFailure || (IDEMPOTENT_METHODS.has(method) && CONNECT_ERROR_CODES.has(code) && code !== 'UND_ERR_SOCKET')),
    err,
  );
}

function hasBody(req: IncomingMessage): boolean {
  const len = req.headers['content-length'];
  if (len !== undefined) return len !== '0';
  return req.headers['transfer-encoding'] !== undefined;
}

/**
 * Streams an HTTP/1.1 request to `pool` and the response back to `res`.
 * Resolves with the upstream status once the response is complete.
 * Rejects with ForwardError before any response byte was written (caller answers);
 * after that the client connection is destroyed and the promise rejects too.
 */
export async function forwardHttp1(req: IncomingMessage, res: ServerResponse, pool: Pool, opts: ForwardOptions): Promise<number> {
  const headers = forwardableHeaders(req.headers);
  if (opts.setHeaders) Object.assign(headers, opts.setHeaders);
  const abort = new AbortController();
  const onClose = (): void => {
    if (!res.writableFinished) abort.abort();
  };
  res.once('close', onClose);
  let status = 0;
  const body = opts.body !== undefined ? opts.body : hasBody(req) ? req : null;
  try {
    await pool.stream(
      {
        method: req.method as 'GET',
        path: opts.path,
        headers,
        body,
        signal: abort.signal,
        headersTimeout: opts.timeoutMs,
        bodyTimeout: opts.timeoutMs,
      },
      ({ statusCode, headers: upstreamHeaders }) => {
        status = statusCode;
        const out: Record<string, string | string[]> = {};
        for (const name in upstreamHeaders) {
          const value = upstreamHeaders[name];
          if (value !== undefined && !isHopByHop(name)) out[name] = value;
        }
        if (opts.responseHeaders) Object.assign(out, opts.responseHeaders);
        res.writeHead(statusCode, out);
        return res;
      },
    );
    return status;
  } catch (err) {
    if (res.headersSent) {
      res.destroy();
    }
    throw classify(err, opts.upstreamName, body !== null && body.readableDidRead, req.method);
  } finally {
    res.off('close', onClose);
  }
}

/**
 * Streams an h2c request (gRPC included: trailers are forwarded) to `session`.
 * Same contract as forwardHttp1.
 */
export function forwardHttp2(
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  session: ClientHttp2Session,
  opts: ForwardOptions,
): Promise<number> {
  return new Promise((resolve, reject) => {
    // The client may have left while the caller waited (for capacity, for the connection): nothing to forward.
    if (stream.destroyed || stream.closed) {
      reject(new ForwardError('UPSTREAM_FAILED', `client left before the request reached ${opts.upstreamName}`, false));
      return;
    }
    const method = String(headers[':method'] ?? 'GET');
    const out: Record<string, string | string[]> = forwardableHeaders(headers);
    if (opts.setHeaders) Object.assign(out, opts.setHeaders);
    if (headers.te === 'trailers') out.te = 'trailers';
    out[':method'] = headers[':method'] ?? 'GET';
    out[':path'] = opts.path;
    out[':authority'] = headers[':authority'] ?? headers.host ?? 'localhost';
    out[':scheme'] = 'http';
    let upstream: http2.ClientHttp2Stream;
    try {
      upstream = session.request(out, { endStream: stream.readableEnded });
    } catch (err) {
      reject(classify(err, opts.upstreamName, false, method));
      return;
    }
    let status = 0;
    let trailers: Record<string, string | string[]> | undefined;
    let settled = false;
    const finish = (err?: unknown): void => {
      if (settled) return;
      settled = true;
      if (err === undefined) resolve(status);
      else reject(classify(err, opts.upstreamName, status !== 0, method));
    };
    if (opts.timeoutMs > 0) {
      upstream.setTimeout(opts.timeoutMs, () => {
        const err = new ForwardError('UPSTREAM_TIMEOUT', `${opts.upstreamName} did not respond in time`, false);
        if (status !== 0) stream.close(http2.constants.NGHTTP2_CANCEL);
        upstream.close(http2.constants.NGHTTP2_CANCEL);
        finish(err);
      });
    }
    upstream.on('response', (responseHeaders) => {
      status = Number(responseHeaders[':status'] ?? 502);
      const fwd: Record<string, string | string[]> = forwardableHeaders(responseHeaders);
      if (opts.responseHeaders) Object.assign(fwd, opts.responseHeaders);
      // The caller may have answered already (e.g. 413 while the request body streamed): discard the answer.
      if (stream.destroyed || stream.closed || stream.headersSent) {
        upstream.close(http2.constants.NGHTTP2_CANCEL);
        return;
      }
      stream.respond({ ...fwd, ':status': status }, { waitForTrailers: true });
      upstream.pipe(stream);
    });
    upstream.on('trailers', (t) => {
      trailers = forwardableHeaders(t);
    });
    stream.on('wantTrailers', () => {
      stream.sendTrailers(trailers ?? {});
    });
    upstream.once('end', () => finish());
    upstream.once('error', (err) => {
      if (status !== 0 && !stream.destroyed) stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      finish(err);
    });
    upstream.once('close', () => {
      if (status === 0) finish(new Error(`stream closed with code ${upstream.rstCode}`));
      else finish();
    });
    stream.once('close', () => {
      if (!upstream.closed) upstream.close(http2.constants.NGHTTP2_CANCEL);
    });
    if (!stream.readableEnded) stream.pipe(upstream);
  });
}
