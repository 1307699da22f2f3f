// The autoscaler's runner: per-function state from the platform watches, a decision every tick (and on pokes), actuation and watchers.
import { functionKey } from '../lib/function-spec.js';
import type { Logger } from '../lib/logger.js';
import type { FunctionEndpoints, FunctionEvent, FunctionRecord, Platform, Unsubscribe } from '../lib/platform/types.js';
import { systemClock, type Clock } from './clock.js';
import type { AutoscalerConfig } from './config.js';
import { decide, excessBurstCapacity, initialKpaState, type KpaState } from './kpa.js';
import type { AutoscalerMetrics } from './metrics.js';
import { resolveScalingConfig, type ScalingConfig } from './scaling-config.js';
import { StatCollector, type StatSample } from './stat-collector.js';

/** What watchers learn about a function: the decision and what it was based on. */
export interface ScaleUpdate {
  namespace: string;
  function: string;
  desiredScale: number;
  readyInstances: number;
  excessBurstCapacity: number;
  panicMode: boolean;
  stableConcurrency: number;
  panicConcurrency: number;
  timestampMs: number;
  /** The function was deleted; watchers forget it. */
  deleted: boolean;
}

export type ScaleListener = (update: ScaleUpdate) => void;

/** Pod name under which pokes are recorded: the activator's "requests held right now" signal. */
export const POKE_POD_NAME = '_poke';

interface FunctionState {
  readonly namespace: string;
  readonly name: string;
  readonly key: string;
  config: ScalingConfig;
  kpa: KpaState;
  readyInstances: number;
  /** The platform has reported this function's endpoints at least once. */
  endpointsKnown: boolean;
  /** At least one decision was made (the first one actuates the initial scale). */
  decided: boolean;
  last: ScaleUpdate;
  /** The scale the platform last accepted; undefined before that or after a failure. */
  actuatedScale: number | undefined;
  actuating: boolean;
}

export interface ScalerOptions {
  config: AutoscalerConfig;
  platform: Platform;
  metrics: AutoscalerMetrics;
  logger: Logger;
  collector?: StatCollector;
  clock?: Clock;
}

export class Scaler {
  private readonly functions = new Map<string, FunctionState>();
  /** Ready counts reported before the function itself (two independent watches). */
  private readonly earlyReady = new Map<string, number>();
  private readonly listeners = new Set<ScaleListener>();
  private readonly inflight = new Set<Promise<void>>();
  private readonly unsubscribers: Unsubscribe[] = [];
  private stopTicking: (() => void) | undefined;
  private closed = false;
  readonly collector: StatCollector;
  private readonly clock: Clock;

  constructor(private readonly options: ScalerOptions) {
    this.collector = options.collector ?? new StatCollector();
    this.clock = options.clock ?? systemClock;
  }

  /** Subscribes to the platform and starts ticking. */
  start(): void {
    this.unsubscribers.push(this.options.platform.watchFunctions((event) => this.onFunctionEvent(event)));
    this.unsubscribers.push(this.options.platform.watchEndpoints((update) => this.onEndpoints(update)));
    this.stopTicking = this.clock.every(this.options.config.tickIntervalMs, () => this.tick());
  }

  /** Stops ticking and watching, and waits for scale calls already sent. */
  async close(): Promise<void> {
    this.closed = true;
    this.stopTicking?.();
    for (const unsubscribe of this.unsubscribers.splice(0)) unsubscribe();
    this.listeners.clear();
    await Promise.allSettled([...this.inflight]);
  }

  /** Decides for every function. */
  tick(): void {
    const now = this.clock.now();
    for (const fn of this.functions.values()) this.evaluate(fn, now);
  }

  /** Records a stat received now. Returns false when the function is unknown (the stat is dropped). */
  recordStat(namespace: string, name: string, stat: StatSample): boolean {
    const key = functionKey({ namespace, name });
    if (!this.collector.record(key, stat, this.clock.now())) return false;
    this.options.metrics.statsReceived.inc({ namespace, function: name });
    return true;
  }

