// PM-write admission on the request path: before an invocation goes to the function, the node agent admits it
// (readers at once, writers within the node's limit). Off — no call at all — when the node's PM shows no collapse.
import { randomUUID } from 'node:crypto';
import { SluiceError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { PmClient } from '../lib/pm/client.js';

/** gRPC status codes, spelled out: importing grpc-js here would load it on the queue-proxy's cold-start path. */
const GRPC_CANCELLED = 1;
const GRPC_DEADLINE_EXCEEDED = 4;

export interface PmTicket {
  /** Time the invocation waited for admission. */
  waitedMs: number;
  /** Ends the admission (idempotent); the duration goes to the node's profile. */
  release(): void;
}

export class PmGate {
  private constructor(
    private readonly client: PmClient,
    private readonly namespace: string,
    private readonly fn: string,
    private readonly logger: Logger,
    readonly writerLimit: number,
  ) {}

  /**
   * Asks the node for its writer limit: a gate when it has one, undefined when admission is off (no collapse).
   * Throws when the node agent cannot be reached (the caller retries: see PmGateConnection).
   */
  static async ask(client: PmClient, namespace: string, fn: string, logger: Logger): Promise<PmGate | undefined> {
    const info = await client.info();
    logger.info({ pmMode: info.mode, writerLimit: info.writer_limit || 'unbounded', pmDir: info.dir }, 'PM admission');
    return info.writer_limit > 0 ? new PmGate(client, namespace, fn, logger, info.writer_limit) : undefined;
  }

  /** Waits for admission within `budgetMs`; a deadline passing is REQUEST_TIMEOUT, as any other wait of the request. */
  async admit(budgetMs: number, signal?: AbortSignal): Promise<PmTicket> {
    const id = randomUUID();
    let response;
    try {
      response = await this.client.acquire(this.namespace, this.fn, id, budgetMs, signal);
    } catch (err) {
      const code = (err as { code?: number }).code;
      if (code === GRPC_DEADLINE_EXCEEDED) throw new SluiceError('REQUEST_TIMEOUT', `timed out after waiting for PM-write admission`);
      if (code === GRPC_CANCELLED) throw err;
      // Admission is an optimisation of throughput: an agent that fails must not fail the request.
      this.logger.warn({ err: (err as Error).message }, 'PM admission failed; dispatching without it');
      return { waitedMs: 0, release: () => undefined };
    }
    const admittedAt = performance.now();
    let released = false;
    return {
      waitedMs: response.waited_ms,
      release: () => {
        if (released) return;
        released = true;
        this.client.release(id, performance.now() - admittedAt).catch((err: unknown) => this.logger.debug({ err: (err as Error).message }, 'PM release failed'));
      },
    };
  }

  close(): void {
    this.client.close();
  }
}

/**
 * The queue-proxy's link to its node's admission. The node agent may start after the queue-proxy (a DaemonSet pod
 * scheduled late, an agent restarting), so an unreachable agent is asked again with backoff (1 s doubling to 30 s)
 * until it answers; until then requests go without admission, as they would with admission off.
 */
export class PmGateConnection {
  private gate: PmGate | undefined;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  private delayMs: number;
  private client: PmClient | undefined;
  /** The first attempt: the first requests wait for it (it overlaps the function server's boot). */
  private readonly first: Promise<void>;

  constructor(
    private readonly address: string,
    private readonly namespace: string,
    private readonly fn: string,
    private readonly logger: Logger,
    private readonly retry = { initialMs: 1_000, maxMs: 30_000 },
  ) {
    this.delayMs = retry.initialMs;
    this.first = this.attempt(true);
  }

  /** The gate when the node admits writers; undefined while the agent is unreachable or admission is off. */
  async current(): Promise<PmGate | undefined> {
    await this.first;
    return this.gate;
  }

  private async attempt(first: boolean): Promise<void> {
    if (this.closed) return;
    const { PmClient } = await import('../lib/pm/client.js');
    const client = new PmClient(this.address);
    this.client = client;
    try {
      this.gate = await PmGate.ask(client, this.namespace, this.fn, this.logger);
      if (!this.gate) client.close();
      if (!first) this.logger.info({ address: this.address }, 'node agent PM service reached');
    } catch (err) {
      client.close();
      if (first) this.logger.warn({ address: this.address, err: (err as Error).message, retryInMs: this.delayMs }, 'node agent PM service unreachable; no PM admission until it answers');
      if (this.closed) return;
      this.timer = setTimeout(() => void this.attempt(false), this.delayMs);
      this.timer.unref();
      this.delayMs = Math.min(this.delayMs * 2, this.retry.maxMs);
    }
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.gate?.close();
    this.client?.close();
  }
}
