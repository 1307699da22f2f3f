// Closed-loop HTTP load with autocannon, with latency kept at nanosecond resolution
// (autocannon's own histogram rounds to whole milliseconds, too coarse for sub-millisecond overheads).
import autocannon from 'autocannon';
import { createHistogram } from 'node:perf_hooks';

export interface LoadOptions {
  url: string;
  headers?: Record<string, string>;
  /** Concurrent keep-alive connections, each with one request in flight. */
  connections: number;
  /** Seconds to run; ignored when `amount` is set. */
  durationSec?: number;
  /** Exact number of requests to send. */
  amount?: number;
  signal?: AbortSignal;
}

export interface LoadResult {
  /** Completed 2xx responses. */
  ok: number;
  /** Socket errors, timeouts and non-2xx responses. */
  errors: number;
  elapsedSec: number;
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
}

const NS_PER_MS = 1e6;

export function runLoad(options: LoadOptions): Promise<LoadResult> {
  const latencyNs = createHistogram();
  let ok = 0;
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const instance = autocannon(
      {
        url: options.url,
        headers: options.headers,
        connections: options.connections,
        ...(options.amount !== undefined ? { amount: options.amount } : { duration: options.durationSec ?? 10 }),
        timeout: 30,
      },
      (err, result) => {
        options.signal?.removeEventListener('abort', onAbort);
        if (err) {
          reject(err);
          return;
        }
        const elapsedSec = (performance.now() - started) / 1000;
        resolve({
          ok,
          errors: result.errors + result.timeouts + result.non2xx,
          elapsedSec,
          requestsPerSec: ok / elapsedSec,
          p50Ms: ok > 0 ? latencyNs.percentile(50) / NS_PER_MS : NaN,
          p99Ms: ok > 0 ? latencyNs.percentile(99) / NS_PER_MS : NaN,
        });
      },
    );
    instance.on('response', (_client, statusCode, _bytes, responseTimeMs) => {
      if (statusCode < 200 || statusCode > 299) return;
      ok++;
      latencyNs.record(Math.max(1, Math.round(responseTimeMs * NS_PER_MS)));
    });
    const onAbort = (): void => instance.stop();
    if (options.signal?.aborted) instance.stop();
    else options.signal?.addEventListener('abort', onAbort, { once: true });
  });
}
