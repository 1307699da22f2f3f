// The activator's request path: route, admit through the function's throttler, forward to an instance, retry on refused connections.
import { randomUUID } from 'node:crypto';
import http2, { type ClientHttp2Session, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isSluiceError, sendError, sendErrorH2, SluiceError } from '../lib/errors.js';
import { headerValue } from '../lib/http/headers.js';
import { ForwardError, forwardHttp1, forwardHttp2, type UpstreamPools } from '../lib/http/proxy.js';
import type { Logger } from '../lib/logger.js';
import type { StatsReporter } from '../lib/stats-reporter.js';
import type { ReferenceCodec } from '../lib/xdt/reference.js';
import type { FunctionEntry, FunctionTable } from './function-table.js';
import { localityOutcome, producerNode, XDT_REF_HEADER, type LocalityOutcome } from './locality.js';
import { shouldPoke } from './poke-policy.js';
import { MeteredBody } from './metered-body.js';
import { codeClass, type ActivatorMetrics } from './metrics.js';
import { describeUnroutable, routeRequest, type Route } from './router.js';
import type { TrackedEndpoint } from './throttler.js';

/** Knative's activator retries a request on another instance a few times when nothing reached the first. */
export const MAX_ATTEMPTS = 3;
/** http2.connect has no connect timeout of its own; match the HTTP/1.1 pools. */
const H2_CONNECT_TIMEOUT_MS = 2_000;

export interface RequestHandlerOptions {
  domain: string;
  maxBodyBytes: number;
  table: FunctionTable;
  pools: UpstreamPools;
  metrics: ActivatorMetrics;
  statsReporter: StatsReporter | undefined;
  logger: Logger;
  /** Monotonic clock in ms. */
  now: () => number;
  isDraining: () => boolean;
  /** Opens XDT references for locality-aware routing; undefined = off (no cluster key). */
  xdtCodec?: ReferenceCodec;
}

/** Locality of one request that carries an XDT reference: the node to prefer, if the reference told one. */
interface Locality {
  preferredNode: string | undefined;
}

/** The client left before it got an answer; nothing is sent. */
class ClientGoneError extends Error {
  constructor() {
    super('client disconnected');
    this.name = 'ClientGoneError';
  }
}

/** Tracks whether the client is still there; the AbortController exists only for requests that wait. */
class ClientPresence {
  gone = false;
  private controller: AbortController | undefined;

  markGone(): void {
    this.gone = true;
    this.controller?.abort(new ClientGoneError());
  }

  signal(): AbortSignal {
    this.controller ??= new AbortController();
    if (this.gone) this.controller.abort(new ClientGoneError());
    return this.controller.signal;
  }
}

function forwardedFor(existing: string | string[] | undefined, remoteAddress: string | undefined): string {
  const prior = Array.isArray(existing) ? existing.join(', ') : existing;
  if (!remoteAddress) return prior ?? '';
  return prior ? `${prior}, ${remoteAddress}` : remoteAddress;
}

function proxyHeaders(headers: IncomingHttpHeaders, host: string | undefined, remoteAddress: string | undefined): Record<string, string> {
  return {
    'x-request-id': headerValue(headers['x-request-id']) ?? randomUUID(),
    'x-forwarded-for': forwardedFor(headers['x-forwarded-for'], remoteAddress),
    'x-forwarded-host': headerValue(headers['x-forwarded-host']) ?? host ?? '',
    'x-sluice-proxied-by': 'activator',
  };
}

function tooLarge(entry: FunctionEntry, limitBytes: number, declared?: number): SluiceError {
  const size = declared === undefined ? '' : ` (${declared} bytes declared)`;
  return new SluiceError('BODY_TOO_LARGE', `request body for function ${entry.key} exceeds the limit of ${limitBytes} bytes${size}`);
}

function asSluiceError(err: unknown, entry: FunctionEntry): SluiceError {
  if (isSluiceError(err)) return err;
  return new SluiceError('INTERNAL', `function ${entry.key}: ${(err as Error).message ?? String(err)}`, { cause: err });
}

