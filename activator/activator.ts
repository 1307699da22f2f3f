// Assembles the activator: platform watches → function table → request handler on a dual HTTP/1.1 + h2c port, admin server, stats and scale watch.
import { performance } from 'node:perf_hooks';
import type { Registry } from 'prom-client';
import { SluiceError } from '../lib/errors.js';
import { DualServer } from '../lib/http/dual-server.js';
import { DEFAULT_UPSTREAM_POOL_OPTIONS, UpstreamPools } from '../lib/http/proxy.js';
import type { Logger } from '../lib/logger.js';
import type { Platform } from '../lib/platform/types.js';
import type { StatsReporter } from '../lib/stats-reporter.js';
import { ReferenceCodec } from '../lib/xdt/reference.js';
import { startAdminServer } from './admin-server.js';
import { retryAfterSeconds, xdtClusterKey, type ActivatorConfig } from './config.js';
import { FunctionTable } from './function-table.js';
import type { RandomSource } from './lb-policy.js';
import { createActivatorMetrics } from './metrics.js';
import { RequestHandler } from './request-handler.js';
import { ScaleWatcher } from './scale-watcher.js';

export interface ActivatorDeps {
  platform: Platform;
  /** Absent = no autoscaler: no Stats, no pokes, no scale watch. */
  statsReporter?: StatsReporter;
  logger: Logger;
  registry: Registry;
  /** Random source for load balancing (tests make it deterministic). */
  random?: RandomSource;
}

export interface RunningActivator {
  /** Bound traffic port (useful when config.port is 0). */
  port: number;
  adminPort: number;
  /** Stops at once: waiting requests get SHUTTING_DOWN, open connections are cut. */
  close(): Promise<void>;
  /** Fails /ready, stops accepting, lets in-flight and queued requests finish (up to drain-timeout), then closes. */
  drain(): Promise<void>;
}

const DRAIN_POLL_MS = 50;

export async function startActivator(config: ActivatorConfig, deps: ActivatorDeps): Promise<RunningActivator> {
  const { platform, statsReporter, logger, registry } = deps;
  const now = (): number => performance.now();
  let draining = false;
  // The cluster key first: a bad one stops the activator before it listens.
  const xdtKey = xdtClusterKey(config);

  const pools = new UpstreamPools({ ...DEFAULT_UPSTREAM_POOL_OPTIONS, connectionsPerUpstream: config.connectionsPerInstance });
  // The table and the metrics refer to each other: gauges read the table at scrape time.
  const metrics = createActivatorMetrics(registry, { forEachFunction: (visit) => table.forEachFunction(visit) });
  const table: FunctionTable = new FunctionTable({
    queueDepth: config.queueDepth,
    queueTimeoutMs: config.queueTimeoutMs,
    retryAfterSeconds: retryAfterSeconds(config),
    metrics,
    now,
    random: deps.random,
    onEndpointRemoved: (origin) => void pools.forget(origin),
  });
  const handler = new RequestHandler({
    domain: config.domain,
    maxBodyBytes: config.maxBodyBytes,
    table,
    pools,
    metrics,
    statsReporter,
    logger,
    now,
    isDraining: () => draining,
    xdtCodec: xdtKey ? new ReferenceCodec(xdtKey) : undefined,
  });

  // Order: state first (watches fill the table), then servers, then the loops that report it.
  const unsubscribeFunctions = platform.watchFunctions((event) => {
    try {
      table.applyFunctionEvent(event);
    } catch (err) {
      logger.error({ err: (err as Error).message, function: `${event.fn.namespace}/${event.fn.name}` }, 'cannot apply function event');
    }
  });
  const unsubscribeEndpoints = platform.watchEndpoints((update) => {
    try {
      table.applyEndpoints(update);
    } catch (err) {
      logger.error({ err: (err as Error).message, function: `${update.namespace}/${update.function}` }, 'cannot apply endpoints');
    }
  });

  const server = new DualServer({ http1: handler.handleHttp1, http2: handler.handleHttp2 });
  let traffic;
  let admin;
  try {
    traffic = await server.listen(config.port, config.host);
    admin = await startAdminServer({ registry, isReady: () => !draining, host: config.host, port: config.adminPort });
  } catch (err) {
    unsubscribeFunctions();
    unsubscribeEndpoints();
    await server.close();
    await pools.close();
    throw err;
  }

  let statsTimer: NodeJS.Timeout | undefined;
  let scaleWatcher: ScaleWatcher | undefined;
  if (statsReporter) {
    statsTimer = setInterval(() => {
      const at = now();
      const timestampMs = Date.now();
      for (const entry of table.entries()) {
        const active = entry.load.hadActivity();
        // Reported or not, the period restarts so the next average covers only the next period.
        const period = entry.load.report(at);
        if (!active) continue;
        statsReporter.report({
          namespace: entry.namespace,
          function: entry.name,
          pod_name: config.activatorId,
          source: 'STAT_SOURCE_ACTIVATOR',
          // The proxied parts are 0: only requests that came through an activator count as proxied.
          ...period,
          timestamp_ms: timestampMs,
          period_ms: Math.round(period.period_ms),
        });
      }
    }, config.reportingPeriodMs);
    statsTimer.unref();
    scaleWatcher = new ScaleWatcher({
      client: statsReporter.client,
      watcher: config.activatorId,
      logger,
      onReset: () => metrics.desiredInstances.reset(),
      onUpdate: (update) => {
        const labels = { namespace: update.namespace, function: update.function };
        if (update.deleted) metrics.desiredInstances.remove(labels);
        else metrics.desiredInstances.set(labels, update.desired_scale);
      },
    });
    scaleWatcher.start();
  }

  logger.info({ port: traffic.port, adminPort: admin.port, domain: config.domain, localityRouting: xdtKey !== undefined }, 'activator listening');

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      draining = true;
      if (statsTimer) clearInterval(statsTimer);
      scaleWatcher?.stop();
      unsubscribeFunctions();
      unsubscribeEndpoints();
      table.close(new SluiceError('SHUTTING_DOWN', 'the activator is shutting down', { retryAfterSeconds: retryAfterSeconds(config) }));
      // Let rejected waiters write their 503 before connections are cut.
      await new Promise((resolve) => setImmediate(resolve));
      await Promise.all([admin.close(), server.close()]);
      await pools.close();
    })();
    return closing;
  };

  let draining$: Promise<void> | undefined;
  const drain = (): Promise<void> => {
    draining$ ??= (async () => {
      draining = true;
      server.drain();
      const deadline = now() + config.drainTimeoutMs;
      while (handler.active > 0 && now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
      }
      if (handler.active > 0) logger.warn({ requests: handler.active }, 'drain timeout passed; closing with requests still open');
      await close();
    })();
    return draining$;
  };

  return { port: traffic.port, adminPort: admin.port, close, drain };
}
