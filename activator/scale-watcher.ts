// Follows the autoscaler's WatchScale stream (desired scale per function), reconnecting with backoff when it breaks.
import { grpc } from '../lib/grpc.js';
import type { Logger } from '../lib/logger.js';
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

const INITIAL_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 2_000;

export class ScaleWatcher {
  private call: grpc.ClientReadableStream<ScaleUpdate__Output> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private backoffMs = INITIAL_BACKOFF_MS;
  private stopped = false;

  constructor(private readonly options: ScaleWatcherOptions) {}

  start(): void {
    this.open();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
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
        this.backoffMs = INITIAL_BACKOFF_MS;
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
    if (this.timer || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.open();
    }, this.backoffMs);
    this.timer.unref();
    this.backoffMs = Math.min(this.backoffMs * 2, MAX_BACKOFF_MS);
  }
}
