// The queue-proxy's request path for HTTP/1.1 and h2c: count → breaker → wait for first readiness → stream to the function server.
import type { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { performance } from 'node:perf_hooks';
import type { Pool } from 'undici';
import type { ConcurrencyTracker } from '../lib/concurrency-tracker.js';
import { SluiceError, isSluiceError, sendError, sendErrorH2 } from '../lib/errors.js';
import { forwardHttp1, forwardHttp2, type ForwardOptions, type UpstreamPools } from '../lib/http/proxy.js';
import type { Logger } from '../lib/logger.js';
import type { Breaker, BreakerWaiter } from './breaker.js';
import type { QueueProxyMetrics } from './metrics.js';
import type { ReadinessProber } from './readiness-prober.js';
import { XDT_REF_HEADER, type InboundObject } from './xdt/inbound.js';
import type { PmGateConnection, PmTicket } from './pm-gate.js';

/** Set by the activator on requests it forwards; those are counted as proxied in the Stat. */
export const PROXIED_BY_HEADER = 'x-sluice-proxied-by';
export const INSTANCE_HEADER = 'x-sluice-instance';
/** Recorded (metrics only) for requests whose client left before the answer: nginx's convention. */
const CLIENT_CLOSED_STATUS = 499;

/** Thrown inside admission when the client went away; nobody is left to answer. */
const CLIENT_GONE = new Error('client closed the request');

function noop(): void {}

function asSluiceError(err: unknown): SluiceError {
  return isSluiceError(err) ? err : new SluiceError('INTERNAL', (err as Error)?.message ?? String(err), { cause: err });
}

export interface ProxyHandlerOptions {
  namespace: string;
  function: string;
  instance: string;
  /** Origin of the function server, e.g. http://127.0.0.1:8080. */
  origin: string;
  timeoutMs: number;
  breaker: Breaker;
  tracker: ConcurrencyTracker;
  prober: ReadinessProber;
  pools: UpstreamPools;
  metrics: QueueProxyMetrics;
  logger: Logger;
  /** Opens the object of a request that carries an XDT reference and starts pulling it; absent = XDT off. */
  openInbound?: (reference: string) => InboundObject;
  /**
   * PM-write admission by the node agent, after the breaker and before the function; absent = off.
   * A promise: the queue-proxy connects while the function server boots, off the cold-start path.
   */
  pmGate?: PmGateConnection;
}

/**
 * Handler chain, in this order (as Knative's queue-proxy):
 * 1. the concurrency tracker counts the request (queued requests are demand too);
 * 2. the breaker admits it, queues it, or rejects it with QUEUE_FULL;
 * 3. before the function server has ever answered a probe, the request waits for it
 *    (a cold start); afterwards it goes straight through and a dead server fails fast
 *    with UPSTREAM_FAILED, which the activator may retry elsewhere;
 * 4. the request is streamed to the function server with the remaining time budget.
 * The fast path (ready, slot free) allocates no timer, promise race or closure of its own.
 */
export class ProxyHandler {
  /** Set by drain(): /ready fails and HTTP/1.1 responses ask clients to reconnect (elsewhere). */
  draining = false;
  private waiting = 0;
  private onIdle: (() => void) | undefined;
  private readonly pool: Pool;
  private readonly upstreamName: string;
  private readonly responseHeaders: Record<string, string>;

  constructor(private readonly o: ProxyHandlerOptions) {
    this.pool = o.pools.http1(o.origin);
    this.upstreamName = `function ${o.namespace}/${o.function} instance ${o.instance}`;
    this.responseHeaders = { [INSTANCE_HEADER]: o.instance };
  }

  /** Requests admitted and being forwarded (or about to be). */
  get inFlight(): number {
    return this.o.tracker.active - this.waiting;
  }

  /** Requests waiting for a breaker slot or for the function server's first readiness. */
  get queued(): number {
    return this.waiting;
  }

  /** Resolves when no request is queued or in flight. */
  whenIdle(): Promise<void> {
    if (this.o.tracker.active === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const previous = this.onIdle;
      this.onIdle = () => {
        previous?.();
        resolve();
      };
    });
  }

  readonly http1 = (req: IncomingMessage, res: ServerResponse): void => {
    const startedAt = performance.now();
    const proxied = req.headers[PROXIED_BY_HEADER] === 'activator';
    this.o.tracker.start(startedAt, proxied);
    if (this.draining) res.setHeader('connection', 'close');
    let inbound: InboundObject | undefined;
    const reference = req.headers[XDT_REF_HEADER];
    if (reference !== undefined) {
      try {
        // Pull at once: the transfer overlaps queueing and a cold start of the function server.
        inbound = this.openInbound(String(reference));
      } catch (err) {
        this.finish(startedAt, proxied, this.answer1(res, err), false);
        return;
      }
    }
    if (this.o.prober.hasBeenReady && this.o.breaker.tryAcquire()) {
      void this.forward1(req, res, startedAt, proxied, this.o.timeoutMs, inbound);
    } else {
      void this.admitThenForward1(req, res, startedAt, proxied, inbound);
    }
  };

  private openInbound(reference: string): InboundObject {
    if (!this.o.openInbound) throw new SluiceError('XDT_REF_INVALID', `invalid XDT reference: XDT is not enabled on ${this.upstreamName}`);
    return this.o.openInbound(reference);
  }

  readonly http2 = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void => {
    const startedAt = performance.now();
    const proxied = headers[PROXIED_BY_HEADER] === 'activator';
    this.o.tracker.start(startedAt, proxied);
    // A client reset surfaces as 'error'; forwardHttp2 learns of it through 'close'.
    stream.on('error', noop);
    if (this.o.prober.hasBeenReady && this.o.breaker.tryAcquire()) {
      void this.forward2(stream, headers, startedAt, proxied, this.o.timeoutMs);
    } else {
      void this.admitThenForward2(stream, headers, startedAt, proxied);
    }
  };

  private options(path: string, timeoutMs: number): ForwardOptions {
    return { path, timeoutMs, upstreamName: this.upstreamName, responseHeaders: this.responseHeaders };
  }

  /** Waits for the node's PM-write admission (when on) within the budget; resolves with the ticket and the budget left. */
  private async admitPm(budgetMs: number, client: EventEmitter): Promise<{ ticket?: PmTicket; budgetMs: number }> {
    const gate = await this.o.pmGate?.current();
    if (!gate) return { budgetMs };
    const started = performance.now();
    const abort = new AbortController();
    const onClose = (): void => abort.abort();
    client.once('close', onClose);
    try {
      const ticket = await gate.admit(budgetMs, abort.signal);
      return { ticket, budgetMs: Math.max(1, budgetMs - (performance.now() - started)) };
    } finally {
      client.off('close', onClose);
    }
  }

  private async forward1(req: IncomingMessage, res: ServerResponse, startedAt: number, proxied: boolean, budgetMs: number, inbound?: InboundObject): Promise<void> {
    let status: number;
    let ticket: PmTicket | undefined;
    try {
      const admitted = await this.admitPm(budgetMs, res);
      ticket = admitted.ticket;
      const options = this.options(req.url ?? '/', admitted.budgetMs);
      if (inbound) {
        // The function sees the object as the request body, as if it had come inline.
        delete req.headers[XDT_REF_HEADER];
        delete req.headers['content-length'];
        options.setHeaders = await inbound.headers();
        options.body = inbound.body;
      }
      status = await forwardHttp1(req, res, this.pool, options);
    } catch (err) {
      inbound?.cancel();
      status = this.answer1(res, inbound?.error ?? err);
    } finally {
      ticket?.release();
    }
    this.finish(startedAt, proxied, status, true);
  }

  private async forward2(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, startedAt: number, proxied: boolean, budgetMs: number): Promise<void> {
    let status: number;
    let ticket: PmTicket | undefined;
    try {
      const admitted = await this.admitPm(budgetMs, stream);
      ticket = admitted.ticket;
      const session = this.o.pools.http2(this.o.origin);
      status = await forwardHttp2(stream, headers, session, this.options(headers[':path'] ?? '/', admitted.budgetMs));
    } catch (err) {
      status = this.answer2(stream, err);
    } finally {
      ticket?.release();
    }
    this.finish(startedAt, proxied, status, true);
  }

  private async admitThenForward1(req: IncomingMessage, res: ServerResponse, startedAt: number, proxied: boolean, inbound?: InboundObject): Promise<void> {
    let budgetMs: number;
    try {
      budgetMs = await this.admit(startedAt, res);
    } catch (err) {
      inbound?.cancel();
      this.finish(startedAt, proxied, err === CLIENT_GONE ? CLIENT_CLOSED_STATUS : this.answer1(res, err), false);
      return;
    }
    await this.forward1(req, res, startedAt, proxied, budgetMs, inbound);
  }

  private async admitThenForward2(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, startedAt: number, proxied: boolean): Promise<void> {
    let budgetMs: number;
    try {
      budgetMs = await this.admit(startedAt, stream);
    } catch (err) {
      this.finish(startedAt, proxied, err === CLIENT_GONE ? CLIENT_CLOSED_STATUS : this.answer2(stream, err), false);
      return;
    }
    await this.forward2(stream, headers, startedAt, proxied, budgetMs);
  }

  /**
   * The slow path: takes or waits for a breaker slot, then waits for the function
   * server's first readiness, all within the request's timeout and only while the
   * client is still there. Resolves with the remaining budget, holding a slot;
   * rejects (QUEUE_FULL, REQUEST_TIMEOUT, CLIENT_GONE) holding none.
   */
  private async admit(startedAt: number, client: EventEmitter): Promise<number> {
    const waiter: BreakerWaiter | undefined = this.acquireOrThrow();
    if (waiter === undefined && this.o.prober.hasBeenReady) return this.remainingBudget(startedAt);
    this.waiting++;
    let timer: NodeJS.Timeout | undefined;
    let onClose = noop;
    const cancelled = new Promise<never>((_, reject) => {
      const remaining = this.o.timeoutMs - (performance.now() - startedAt);
      const what = waiter ? 'a free concurrency slot' : 'the function server to become ready';
      timer = setTimeout(() => reject(new SluiceError('REQUEST_TIMEOUT', `${this.upstreamName}: timed out after ${this.o.timeoutMs}ms waiting for ${what}`)), Math.max(0, remaining));
      onClose = () => reject(CLIENT_GONE);
      client.once('close', onClose);
    });
    cancelled.catch(noop);
    try {
      if (waiter) await Promise.race([waiter.granted, cancelled]);
      if (!this.o.prober.hasBeenReady) await Promise.race([this.o.prober.whenReady(), cancelled]);
      return this.remainingBudget(startedAt);
    } catch (err) {
      // Without a waiter the slot was taken at once; a cancelled waiter may have been granted meanwhile.
      const holdsSlot = waiter === undefined || !waiter.cancel();
      if (holdsSlot) this.o.breaker.release();
      throw err;
    } finally {
      this.waiting--;
      clearTimeout(timer);
      client.off('close', onClose);
    }
  }

  private acquireOrThrow(): BreakerWaiter | undefined {
    try {
      return this.o.breaker.acquire();
    } catch (err) {
      this.o.metrics.queueFull();
      throw err;
    }
  }

  private remainingBudget(startedAt: number): number {
    return Math.max(1, this.o.timeoutMs - (performance.now() - startedAt));
  }

  /** Answers an HTTP/1.1 request that failed before or during forwarding; returns the status to record. */
  private answer1(res: ServerResponse, err: unknown): number {
    if (res.destroyed && !res.writableFinished) return CLIENT_CLOSED_STATUS;
    const error = asSluiceError(err);
    this.logFailure(error);
    if (!res.headersSent) res.setHeader(INSTANCE_HEADER, this.o.instance);
    sendError(res, error);
    return error.status;
  }

  private answer2(stream: ServerHttp2Stream, err: unknown): number {
    if (stream.destroyed) return CLIENT_CLOSED_STATUS;
    const error = asSluiceError(err);
    this.logFailure(error);
    sendErrorH2(stream, error);
    return error.status;
  }

  private logFailure(error: SluiceError): void {
    // Per-request events stay below info: a dead function server would flood the log.
    if (error.code === 'QUEUE_FULL') return;
    if (this.o.logger.isLevelEnabled('debug')) this.o.logger.debug({ code: error.code, err: error.message }, 'request failed');
  }

  private finish(startedAt: number, proxied: boolean, status: number, holdsSlot: boolean): void {
    const now = performance.now();
    if (holdsSlot) this.o.breaker.release();
    this.o.tracker.end(now, proxied);
    this.o.metrics.observe(status, (now - startedAt) / 1000);
    if (this.onIdle !== undefined && this.o.tracker.active === 0) {
      const onIdle = this.onIdle;
      this.onIdle = undefined;
      onIdle();
    }
  }
}
