// The functions the activator serves: one throttler, load tracker and set of metric children per function, fed by platform watches.
import type { Counter, Histogram } from 'prom-client';
import { ConcurrencyTracker } from '../lib/concurrency-tracker.js';
import { SluiceError } from '../lib/errors.js';
import { FUNCTION_DEFAULTS, type FunctionDefinition } from '../lib/function-spec.js';
import type { Endpoint, FunctionEndpoints, FunctionEvent } from '../lib/platform/types.js';
import type { RandomSource } from './lb-policy.js';
import type { ActivatorMetrics, CodeClass, LoadSource } from './metrics.js';
import { Throttler } from './throttler.js';

export interface FunctionEntry {
  readonly namespace: string;
  readonly name: string;
  /** "namespace/name". */
  readonly key: string;
  readonly throttler: Throttler;
  /** Requests held for the function (queued + in flight), for its Stats. */
  readonly load: ConcurrencyTracker;
  /** The function's timeoutSeconds in ms: the budget for the instance to answer. */
  timeoutMs: number;
  /** Monotonic ms of the last scale-from-zero poke. */
  lastPokeMs: number | undefined;
  /** Metric children looked up once per function rather than once per request. */
  readonly requestCounters: Record<CodeClass, Counter.Internal>;
  readonly requestDuration: Histogram.Internal<'namespace' | 'function'>;
}

export interface FunctionTableOptions {
  queueDepth: number;
  /** Overrides the function timeout as the queueing deadline when set. */
  queueTimeoutMs: number | undefined;
  retryAfterSeconds: number;
  metrics: ActivatorMetrics;
  /** Monotonic clock in ms. */
  now: () => number;
  random?: RandomSource;
  /** An instance origin stopped taking requests: close its connections. */
  onEndpointRemoved: (origin: string) => void;
}

function functionSettings(definition: FunctionDefinition): { containerConcurrency: number; timeoutMs: number } {
  return {
    containerConcurrency: definition.spec.containerConcurrency ?? FUNCTION_DEFAULTS.containerConcurrency,
    timeoutMs: (definition.spec.timeoutSeconds ?? FUNCTION_DEFAULTS.timeoutSeconds) * 1000,
  };
}

export class FunctionTable implements LoadSource {
  /** namespace → name → entry: two lookups, no key string built per request. */
  private readonly byNamespace = new Map<string, Map<string, FunctionEntry>>();
  /** Endpoints that arrived before their function (the two watches are independent). */
  private readonly pendingEndpoints = new Map<string, readonly Endpoint[]>();

  constructor(private readonly options: FunctionTableOptions) {}

  get(namespace: string, name: string): FunctionEntry | undefined {
    return this.byNamespace.get(namespace)?.get(name);
  }

  *entries(): IterableIterator<FunctionEntry> {
    for (const names of this.byNamespace.values()) yield* names.values();
  }

  forEachFunction(visit: (namespace: string, name: string, queued: number, inFlight: number) => void): void {
    for (const entry of this.entries()) visit(entry.namespace, entry.name, entry.throttler.queued, entry.throttler.inFlight);
  }

  applyFunctionEvent(event: FunctionEvent): void {
    const { namespace, name } = event.fn;
    if (event.type === 'deleted') {
      this.remove(namespace, name);
      return;
    }
    const settings = functionSettings(event.fn.definition);
    const queueTimeoutMs = this.options.queueTimeoutMs ?? settings.timeoutMs;
    const existing = this.get(namespace, name);
    if (existing) {
      existing.timeoutMs = settings.timeoutMs;
      existing.throttler.configure({ containerConcurrency: settings.containerConcurrency, queueTimeoutMs });
      return;
    }
    const key = `${namespace}/${name}`;
    const { metrics } = this.options;
    const labels = { namespace, function: name };
    const counter = (code_class: CodeClass): Counter.Internal => metrics.requests.labels({ ...labels, code_class });
    const entry: FunctionEntry = {
      namespace,
      name,
      key,
      throttler: new Throttler({
        functionName: key,
        containerConcurrency: settings.containerConcurrency,
        queueDepth: this.options.queueDepth,
        queueTimeoutMs,
        retryAfterSeconds: this.options.retryAfterSeconds,
        random: this.options.random,
        onEndpointRemoved: this.options.onEndpointRemoved,
      }),
      load: new ConcurrencyTracker(this.options.now()),
      timeoutMs: settings.timeoutMs,
      lastPokeMs: undefined,
      requestCounters: {
        '1xx': counter('1xx'),
        '2xx': counter('2xx'),
        '3xx': counter('3xx'),
        '4xx': counter('4xx'),
        '5xx': counter('5xx'),
        aborted: counter('aborted'),
      },
      requestDuration: metrics.requestDuration.labels(labels),
    };
    let names = this.byNamespace.get(namespace);
    if (!names) {
      names = new Map();
      this.byNamespace.set(namespace, names);
    }
    names.set(name, entry);
    const pending = this.pendingEndpoints.get(key);
    if (pending) {
      this.pendingEndpoints.delete(key);
      entry.throttler.setEndpoints(pending);
    }
  }

  applyEndpoints(update: FunctionEndpoints): void {
    const entry = this.get(update.namespace, update.function);
    const ready = update.deleted ? [] : update.ready;
    if (entry) {
      entry.throttler.setEndpoints(ready);
      // Back at zero later: the next request pokes at once.
      if (ready.length > 0) entry.lastPokeMs = undefined;
      return;
    }
    const key = `${update.namespace}/${update.function}`;
    if (ready.length === 0) this.pendingEndpoints.delete(key);
    else this.pendingEndpoints.set(key, ready);
  }

  /** Rejects every waiting request (activator closing). */
  close(err: SluiceError): void {
    for (const entry of this.entries()) entry.throttler.close(err);
  }

  private remove(namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    this.pendingEndpoints.delete(key);
    const names = this.byNamespace.get(namespace);
    const entry = names?.get(name);
    if (!names || !entry) return;
    names.delete(name);
    if (names.size === 0) this.byNamespace.delete(namespace);
    entry.throttler.close(new SluiceError('FUNCTION_NOT_FOUND', `function ${key} was deleted`));
    entry.throttler.setEndpoints([]);
    this.options.metrics.forget(namespace, name);
  }
}
