// Composes a queue-proxy: traffic (HTTP/1.1 + h2c), admin and metrics servers, readiness prober, stats loop and graceful drain.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Registry } from 'prom-client';
import { ConcurrencyTracker } from '../lib/concurrency-tracker.js';
import { DualServer } from '../lib/http/dual-server.js';
import { DEFAULT_UPSTREAM_POOL_OPTIONS, UpstreamPools } from '../lib/http/proxy.js';
import { closeHttp, listenHttp } from '../lib/http/plain-server.js';
import type { Logger } from '../lib/logger.js';
import { metricsRoute, routesHandler } from '../lib/metrics-server.js';
import type { Stat } from '../lib/stats-reporter.js';
import { DeferredStatsReporter } from '../lib/deferred-stats-reporter.js';
import { adminHandler } from './admin-server.js';
import { Breaker } from './breaker.js';
import type { QueueProxyConfig } from './config.js';
import { createQueueProxyMetrics } from './metrics.js';
import { ProxyHandler } from './proxy-handler.js';
import { ReadinessProber } from './readiness-prober.js';
import { startXdt, xdtEnabled, type Xdt } from './xdt/start.js';
import { PmGateConnection } from './pm-gate.js';
import type { XdtDataPlane } from './xdt/data-plane.js';

/** Where Stats go; StatsReporter in production. */
export interface StatSink {
  report(stat: Stat): boolean;
  close(): Promise<void>;
  /** False while a deferred sink is still loading: stats then keep accumulating. */
  readonly loaded?: boolean;
  /** Makes a deferred sink load at once (before the final stat of a drain). */
  loadNow?(): Promise<void>;
}

export interface QueueProxyDeps {
  logger: Logger;
  registry: Registry;
  /**
   * Used (and closed by drain/close) instead of a StatsReporter built from
   * autoscaler-address. Without either, no stats are sent.
   */
  statsReporter?: StatSink;
}

export interface QueueProxy {
  trafficPort: number;
  adminPort: number;
  metricsPort: number;
  /** The XDT data plane, when XDT is on. */
  xdt?: XdtDataPlane;
  /**
   * Fails /ready, stops taking connections, waits (≤ drain-timeout) for queued and in-flight requests,
   * then (keepXdtObjects, the default) serves XDT objects not yet retrieved (≤ xdt-drain-timeout),
   * sends a last Stat, closes. Idempotent.
   */
  drain(options?: { keepXdtObjects?: boolean }): Promise<void>;
  /** Closes everything at once; in-flight requests fail. Idempotent. */
  close(): Promise<void>;
}

function originOf(host: string, port: number): string {
  return host.includes(':') ? `http://[${host}]:${port}` : `http://${host}:${port}`;
}

function delay(ms: number): { promise: Promise<void>; cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  return { promise, cancel: () => clearTimeout(timer) };
}

