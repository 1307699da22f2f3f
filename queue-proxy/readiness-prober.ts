// Probes the function server (TCP connect, or HTTP GET expecting 2xx) fast until it first answers, then slowly; tracks readiness.
import { EventEmitter } from 'node:events';
import http from 'node:http';
import { canConnect } from '../lib/net.js';

export interface ReadinessProberOptions {
  host: string;
  port: number;
  /** "" = TCP connect probe; otherwise an HTTP GET on this path must answer 2xx. */
  path: string;
  /** Period until the first success: short, because a cold start waits on it. */
  initialIntervalMs?: number;
  /** Period after the first success. */
  intervalMs?: number;
  /** One probe's time limit. */
  probeTimeoutMs?: number;
  /** Consecutive failures that turn a ready server not ready (a single slow probe under load must not). */
  failureThreshold?: number;
}

/** One probe attempt: resolves true when the server answered as expected. */
export type Probe = () => Promise<boolean>;

export function tcpProbe(host: string, port: number, timeoutMs: number): Probe {
  return () => canConnect(host, port, timeoutMs);
}

export function httpProbe(host: string, port: number, path: string, timeoutMs: number): Probe {
  return () =>
    new Promise<boolean>((resolve) => {
      const req = http.request({ host, port, path, method: 'GET', agent: false, timeout: timeoutMs, headers: { 'user-agent': 'sluice-queue-proxy-probe' } }, (res) => {
        const status = res.statusCode ?? 0;
        res.resume();
        resolve(status >= 200 && status < 300);
      });
      req.once('timeout', () => req.destroy(new Error('probe timed out')));
      req.once('error', () => resolve(false));
      req.end();
    });
}

export interface ReadinessProberEvents {
  change: [ready: boolean];
}

/**
 * Emits 'change' with the new readiness whenever it flips. Probes every
 * initialIntervalMs (10 ms) until the first success, then every intervalMs (1 s).
 */
export class ReadinessProber extends EventEmitter<ReadinessProberEvents> {
  private isReady = false;
  private everReady = false;
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  private waiters: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private readonly probe: Probe;
  private readonly initialIntervalMs: number;
  private readonly intervalMs: number;
  private readonly failureThreshold: number;

  constructor(options: ReadinessProberOptions, probe?: Probe) {
    super();
    const timeoutMs = options.probeTimeoutMs ?? 1_000;
    this.probe = probe ?? (options.path === '' ? tcpProbe(options.host, options.port, timeoutMs) : httpProbe(options.host, options.port, options.path, timeoutMs));
    this.initialIntervalMs = options.initialIntervalMs ?? 10;
    this.intervalMs = options.intervalMs ?? 1_000;
    this.failureThreshold = options.failureThreshold ?? 3;
  }

  /** True while the last probes say the function server is ready. */
  get ready(): boolean {
    return this.isReady;
  }

  /** True once any probe has succeeded. */
  get hasBeenReady(): boolean {
    return this.everReady;
  }

  /** Probes at once, then periodically until stop(). */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.tick();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Resolves when the server is ready (at once if it is). One shared promise per not-ready spell. */
  whenReady(): Promise<void> {
    if (this.isReady) return Promise.resolve();
    if (!this.waiters) {
      this.waiters = new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
    return this.waiters;
  }

  private async tick(): Promise<void> {
    this.timer = undefined;
    let ok: boolean;
    try {
      ok = await this.probe();
    } catch {
      ok = false;
    }
    if (this.stopped) return;
    this.record(ok);
    this.timer = setTimeout(() => void this.tick(), this.everReady ? this.intervalMs : this.initialIntervalMs);
    this.timer.unref();
  }

  private record(ok: boolean): void {
    if (ok) {
      this.failures = 0;
      this.everReady = true;
      if (!this.isReady) this.set(true);
    } else {
      this.failures++;
      if (this.isReady && this.failures >= this.failureThreshold) this.set(false);
    }
  }

  private set(ready: boolean): void {
    this.isReady = ready;
    if (ready && this.wake) {
      const wake = this.wake;
      this.waiters = undefined;
      this.wake = undefined;
      wake();
    }
    this.emit('change', ready);
  }
}