/** Resolves once the h2c session to `origin` is connected; a failure here means nothing reached the instance. */
function connectedSession(pools: UpstreamPools, origin: string, upstreamName: string): ClientHttp2Session | Promise<ClientHttp2Session> {
  const session = pools.http2(origin);
  if (!session.connecting) return session;
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      clearTimeout(timer);
      session.off('connect', onConnect);
      session.off('error', onError);
      session.off('close', onClose);
    };
    const onConnect = (): void => {
      cleanup();
      resolve(session);
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(new ForwardError('UPSTREAM_FAILED', `${upstreamName} failed: ${err.message}`, true, err));
    };
    const onClose = (): void => onError(new Error('connection closed before it was established'));
    const timer = setTimeout(() => {
      session.destroy();
      onError(new Error(`connect timed out after ${H2_CONNECT_TIMEOUT_MS} ms`));
    }, H2_CONNECT_TIMEOUT_MS);
    session.once('connect', onConnect);
    session.once('error', onError);
    session.once('close', onClose);
  });
}

export class RequestHandler {
  /** Requests being handled right now (a drain waits for 0). */
  active = 0;
  private readonly unknownFunctionRequests;

  constructor(private readonly options: RequestHandlerOptions) {
    // Unknown names must not become label values: they are unbounded.
    this.unknownFunctionRequests = options.metrics.requests.labels({ namespace: '', function: '', code_class: '4xx' });
  }