export async function startQueueProxy(config: QueueProxyConfig, deps: QueueProxyDeps): Promise<QueueProxy> {
  const { logger, registry } = deps;
  const breaker = new Breaker({
    concurrency: config.containerConcurrency,
    queueDepth: config.queueDepth,
    name: `function ${config.namespace}/${config.function} instance ${config.instance}`,
  });
  const tracker = new ConcurrencyTracker(performance.now());
  const prober = new ReadinessProber({ host: config.userHost, port: config.userPort, path: config.readinessPath });
  const pools = new UpstreamPools({
    ...DEFAULT_UPSTREAM_POOL_OPTIONS,
    // More connections than allowed concurrent requests would never be used.
    connectionsPerUpstream: config.containerConcurrency > 0 ? config.containerConcurrency : DEFAULT_UPSTREAM_POOL_OPTIONS.connectionsPerUpstream,
  });
  const gauges = { inFlight: () => handler.inFlight, queued: () => handler.queued };
  const metrics = createQueueProxyMetrics(registry, config.namespace, config.function, gauges);
  const xdt: Xdt | undefined = xdtEnabled(config.xdt) ? await startXdt(config, { logger, registry }) : undefined;
  // Connects while the function server boots; requests wait for it only if they arrive first.
  const pmGate = config.pmAddress !== '' ? new PmGateConnection(config.pmAddress, config.namespace, config.function, logger) : undefined;
  const handler = new ProxyHandler({
    namespace: config.namespace,
    function: config.function,
    instance: config.instance,
    origin: originOf(config.userHost, config.userPort),
    timeoutMs: config.timeoutMs,
    breaker,
    tracker,
    prober,
    pools,
    metrics,
    logger,
    openInbound: xdt?.openInbound,
    pmGate,
  });
  const reporter: StatSink | undefined =
    deps.statsReporter ??
    // gRPC loads once the function server is ready: its ~100 ms of imports stay off the cold-start path.
    (config.autoscalerAddress !== '' ? new DeferredStatsReporter(config.autoscalerAddress, logger, prober.whenReady()) : undefined);

  const traffic = new DualServer(handler);
  const admin = http.createServer(adminHandler(() => prober.ready && !handler.draining));
  // Only /metrics on this port, as Knative's queue-proxy serves it.
  const metricsServer = http.createServer(routesHandler({ '/metrics': metricsRoute(registry) }));

  let statsTimer: NodeJS.Timeout | undefined;
  let closing: Promise<void> | undefined;
  let draining: Promise<void> | undefined;

  const close = (): Promise<void> => {
    closing ??= (async () => {
      if (statsTimer) clearInterval(statsTimer);
      prober.stop();
      await Promise.all([traffic.close(), closeHttp(admin), closeHttp(metricsServer)]);
      await pools.close();
      await xdt?.close();
      pmGate?.close();
      await reporter?.close();
    })();
    return closing;
  };

  let addresses: AddressInfo[];
  try {
    addresses = await Promise.all([
      traffic.listen(config.trafficPort, config.bindAddress),
      listenHttp(admin, config.adminPort, config.bindAddress),
      listenHttp(metricsServer, config.metricsPort, config.bindAddress),
    ]);
  } catch (err) {
    await close();
    throw err;
  }

  const sendStat = (): void => {
    // Until the deferred reporter has loaded, the tracker keeps accumulating: nothing is lost.
    if (!reporter || reporter.loaded === false) return;
    const period = tracker.report(performance.now());
    reporter.report({
      namespace: config.namespace,
      function: config.function,
      pod_name: config.instance,
      source: 'STAT_SOURCE_QUEUE_PROXY',
      ...period,
      timestamp_ms: Date.now(),
    });
  };
  if (reporter) {
    statsTimer = setInterval(sendStat, config.reportingPeriodMs);
    statsTimer.unref();
  }

  prober.on('change', (ready) => logger.info({ ready, upstream: `${config.userHost}:${config.userPort}` }, ready ? 'function server ready' : 'function server not ready'));
  prober.start();

  const drain = (options: { keepXdtObjects?: boolean } = {}): Promise<void> => {
    draining ??= (async () => {
      handler.draining = true;
      traffic.drain();
      const active = tracker.active;
      if (active > 0) {
        logger.info({ active, drainTimeoutMs: config.drainTimeoutMs }, 'draining: waiting for requests to finish');
        const timeout = delay(config.drainTimeoutMs);
        const idle = await Promise.race([handler.whenIdle().then(() => true), timeout.promise.then(() => false)]);
        timeout.cancel();
        if (!idle) logger.warn({ active: tracker.active }, 'drain timeout: closing with requests still open');
      }
      // A producer keeps serving objects not yet retrieved, within the XDT drain limit.
      if (xdt && options.keepXdtObjects !== false) await xdt.drain();
      if (statsTimer) clearInterval(statsTimer);
      await reporter?.loadNow?.();
      sendStat();
      await close();
    })();
    return draining;
  };

  logger.info(
    { trafficPort: addresses[0].port, adminPort: addresses[1].port, metricsPort: addresses[2].port, upstream: `${config.userHost}:${config.userPort}` },
    'queue-proxy listening',
  );
  return { trafficPort: addresses[0].port, adminPort: addresses[1].port, metricsPort: addresses[2].port, xdt: xdt?.plane, drain, close };
}
