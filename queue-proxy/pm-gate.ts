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

  /** Asks the node once; undefined (admission off) when the node has no writer limit or cannot be reached. */
  static async connect(address: string, namespace: string, fn: string, logger: Logger): Promise<PmGate | undefined> {
    const { PmClient } = await import('../lib/pm/client.js');
    const client = new PmClient(address);
    try {
      const info = await client.info();
      logger.info({ pmMode: info.mode, writerLimit: info.writer_limit || 'unbounded', pmDir: info.dir }, 'PM admission');
      if (info.writer_limit > 0) return new PmGate(client, namespace, fn, logger, info.writer_limit);
    } catch (err) {
      logger.warn({ address, err: (err as Error).message }, 'node agent PM service unreachable; PM admission off');
    }
    client.close();
    return undefined;
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
