// The Scheduler gRPC service: converts requests, runs schedule() with the configured profile, records metrics.
import { Registry } from 'prom-client';
import { bindServer, grpc, loadSchedulerProto, SERVER_OPTIONS, shutdownServer } from '../lib/grpc.js';
import type { Logger } from '../lib/logger.js';
import { serveMetrics, type MetricsServer } from '../lib/metrics-server.js';
import type { SchedulerConfig } from './config.js';
import { defaultRegistry, profileFromWeights } from './default-registry.js';
import type { PluginRegistry, Profile } from './framework.js';
import { createSchedulerMetrics } from './metrics.js';
import type { SchedulerMetrics } from './metrics.js';
import { InvalidRequestError, podFromRequest, responseFromResult, snapshotFromRequest } from './proto-convert.js';
import { schedule } from './schedule.js';
import { startBinder } from './kubernetes/binder.js';
import { loadKubeConfig } from '../lib/kubernetes/client.js';
import type { ScheduleResult } from './schedule.js';
import type { SchedulerHandlers } from '../protos/generated/sluice/scheduler/v1/Scheduler.js';
import type { ScheduleRequest__Output } from '../protos/generated/sluice/scheduler/v1/ScheduleRequest.js';
import type { ScheduleResponse } from '../protos/generated/sluice/scheduler/v1/ScheduleResponse.js';

export interface SchedulerDeps {
  logger: Logger;
  /** Metrics registry; a private one when absent. */
  metricsRegistry?: Registry;
  /** Plugin registry; the default plugins when absent (tests and later plugins add their own). */
  plugins?: PluginRegistry;
  /** Tie-break source; Math.random when absent. */
  random?: () => number;
}

export interface RunningScheduler {
  /** Bound gRPC port. */
  port: number;
  /** Bound metrics port, when a metrics server runs. */
  metricsPort?: number;
  close(): Promise<void>;
}

/** Handles one Schedule call: a malformed request is answered with SCHEDULE_CODE_ERROR, never thrown. */
export function handleSchedule(
  request: ScheduleRequest__Output,
  profile: Profile,
  metrics: SchedulerMetrics,
  random: () => number,
): ScheduleResponse {
  const stopTimer = metrics.duration.startTimer();
  let result: ScheduleResult = { code: 'error', message: 'internal error' };
  try {
    result = schedule(podFromRequest(request), snapshotFromRequest(request), profile, random);
  } catch (err) {
    if (!(err instanceof InvalidRequestError)) throw err;
    result = { code: 'error', message: err.message };
  } finally {
    stopTimer();
    metrics.attempts.inc({ result: result.code });
  }
  return responseFromResult(result, request.nodes.length);
}

export async function startScheduler(config: SchedulerConfig, deps: SchedulerDeps): Promise<RunningScheduler> {
  const { logger } = deps;
  const metricsRegistry = deps.metricsRegistry ?? new Registry();
  const metrics = createSchedulerMetrics(metricsRegistry);
  const profile = profileFromWeights(deps.plugins ?? defaultRegistry(), config.scoreWeights, config.pluginArgs);
  const random = deps.random ?? Math.random;

  const handlers: SchedulerHandlers = {
    Schedule(call, callback) {
      let response: ScheduleResponse;
      try {
        response = handleSchedule(call.request, profile, metrics, random);
      } catch (err) {
        logger.error({ err }, 'schedule failed');
        callback({ code: grpc.status.INTERNAL, details: (err as Error).message });
        return;
      }
      const r = call.request;
      logger.debug(
        { namespace: r.namespace, function: r.function, instance: r.instance_name, code: response.code, node: response.node },
        'schedule',
      );
      callback(null, response);
    },
  };

  const server = new grpc.Server(SERVER_OPTIONS);
  server.addService(loadSchedulerProto().sluice.scheduler.v1.Scheduler.service, handlers);
  const port = await bindServer(server, config.grpcAddress);

  let metricsServer: MetricsServer | undefined;
  if (config.metricsPort !== 0) {
    // Same host as the gRPC server: 127.0.0.1 locally, 0.0.0.0 in a pod so Prometheus can scrape it.
    const host = config.grpcAddress.slice(0, config.grpcAddress.lastIndexOf(':')).replace(/^\[|\]$/g, '');
    try {
      metricsServer = await serveMetrics(metricsRegistry, host, config.metricsPort);
    } catch (err) {
      server.forceShutdown();
      throw err;
    }
  }
  // On Kubernetes the same profile also places pending pods that name this scheduler.
  const binder =
    config.platform === 'kubernetes'
      ? startBinder({ kubeConfig: loadKubeConfig('scheduler'), schedulerName: config.schedulerName, profile, metrics, logger, random })
      : undefined;
  logger.info({ port, scoreWeights: config.scoreWeights, platform: config.platform }, 'scheduler listening');

  return {
    port,
    metricsPort: metricsServer?.port,
    async close() {
      await Promise.all([shutdownServer(server), metricsServer?.close(), binder?.close()]);
    },
  };
}
