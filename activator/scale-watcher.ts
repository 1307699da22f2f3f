// Follows the autoscaler's WatchScale stream (desired scale per function), reconnecting with backoff when it breaks.
import { grpc } from '../lib/grpc.js';
import type { Logger } from '../lib/logger.js';
import { ReconnectBackoff } from '../lib/reconnect-backoff.js';
import type { AutoscalerClient } from '../protos/generated/sluice/autoscaler/v1/Autoscaler.js';
import type { ScaleUpdate__Output } from '../protos/generated/sluice/autoscaler/v1/ScaleUpdate.js';

export type { ScaleUpdate__Output as ScaleUpdate };

export interface ScaleWatcherOptions {
  client: AutoscalerClient;
  /** Sent as WatchScaleRequest.watcher (the activator id). */
  watcher: string;
  logger: Logger;
  /** Called when a (re)connected stream starts: the autoscaler resends every function's state. */
  onReset: () => void;
  onUpdate: (update: ScaleUpdate__Output) => void;
}

export class ScaleWatcher {
  private call: grpc.ClientReadableStream<ScaleUpdate__Output> | undefined;
  private readonly backoff = new ReconnectBackoff(100, 2_000);
  private stopped = false;

  constructor(private readonly options: ScaleWatcherOptions) {}

  start(): void {
    this.open();
  }

  stop(): void {
    this.stopped = true;
    this.backoff.cancel();
    const call = this.call;
    this.call = undefined;
    call?.cancel();
  }

  private open(): void {
    if (this.stopped) return;
    const call = this.options.client.WatchScale({ watcher: this.options.watcher });
    this.call = call;
    let reset = false;
    call.on('data', (update: ScaleUpdate__Output) => {
      if (!reset) {
        reset = true;
        this.backoff.reset();
        this.options.onReset();
      }
      this.options.onUpdate(update);
    });
    const ended = (err?: grpc.ServiceError): void => {
      if (this.call !== call) return;
      this.call = undefined;
      if (this.stopped) return;
      if (err && err.code !== grpc.status.CANCELLED) this.options.logger.debug({ err: err.message }, 'scale watch broke; reconnecting');
      this.scheduleReconnect();
    };
    call.on('error', ended);
    call.on('end', () => ended());
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    this.backoff.schedule(() => this.open());
  }
}