  /**
   * The activator holds `concurrency` requests for the function: record that as an activator
   * stat and decide at once, so scale-from-zero starts on the first request, not the next tick.
   */
  poke(namespace: string, name: string, concurrency: number): boolean {
    const fn = this.functions.get(functionKey({ namespace, name }));
    if (!fn) return false;
    const now = this.clock.now();
    // A poke means at least one request is waiting, whatever the activator counted.
    const held = Math.max(1, Number.isFinite(concurrency) ? concurrency : 1);
    this.collector.record(
      fn.key,
      { podName: POKE_POD_NAME, averageConcurrency: held, averageProxiedConcurrency: 0, requestCount: 0, proxiedRequestCount: 0 },
      now,
    );
    this.options.metrics.statsReceived.inc({ namespace, function: name });
    this.evaluate(fn, now);
    return true;
  }

  /** Sends the current state of every function to `listener` now, then every change. */
  subscribe(listener: ScaleListener): Unsubscribe {
    for (const update of this.snapshot()) listener(update);
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  snapshot(): ScaleUpdate[] {
    return [...this.functions.values()].map((fn) => ({ ...fn.last }));
  }

  /** Resolves when every scale call sent so far has settled (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  private onFunctionEvent(event: FunctionEvent): void {
    if (this.closed) return;
    const key = functionKey(event.fn);
    if (event.type === 'deleted') {
      this.forget(key);
      return;
    }
    const existing = this.functions.get(key);
    const config = resolveScalingConfig(event.fn.definition, this.options.config);
    this.collector.track(key, { stableWindowMs: config.stableWindowMs, panicWindowMs: config.panicWindowMs });
    if (existing) {
      // A changed spec (bounds, target, windows) takes effect at once.
      existing.config = config;
      if (existing.decided) this.evaluate(existing, this.clock.now());
      return;
    }
    this.add(event.fn, config);
  }

  private add(record: FunctionRecord, config: ScalingConfig): void {
    const key = functionKey(record);
    const now = this.clock.now();
    const kpa = initialKpaState(now, config);
    const early = this.earlyReady.get(key);
    this.earlyReady.delete(key);
    const readyInstances = early ?? 0;
    const fn: FunctionState = {
      namespace: record.namespace,
      name: record.name,
      key,
      config,
      kpa,
      readyInstances,
      endpointsKnown: early !== undefined,
      decided: false,
      last: {
        namespace: record.namespace,
        function: record.name,
        desiredScale: kpa.desiredScale,
        readyInstances,
        excessBurstCapacity: excessBurstCapacity(readyInstances, 0, config),
        panicMode: false,
        stableConcurrency: 0,
        panicConcurrency: 0,
        timestampMs: now,
        deleted: false,
      },
      actuatedScale: undefined,
      actuating: false,
    };
    this.functions.set(key, fn);
    this.options.logger.info({ function: key, initialScale: config.initialScale }, 'function added');
    // Without its ready count (an autoscaler restart may find instances running) the first decision
    // waits for the endpoints or the next tick, whichever comes first.
    if (fn.endpointsKnown) this.evaluate(fn, now);
    else this.emit(fn.last);
  }

  private forget(key: string): void {
    this.earlyReady.delete(key);
    const fn = this.functions.get(key);
    if (!fn) return;
    this.functions.delete(key);
    this.collector.forget(key);
    this.options.metrics.forget(fn.namespace, fn.name);
    this.options.logger.info({ function: key }, 'function deleted');
    this.emit({ ...fn.last, timestampMs: this.clock.now(), deleted: true });
  }

  private onEndpoints(update: FunctionEndpoints): void {
    if (this.closed) return;
    const key = functionKey({ namespace: update.namespace, name: update.function });
    const fn = this.functions.get(key);
    if (!fn) {
      if (update.deleted) this.earlyReady.delete(key);
      else this.earlyReady.set(key, update.ready.length);
      return;
    }
    const ready = update.deleted ? 0 : update.ready.length;
    const changed = !fn.endpointsKnown || fn.readyInstances !== ready;
    fn.readyInstances = ready;
    fn.endpointsKnown = true;
    // The rates, panic threshold and burst capacity all depend on the ready count: re-decide now.
    if (changed) this.evaluate(fn, this.clock.now());
  }

  private evaluate(fn: FunctionState, now: number): void {
    const observation = this.collector.observe(fn.key, now, fn.readyInstances);
    const decision = decide(
      {
        stableConcurrency: observation.stableConcurrency,
        panicConcurrency: observation.panicConcurrency,
        readyInstances: fn.readyInstances,
        hasData: observation.hasData,
        receivedStats: observation.receivedStats,
      },
      fn.kpa,
      fn.config,
      now,
    );
    fn.kpa = decision.state;
    fn.decided = true;

    const labels = { namespace: fn.namespace, function: fn.name };
    const { metrics } = this.options;
    metrics.decisions.inc(labels);
    metrics.desiredInstances.set(labels, decision.desiredScale);
    metrics.readyInstances.set(labels, fn.readyInstances);
    metrics.panicMode.set(labels, decision.panicMode ? 1 : 0);
    metrics.stableConcurrency.set(labels, observation.stableConcurrency);
    metrics.panicConcurrency.set(labels, observation.panicConcurrency);
    metrics.excessBurstCapacity.set(labels, decision.excessBurstCapacity);

    const previous = fn.last;
    fn.last = {
      namespace: fn.namespace,
      function: fn.name,
      desiredScale: decision.desiredScale,
      readyInstances: fn.readyInstances,
      excessBurstCapacity: decision.excessBurstCapacity,
      panicMode: decision.panicMode,
      stableConcurrency: observation.stableConcurrency,
      panicConcurrency: observation.panicConcurrency,
      timestampMs: now,
      deleted: false,
    };
    if (previous.desiredScale !== decision.desiredScale || previous.panicMode !== decision.panicMode) {
      this.options.logger.info(
        {
          function: fn.key,
          from: previous.desiredScale,
          to: decision.desiredScale,
          ready: fn.readyInstances,
          panic: decision.panicMode,
          stable: round(observation.stableConcurrency),
          panicConcurrency: round(observation.panicConcurrency),
        },
        'scale decision',
      );
    }
    // Watchers care about the decision and the burst capacity, not every wiggle of the averages.
    if (
      previous.desiredScale !== fn.last.desiredScale ||
      previous.readyInstances !== fn.last.readyInstances ||
      previous.panicMode !== fn.last.panicMode ||
      previous.excessBurstCapacity !== fn.last.excessBurstCapacity
    ) {
      this.emit(fn.last);
    }
    this.actuate(fn);
  }

  /** One setScale in flight per function; when it returns, the latest decision is sent if it moved meanwhile. */
  private actuate(fn: FunctionState): void {
    if (this.closed || fn.actuating || fn.actuatedScale === fn.last.desiredScale) return;
    if (this.functions.get(fn.key) !== fn) return;
    const target = fn.last.desiredScale;
    fn.actuating = true;
    const call = this.options.platform
      .setScale(fn.namespace, fn.name, target)
      .then(
        () => {
          fn.actuatedScale = target;
          return true;
        },
        (err: unknown) => {
          // The next decision retries.
          fn.actuatedScale = undefined;
          this.options.logger.warn({ function: fn.key, desiredScale: target, err: (err as Error).message }, 'setScale failed');
          return false;
        },
      )
      .then((ok) => {
        fn.actuating = false;
        if (ok) this.actuate(fn);
      });
    this.inflight.add(call);
    void call.finally(() => this.inflight.delete(call));
  }

  private emit(update: ScaleUpdate): void {
    for (const listener of this.listeners) {
      try {
        listener({ ...update });
      } catch (err) {
        this.options.logger.error({ err: (err as Error).message }, 'scale listener failed');
      }
    }
  }
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
