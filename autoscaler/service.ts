// gRPC implementation of sluice.autoscaler.v1.Autoscaler over the Scaler: stats in, pokes, scale watches out.
import { grpc } from '../lib/grpc.js';
import type { Logger } from '../lib/logger.js';
import type { AutoscalerHandlers } from '../protos/generated/sluice/autoscaler/v1/Autoscaler.js';
import type { ReportStatsResponse } from '../protos/generated/sluice/autoscaler/v1/ReportStatsResponse.js';
import type { ScaleUpdate as ScaleUpdateMessage } from '../protos/generated/sluice/autoscaler/v1/ScaleUpdate.js';
import type { Stat__Output } from '../protos/generated/sluice/autoscaler/v1/Stat.js';
import type { WatchScaleRequest__Output } from '../protos/generated/sluice/autoscaler/v1/WatchScaleRequest.js';
import type { Scaler, ScaleUpdate } from './scaler.js';

export function toScaleUpdateMessage(update: ScaleUpdate): ScaleUpdateMessage {
  return {
    namespace: update.namespace,
    function: update.function,
    desired_scale: update.desiredScale,
    ready_instances: update.readyInstances,
    excess_burst_capacity: update.excessBurstCapacity,
    panic_mode: update.panicMode,
    observed_stable_concurrency: update.stableConcurrency,
    observed_panic_concurrency: update.panicConcurrency,
    timestamp_ms: update.timestampMs,
    deleted: update.deleted,
  };
}

function nonNegative(value: number): number {
  return Number.isFinite(value) && value > 0 ? value : 0;
}

/**
 * Writes updates to one WatchScale stream with bounded memory: while the stream is
 * backed up, only the latest update per function waits (a newer decision supersedes an older one).
 */
class ScaleWatcher {
  private readonly pending = new Map<string, ScaleUpdate>();
  private blocked = false;

  constructor(private readonly call: grpc.ServerWritableStream<WatchScaleRequest__Output, ScaleUpdateMessage>) {}

  send(update: ScaleUpdate): void {
    if (this.call.writableEnded || this.call.destroyed) return;
    if (this.blocked) {
      this.pending.set(`${update.namespace}/${update.function}`, update);
      return;
    }
    if (!this.call.write(toScaleUpdateMessage(update))) this.waitForDrain();
  }

  private waitForDrain(): void {
    this.blocked = true;
    this.call.once('drain', () => this.flush());
  }

  private flush(): void {
    this.blocked = false;
    for (const [key, update] of this.pending) {
      this.pending.delete(key);
      if (this.call.writableEnded || this.call.destroyed) return;
      if (!this.call.write(toScaleUpdateMessage(update))) {
        this.waitForDrain();
        return;
      }
    }
  }

  end(): void {
    if (!this.call.writableEnded) this.call.end();
  }
}

export interface AutoscalerService {
  handlers: AutoscalerHandlers;
  /** Ends every open stream so the server can shut down (clients reconnect elsewhere). */
  close(): void;
}

export function createAutoscalerService(scaler: Scaler, logger: Logger): AutoscalerService {
  const openReports = new Set<() => void>();
  const openWatches = new Set<() => void>();

  const handlers: AutoscalerHandlers = {
    ReportStats(call, callback) {
      let done = false;
      const finish = (): void => {
        if (done) return;
        done = true;
        openReports.delete(finish);
        const response: ReportStatsResponse = {};
        callback(null, response);
      };
      openReports.add(finish);
      call.on('data', (stat: Stat__Output) => {
        if (!stat.namespace || !stat.function) {
          logger.debug({ pod: stat.pod_name }, 'stat without namespace or function dropped');
          return;
        }
        scaler.recordStat(stat.namespace, stat.function, {
          podName: stat.pod_name,
          averageConcurrency: nonNegative(stat.average_concurrency),
          averageProxiedConcurrency: nonNegative(stat.average_proxied_concurrency),
          requestCount: nonNegative(stat.request_count),
          proxiedRequestCount: nonNegative(stat.proxied_request_count),
        });
      });
      call.on('end', finish);
      call.on('error', () => {
        done = true;
        openReports.delete(finish);
      });
    },

    Poke(call, callback) {
      const { namespace, function: name, concurrency } = call.request;
      if (!namespace || !name) {
        callback({ code: grpc.status.INVALID_ARGUMENT, details: 'BAD_REQUEST: namespace and function are required' });
        return;
      }
      if (!scaler.poke(namespace, name, concurrency)) {
        callback({ code: grpc.status.NOT_FOUND, details: `FUNCTION_NOT_FOUND: function ${namespace}/${name} is not known` });
        return;
      }
      callback(null, {});
    },

    WatchScale(call) {
      const watcher = new ScaleWatcher(call);
      const unsubscribe = scaler.subscribe((update) => watcher.send(update));
      const stop = (): void => {
        unsubscribe();
        openWatches.delete(stop);
        watcher.end();
      };
      openWatches.add(stop);
      logger.debug({ watcher: call.request.watcher }, 'scale watcher connected');
      call.on('cancelled', stop);
      call.on('error', stop);
      call.on('close', stop);
    },
  };

  return {
    handlers,
    close() {
      for (const stop of [...openWatches]) stop();
      for (const finish of [...openReports]) finish();
    },
  };
}
