// The node's PmNode gRPC service (protos/pm.proto): device timing for the SDK, admission for the queue-proxies, usage into the profiler.
import { grpc } from '../../lib/grpc.js';
import type { Logger } from '../../lib/logger.js';
import type { PmNodeHandlers } from '../../protos/generated/sluice/pm/v1/PmNode.js';
import type { PmMode as ProtoPmMode } from '../../protos/generated/sluice/pm/v1/PmMode.js';
import type { PmAdmission } from './admission.js';
import type { PmMetrics } from './metrics.js';
import type { PmProfiler } from './profiler.js';
import type { Calibration, PmDevice } from './types.js';

export interface PmServiceDeps {
  node: string;
  device: PmDevice;
  /** Read at every GetPmInfo: calibration finishes after the service starts. */
  calibration: Calibration;
  admission: PmAdmission;
  profiler: PmProfiler;
  /** Predicted written bytes per invocation from which a function counts as a writer. */
  writerThresholdBytes: number;
  /** An admitted invocation not released within this time is released by the node (its queue-proxy is gone). */
  leaseMs: number;
  metrics: PmMetrics;
  logger: Logger;
}

const PROTO_MODE: Record<PmDevice['mode'], ProtoPmMode> = { dax: 'PM_MODE_DAX', emulated: 'PM_MODE_EMULATED', plain: 'PM_MODE_PLAIN' };

/** What the node remembers of an admitted invocation until its release. */
interface Admitted {
  fn: string;
  /** Frees the slot of a queue-proxy that died holding it (no release will come). */
  lease: NodeJS.Timeout;
}

const STATUS_BY_CODE: Record<string, grpc.status> = {
  DEADLINE_EXCEEDED: grpc.status.DEADLINE_EXCEEDED,
  ALREADY_EXISTS: grpc.status.ALREADY_EXISTS,
  UNAVAILABLE: grpc.status.UNAVAILABLE,
};

export function pmHandlers(deps: PmServiceDeps): PmNodeHandlers {
  const { admission, profiler, device, metrics } = deps;
  const admitted = new Map<string, Admitted>();

  return {
    GetPmInfo(_call, callback) {
      const limit = deps.calibration.writerLimit;
      callback(null, {
        node: deps.node,
        mode: PROTO_MODE[device.mode],
        dir: device.dir,
        writer_limit: Number.isFinite(limit) ? limit : 0,
        calibration: deps.calibration.points.map((p) => ({ writers: p.writers, write_bytes_per_second: p.writeBytesPerSecond })),
      });
    },

    Acquire(call, callback) {
      const { namespace, function: name, invocation_id: id } = call.request;
      if (!name || !id) {
        callback({ code: grpc.status.INVALID_ARGUMENT, details: 'function and invocation_id are required' });
        return;
      }
      const fn = `${namespace || 'default'}/${name}`;
      const cls = profiler.classify(fn, deps.writerThresholdBytes);
      const abort = new AbortController();
      // The caller's deadline or departure ends the wait: nothing stays queued for a request that is gone.
      call.on('cancelled', () => abort.abort());
      admission
        .acquire({ invocationId: id, function: fn, class: cls, demand: profiler.demand(fn), signal: abort.signal })
        .then(
          (grant) => {
            if (abort.signal.aborted) {
              admission.release(id);
              return;
            }
            const lease = setTimeout(() => {
              if (!admitted.delete(id)) return;
              admission.release(id);
              deps.logger.warn({ function: fn, invocation: id, leaseMs: deps.leaseMs }, 'PM slot not released in time; freed');
            }, deps.leaseMs);
            lease.unref();
            admitted.set(id, { fn, lease });
            metrics.admitted(fn, grant.class, grant.waitedMs);
            callback(null, { class: grant.class === 'writer' ? 'ADMISSION_CLASS_WRITER' : 'ADMISSION_CLASS_READER', waited_ms: grant.waitedMs });
          },
          (err: unknown) => {
            metrics.abandoned(fn);
            const code = STATUS_BY_CODE[(err as { code?: string }).code ?? ''] ?? grpc.status.INTERNAL;
            callback({ code, details: (err as Error).message });
          },
        );
    },

    Release(call, callback) {
      const id = call.request.invocation_id;
      const a = admitted.get(id);
      admitted.delete(id);
      if (a) clearTimeout(a.lease);
      const released = admission.release(id);
      // The time-weighted mean of concurrent writers while it ran is the sample the sensitivity fit needs.
      if (released) profiler.recordDuration(released.function, call.request.duration_ms, released.class === 'writer' ? released.meanWriters : 0);
      callback(null, {});
    },

    Io(call, callback) {
      const bytes = Number(call.request.bytes);
      if (!Number.isFinite(bytes) || bytes < 0) {
        callback({ code: grpc.status.INVALID_ARGUMENT, details: `bytes = ${call.request.bytes}, must be ≥ 0` });
        return;
      }
      const io = call.request.kind === 'IO_KIND_READ' ? device.read(bytes) : device.write(bytes);
      metrics.io(call.request.kind === 'IO_KIND_READ' ? 'read' : 'write', bytes);
      io.then(
        () => callback(null, {}),
        (err: unknown) => callback({ code: grpc.status.INTERNAL, details: (err as Error).message }),
      );
    },

    ReportUsage(call, callback) {
      const { namespace, function: name, read_bytes: readBytes, written_bytes: writtenBytes } = call.request;
      if (!name) {
        callback({ code: grpc.status.INVALID_ARGUMENT, details: 'function is required' });
        return;
      }
      profiler.record(`${namespace || 'default'}/${name}`, { readBytes: Number(readBytes), writtenBytes: Number(writtenBytes) });
      callback(null, {});
    },
  };
}