  readonly handleHttp1 = (req: IncomingMessage, res: ServerResponse): void => {
    const path = req.url ?? '/';
    const host = req.headers.host;
    const found = this.lookup(host, path);
    if (isSluiceError(found)) {
      sendError(res, found);
      return;
    }
    const { route, entry } = found;
    if (this.options.isDraining()) res.setHeader('connection', 'close');
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > this.options.maxBodyBytes) {
      // Close rather than read a body we refuse.
      res.setHeader('connection', 'close');
      this.count(entry, 413, this.options.now());
      sendError(res, tooLarge(entry, this.options.maxBodyBytes, Number(declared)));
      return;
    }
    void this.proxyHttp1(req, res, route, entry);
  };

  readonly handleHttp2 = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void => {
    stream.on('error', () => undefined); // a reset by the client surfaces as 'close'
    const path = headers[':path'] ?? '/';
    const host = headers[':authority'] ?? headers.host;
    const found = this.lookup(host, path);
    if (isSluiceError(found)) {
      sendErrorH2(stream, found);
      return;
    }
    const { route, entry } = found;
    const declared = headers['content-length'];
    if (declared !== undefined && Number(declared) > this.options.maxBodyBytes) {
      this.count(entry, 413, this.options.now());
      sendErrorH2(stream, tooLarge(entry, this.options.maxBodyBytes, Number(declared)));
      // RST_STREAM(NO_ERROR) after the answer tells the client to stop sending the body.
      stream.close(http2.constants.NGHTTP2_NO_ERROR);
      return;
    }
    void this.proxyHttp2(stream, headers, host, route, entry);
  };

  private lookup(host: string | undefined, path: string): { route: Route; entry: FunctionEntry } | SluiceError {
    const { domain, table } = this.options;
    const route = routeRequest(host, path, domain);
    const entry = route ? table.get(route.namespace, route.name) : undefined;
    if (route && entry) return { route, entry };
    this.unknownFunctionRequests.inc();
    return new SluiceError(
      'FUNCTION_NOT_FOUND',
      route ? `function ${route.namespace}/${route.name} not found` : describeUnroutable(host, path, domain),
    );
  }

  private async proxyHttp1(req: IncomingMessage, res: ServerResponse, route: Route, entry: FunctionEntry): Promise<void> {
    const start = this.begin(entry);
    const presence = new ClientPresence();
    res.once('close', () => {
      if (!res.writableFinished) presence.markGone();
    });
    const setHeaders = proxyHeaders(req.headers, req.headers.host, req.socket.remoteAddress);
    const declared = req.headers['content-length'];
    const hasBody = declared !== undefined ? declared !== '0' : req.headers['transfer-encoding'] !== undefined;
    let body: MeteredBody | null = null;
    let status = 0;
    // Only HTTP/1.1 carries objects by reference (an h2c request's reference is passed on untouched).
    const locality = this.locality(headerValue(req.headers[XDT_REF_HEADER]), entry);
    try {
      status = await this.withRetries(
        entry,
        presence,
        (endpoint) => {
          body = hasBody ? new MeteredBody(req, this.options.maxBodyBytes, entry.key) : null;
          return forwardHttp1(req, res, this.options.pools.http1(endpoint.origin), {
            path: route.path,
            setHeaders,
            timeoutMs: entry.timeoutMs,
            upstreamName: `function ${entry.key} instance ${endpoint.endpoint.instanceName}`,
            body,
          });
        },
        () => body === null || !body.pulled,
        locality,
      );
    } catch (err) {
      status = this.answerHttp1(req, res, err, entry, body, presence);
    } finally {
      this.end(entry, start, status);
    }
  }

  private answerHttp1(
    req: IncomingMessage,
    res: ServerResponse,
    err: unknown,
    entry: FunctionEntry,
    body: MeteredBody | null,
    presence: ClientPresence,
  ): number {
    // A client that left is nobody's failure: no answer, no warning, counted as aborted.
    if (err instanceof ClientGoneError || presence.gone) return 0;
    let error = asSluiceError(err, entry);
    if (body?.tooLarge) {
      error = tooLarge(entry, this.options.maxBodyBytes);
      // The rest of the body is unread: close instead of draining it.
      if (!res.headersSent) res.setHeader('connection', 'close');
    } else if (error.status >= 500) {
      this.options.logger.warn({ function: entry.key, code: error.code, err: error.message, requestId: req.headers['x-request-id'] }, 'request failed');
    }
    if (res.headersSent) {
      res.destroy();
      return res.statusCode;
    }
    if (error.code === 'QUEUE_FULL') this.options.metrics.queueFull.inc({ namespace: entry.namespace, function: entry.name });
    sendError(res, error);
    return error.status;
  }

  private async proxyHttp2(
    stream: ServerHttp2Stream,
    headers: IncomingHttpHeaders,
    host: string | undefined,
    route: Route,
    entry: FunctionEntry,
  ): Promise<void> {
    const start = this.begin(entry);
    const presence = new ClientPresence();
    stream.once('close', () => {
      if (!stream.writableFinished) presence.markGone();
    });
    const setHeaders = proxyHeaders(headers, host, stream.session?.socket?.remoteAddress);
    const limit = this.options.maxBodyBytes;
    let received = 0;
    let bodyTooLarge = false;
    const countBody = (chunk: Buffer): void => {
      received += chunk.length;
      if (received <= limit || bodyTooLarge) return;
      bodyTooLarge = true;
      if (stream.headersSent) {
        stream.close(http2.constants.NGHTTP2_CANCEL);
        return;
      }
      sendErrorH2(stream, tooLarge(entry, limit));
      stream.close(http2.constants.NGHTTP2_NO_ERROR);
    };
    let status = 0;
    try {
      status = await this.withRetries(
        entry,
        presence,
        async (endpoint) => {
          const upstreamName = `function ${entry.key} instance ${endpoint.endpoint.instanceName}`;
          const session = await connectedSession(this.options.pools, endpoint.origin, upstreamName);
          const forwarded = forwardHttp2(stream, headers, session, { path: route.path, setHeaders, timeoutMs: entry.timeoutMs, upstreamName });
          // forwardHttp2 piped the body synchronously; a second 'data' listener sees the same chunks.
          stream.on('data', countBody);
          try {
            return await forwarded;
          } catch (err) {
            stream.off('data', countBody);
            stream.pause();
            // Left by the failed attempt; the next one registers its own.
            if (!stream.headersSent) stream.removeAllListeners('wantTrailers');
            throw err;
          }
        },
        () => received === 0 && !stream.headersSent,
      );
      if (bodyTooLarge) status = 413;
    } catch (err) {
      status = bodyTooLarge ? 413 : this.answerHttp2(stream, err, entry, presence);
    } finally {
      this.end(entry, start, status);
    }
  }

  private answerHttp2(stream: ServerHttp2Stream, err: unknown, entry: FunctionEntry, presence: ClientPresence): number {
    if (err instanceof ClientGoneError || presence.gone) return 0;
    const error = asSluiceError(err, entry);
    if (error.status >= 500) this.options.logger.warn({ function: entry.key, code: error.code, err: error.message }, 'request failed');
    if (stream.headersSent) {
      stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      return 0;
    }
    if (error.code === 'QUEUE_FULL') this.options.metrics.queueFull.inc({ namespace: entry.namespace, function: entry.name });
    sendErrorH2(stream, error);
    return error.status;
  }

  /**
   * Admits the request (now, or after waiting in the function's queue), runs one forward attempt,
   * and on a retryable failure drops that instance and tries another, up to MAX_ATTEMPTS.
   */
  private async withRetries(
    entry: FunctionEntry,
    presence: ClientPresence,
    attemptOn: (endpoint: TrackedEndpoint) => Promise<number>,
    replayable: () => boolean,
    locality?: Locality,
  ): Promise<number> {
    const { throttler } = entry;
    const preferredNode = locality?.preferredNode;
    for (let attempt = 1; ; attempt++) {
      const endpoint =
        throttler.tryAcquire(preferredNode) ?? (await throttler.wait({ signal: presence.signal(), front: attempt > 1, preferredNode }));
      try {
        if (locality) this.countLocality(entry, localityOutcome(preferredNode, endpoint.node));
        if (presence.gone) throw new ClientGoneError();
        return await attemptOn(endpoint);
      } catch (err) {
        if (!(err instanceof ForwardError) || !err.retryable) throw err;
        throttler.drop(endpoint);
        this.options.logger.info(
          { function: entry.key, instance: endpoint.endpoint.instanceName, attempt, err: err.message },
          'instance unreachable; dropped it locally',
        );
        if (attempt >= MAX_ATTEMPTS || !replayable() || presence.gone) throw err;
      } finally {
        throttler.release(endpoint);
      }
    }
  }

  /** Undefined for a request without an XDT reference; else the producer's node when the reference can be read. */
  private locality(reference: string | undefined, entry: FunctionEntry): Locality | undefined {
    if (reference === undefined) return undefined;
    const { xdtCodec } = this.options;
    // Wall-clock ms, as the queue-proxy that minted the reference wrote its expiry.
    return { preferredNode: xdtCodec ? producerNode(xdtCodec, reference, entry.namespace, Date.now()) : undefined };
  }

  private countLocality(entry: FunctionEntry, outcome: LocalityOutcome): void {
    this.options.metrics.localityDecisions.inc({ namespace: entry.namespace, function: entry.name, outcome });
  }

  /** Counts the request into the function's load and pokes the autoscaler if the function is at zero. */
  private begin(entry: FunctionEntry): number {
    const now = this.options.now();
    this.active++;
    entry.load.start(now);
    const reporter = this.options.statsReporter;
    if (reporter && shouldPoke(entry.throttler.readyCount, entry.lastPokeMs, now)) {
      entry.lastPokeMs = now;
      this.options.metrics.pokes.inc({ namespace: entry.namespace, function: entry.name });
      void reporter.poke({ namespace: entry.namespace, function: entry.name, concurrency: entry.load.active });
    }
    return now;
  }

  private end(entry: FunctionEntry, start: number, status: number): void {
    const now = this.options.now();
    this.active--;
    entry.load.end(now);
    entry.requestCounters[codeClass(status)].inc();
    entry.requestDuration.observe((now - start) / 1000);
  }

  private count(entry: FunctionEntry, status: number, start: number): void {
    entry.requestCounters[codeClass(status)].inc();
    entry.requestDuration.observe((this.options.now() - start) / 1000);
  }
}
