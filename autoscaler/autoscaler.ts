// Starts the autoscaler in-process (main.ts and integration tests): scaler, gRPC service and metrics port.
import type { Registry } from 'prom-client';
import { bindServer, grpc, loadAutoscalerProto, SERVER_OPTIONS, shutdownServer } from '../lib/grpc.js';
import type { Logger } from '../lib/logger.js';
import { serveMetrics } from '../lib/metrics-server.js';
import type { Platform } from '../lib/platform/types.js';
import type { Clock } from './clock.js';
import type { AutoscalerConfig } from './config.js';
import { createAutoscalerMetrics } from './metrics.js';
import { Scaler } from './scaler.js';
import { createAutoscalerService } from './service.js';

export interface AutoscalerDeps {
  platform: Platform;
  logger: Logger;
  registry: Registry;
  clock?: Clock;
}

export interface RunningAutoscaler {
  grpcPort: number;
  metricsPort: number;
  scaler: Scaler;
  /** Ends streams, stops deciding, shuts the servers down. Does not close the platform (the caller owns it). */
  close(): Promise<void>;
}

export async function startAutoscaler(config: AutoscalerConfig, deps: AutoscalerDeps): Promise<RunningAutoscaler> {
  const metrics = createAutoscalerMetrics(deps.registry);
  const scaler = new Scaler({ config, platform: deps.platform, metrics, logger: deps.logger, clock: deps.clock });
  const service = createAutoscalerService(scaler, deps.logger);
  const server = new grpc.Server(SERVER_OPTIONS);
  server.addService(loadAutoscalerProto().sluice.autoscaler.v1.Autoscaler.service, service.handlers);

  // Know the functions before accepting stats (stats for unknown functions are dropped).
  scaler.start();
  let grpcPort: number;
  try {
    grpcPort = await bindServer(server, config.grpcAddress);
  } catch (err) {
    await scaler.close();
    throw err;
  }
  let admin;
  try {
    admin = await serveMetrics(deps.registry, config.metricsHost, config.metricsPort);
  } catch (err) {
    await scaler.close();
    server.forceShutdown();
    throw err;
  }
  deps.logger.info({ grpcPort, metricsPort: admin.port }, 'autoscaler serving');

  let closing: Promise<void> | undefined;
  return {
    grpcPort,
    metricsPort: admin.port,
    scaler,
    close() {
      closing ??= (async () => {
        service.close();
        await scaler.close();
        await shutdownServer(server);
        await admin.close();
      })();
      return closing;
    },
  };
}
