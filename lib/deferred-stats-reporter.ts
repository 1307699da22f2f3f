// A stats sink that loads gRPC only once its owner is serving, keeping ~100 ms of module loading off the cold-start path.
import type { Logger } from './logger.js';
import type { Stat, StatsReporter } from './stats-reporter.js';

/**
 * Behaves like StatsReporter but imports it (and @grpc/grpc-js, proto-loader and the
 * .proto files) `delayAfterMs` after `loadAfter` settles, or after `maxDelayMs`, whichever
 * is first, or at once on `loadNow()`. The delay keeps the import (which occupies the event
 * loop for ~100 ms) away from the first requests that a cold start was waiting for.
 * Until it is `loaded`, callers should keep accumulating their period instead of reporting.
 */
export class DeferredStatsReporter {
  private reporter: StatsReporter | undefined;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  private loadAt = Infinity;
  private loading: Promise<void> | undefined;
  private readonly settled: Promise<void>;
  private settle!: () => void;

  constructor(
    private readonly address: string,
    private readonly logger: Logger,
    loadAfter: Promise<unknown>,
    delayAfterMs = 1_000,
    maxDelayMs = 5_000,
  ) {
    this.settled = new Promise((resolve) => (this.settle = resolve));
    this.schedule(maxDelayMs);
    void loadAfter.then(
      () => this.schedule(delayAfterMs),
      () => this.schedule(delayAfterMs),
    );
  }

  /** Loads at `now + ms`, unless an earlier load is already scheduled (maxDelayMs stays a maximum). */
  private schedule(ms: number): void {
    if (this.loading) return;
    const at = Date.now() + ms;
    if (this.timer && this.loadAt <= at) return;
    clearTimeout(this.timer);
    this.loadAt = at;
    this.timer = setTimeout(() => void this.loadNow(), ms);
    this.timer.unref();
  }

  /** Loads the reporter now (e.g. to flush a final stat while draining). */
  loadNow(): Promise<void> {
    clearTimeout(this.timer);
    this.loading ??= import('./stats-reporter.js')
      .then((m) => {
        if (!this.closed) this.reporter = new m.StatsReporter(this.address, this.logger);
      })
      .catch((err: unknown) => this.logger.error({ err }, 'could not load the stats reporter'))
      .finally(() => this.settle());
    return this.loading;
  }

  /** Resolves once the underlying reporter exists (or loading failed or was abandoned). */
  ready(): Promise<void> {
    return this.settled;
  }

  get loaded(): boolean {
    return this.reporter !== undefined;
  }

  report(stat: Stat): boolean {
    return this.reporter?.report(stat) ?? false;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.settle();
    await this.reporter?.close();
  }
}
