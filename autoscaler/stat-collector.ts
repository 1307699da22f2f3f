// Per-function concurrency and request-rate windows fed by queue-proxy and activator stats (Knative's metric collector).
import { MetricWindow } from './metric-window.js';

const BUCKET_MS = 1_000;

/** One reporting period of one pod (queue-proxy) or activator, as received. */
export interface StatSample {
  /** Instance name for queue-proxies, activator id for activators. */
  podName: string;
  averageConcurrency: number;
  /** The part of averageConcurrency that came through an activator (which reports it itself). */
  averageProxiedConcurrency: number;
  requestCount: number;
  proxiedRequestCount: number;
}

export interface Observation {
  stableConcurrency: number;
  panicConcurrency: number;
  stableRequestsPerSecond: number;
  panicRequestsPerSecond: number;
  /** False when nothing was recorded in the panic window and no instance is ready: nothing to decide on. */
  hasData: boolean;
  /** True once any stat was recorded since the function was tracked. */
  receivedStats: boolean;
}

export interface WindowSpec {
  stableWindowMs: number;
  panicWindowMs: number;
}

/** What a pod last contributed, so a second stat in the same second replaces the first instead of adding to it. */
interface PodContribution {
  bucket: number;
  concurrency: number;
  requests: number;
}

interface Collection {
  spec: WindowSpec;
  concurrency: MetricWindow;
  requests: MetricWindow;
  pods: Map<string, PodContribution>;
  receivedStats: boolean;
}

/**
 * Keeps, per tracked function, per-second sums over all pods of (concurrency − proxied
 * concurrency) and (requests − proxied requests): queue-proxies subtract what reached them
 * through an activator because the activator reports that share itself.
 * Stats for functions that are not tracked are dropped, so memory follows the function list.
 */
export class StatCollector {
  private readonly collections = new Map<string, Collection>();

  /** Starts collecting for `key`, or adapts the windows when its scaling config changed. */
  track(key: string, spec: WindowSpec): void {
    const existing = this.collections.get(key);
    if (existing) {
      existing.spec = spec;
      existing.concurrency.resize(spec.stableWindowMs);
      existing.requests.resize(spec.stableWindowMs);
      return;
    }
    this.collections.set(key, {
      spec,
      concurrency: new MetricWindow(spec.stableWindowMs, BUCKET_MS),
      requests: new MetricWindow(spec.stableWindowMs, BUCKET_MS),
      pods: new Map(),
      receivedStats: false,
    });
  }

  forget(key: string): void {
    this.collections.delete(key);
  }

  isTracked(key: string): boolean {
    return this.collections.has(key);
  }

  /** Records a stat received at `nowMs`. Returns false (and drops it) when `key` is not tracked. */
  record(key: string, stat: StatSample, nowMs: number): boolean {
    const collection = this.collections.get(key);
    if (!collection) return false;
    const concurrency = Math.max(0, stat.averageConcurrency - stat.averageProxiedConcurrency);
    const requests = Math.max(0, stat.requestCount - stat.proxiedRequestCount);
    const bucket = Math.floor(nowMs / BUCKET_MS);
    const previous = collection.pods.get(stat.podName);
    if (previous && previous.bucket === bucket) {
      // Latest stat per pod per second wins: replace this pod's share of the bucket.
      collection.concurrency.record(nowMs, concurrency - previous.concurrency);
      collection.requests.record(nowMs, requests - previous.requests);
      previous.concurrency = concurrency;
      previous.requests = requests;
    } else {
      collection.concurrency.record(nowMs, concurrency);
      collection.requests.record(nowMs, requests);
      if (previous) {
        previous.bucket = bucket;
        previous.concurrency = concurrency;
        previous.requests = requests;
      } else {
        collection.pods.set(stat.podName, { bucket, concurrency, requests });
      }
    }
    collection.receivedStats = true;
    return true;
  }

  /**
   * Stable and panic averages at `nowMs`. Also forgets pods that stopped reporting: their
   * past seconds stay in the window (they did serve that load), only the bookkeeping goes.
   */
  observe(key: string, nowMs: number, readyInstances: number): Observation {
    const collection = this.collections.get(key);
    if (!collection) {
      return { stableConcurrency: 0, panicConcurrency: 0, stableRequestsPerSecond: 0, panicRequestsPerSecond: 0, hasData: false, receivedStats: false };
    }
    const bucket = Math.floor(nowMs / BUCKET_MS);
    for (const [podName, pod] of collection.pods) {
      if (pod.bucket < bucket) collection.pods.delete(podName);
    }
    const { stableWindowMs, panicWindowMs } = collection.spec;
    return {
      stableConcurrency: collection.concurrency.average(nowMs, stableWindowMs),
      panicConcurrency: collection.concurrency.average(nowMs, panicWindowMs),
      stableRequestsPerSecond: collection.requests.average(nowMs, stableWindowMs),
      panicRequestsPerSecond: collection.requests.average(nowMs, panicWindowMs),
      hasData: readyInstances > 0 || collection.concurrency.hasDataWithin(nowMs, panicWindowMs),
      receivedStats: collection.receivedStats,
    };
  }

  /** Pods whose latest stat is in the current second's bookkeeping (for tests and debugging). */
  trackedPods(key: string): number {
    return this.collections.get(key)?.pods.size ?? 0;
  }
}
