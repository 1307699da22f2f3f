// Keeps one ReportStats stream open to the autoscaler (queue-proxies and activators use it), reconnecting with backoff.
import { CLIENT_OPTIONS, grpc, loadAutoscalerProto } from './grpc.js';
import type { Logger } from './logger.js';
import { ReconnectBackoff } from './reconnect-backoff.js';
import type { AutoscalerClient } from '../protos/generated/sluice/autoscaler/v1/Autoscaler.js';
import type { Stat } from '../protos/generated/sluice/autoscaler/v1/Stat.js';
import type { PokeRequest } from '../protos/generated/sluice/autoscaler/v1/PokeRequest.js';

export type { Stat, PokeRequest };

export function createAutoscalerClient(address: string): AutoscalerClient {
  const proto = loadAutoscalerProto();
  return new proto.sluice.autoscaler.v1.Autoscaler(address, grpc.credentials.createInsecure(), CLIENT_OPTIONS);
}

/**
 * Sends Stats on a long-lived client stream. A stat that cannot be sent while the
 * stream is down is dropped: the next period's stat supersedes it, so queueing
 * old stats would only mislead the autoscaler.
 */
/** A stats stream that lasted this long was healthy: the next reconnect starts from the shortest delay. */
const HEALTHY_STREAM_MS = 5_000;

export class StatsReporter {
  private stream: grpc.ClientWritableStream<Stat> | undefined;
  private closed = false;
  private readonly backoff = new ReconnectBackoff();
  readonly client: AutoscalerClient;

  constructor(address: string, private readonly logger: Logger, client?: AutoscalerClient) {
    this.client = client ?? createAutoscalerClient(address);
    this.open();
  }

  private open(): void {
    if (this.closed) return;
    const openedAt = Date.now();
    const stream = this.client.ReportStats((err) => {
      if (this.stream === stream) this.stream = undefined;
      if (this.closed) return;
      // A client stream gets no message back, so "healthy" means it stayed open a while;
      // resetting on every open would retry a dead autoscaler every 100 ms forever.
      if (Date.now() - openedAt >= HEALTHY_STREAM_MS) this.backoff.reset();
      if (err && err.code !== grpc.status.CANCELLED) {
        this.logger.debug({ err: err.message }, 'stats stream ended; reconnecting');
      }
      this.scheduleReconnect();
    });
    stream.on('error', () => undefined); // reported through the callback
    this.stream = stream;
  }

  private scheduleReconnect(): void {
    if (this.closed) return;
    this.backoff.schedule(() => this.open());
  }

  /** Returns false when the stat was dropped (no stream). */
  report(stat: Stat): boolean {
    const stream = this.stream;
    if (!stream || stream.destroyed || stream.writableEnded) return false;
    stream.write(stat);
    return true;
  }

  /** Tells the autoscaler at once that a function at zero got a request. */
  poke(request: PokeRequest): Promise<void> {
    return new Promise((resolve) => {
      this.client.Poke(request, { deadline: Date.now() + 2_000 }, (err) => {
        if (err) this.logger.warn({ err: err.message, function: request.function }, 'poke failed');
        resolve();
      });
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.backoff.cancel();
    const stream = this.stream;
    this.stream = undefined;
    stream?.end();
    this.client.close();
  }
}
