// The node's PM at agent start: open the device, calibrate the writer limit (in the background), restore the profiles, admit.
import os from 'node:os';
import type { Registry } from 'prom-client';
import type { Logger } from '../../lib/logger.js';
import type { PmConfig } from '../config.js';
import { PmAdmission } from './admission.js';
import { calibrate } from './calibrate.js';
import { scaledParams } from './contention-model.js';
import { openPmDevice } from './device.js';
import { createPmMetrics } from './metrics.js';
import { PmProfiler } from './profiler.js';
import { ProfileStore } from './profile-store.js';
import { pmHandlers } from './service.js';
import type { PmNodeHandlers } from '../../protos/generated/sluice/pm/v1/PmNode.js';
import type { NodePm as NodePmView } from '../../protos/generated/sluice/nodeagent/v1/NodePm.js';
import type { Calibration, PmDevice, PmProfile } from './types.js';

export interface NodePm {
  device: PmDevice;
  /** Resolves once the writer limit is known (calibrated or configured). */
  calibrated: Promise<Calibration>;
  handlers: PmNodeHandlers;
  /** The node's PM as placement sees it (NodeAgent.GetNodePm): mode, writer limit, predicted bytes written per function. */
  view(): NodePmView;
  close(): Promise<void>;
}

const VIEW_MODE: Record<PmDevice['mode'], NodePmView['mode']> = { dax: 'NODE_PM_MODE_DAX', emulated: 'NODE_PM_MODE_EMULATED', plain: 'NODE_PM_MODE_PLAIN' };

/** The placement view of a node's PM from its parts (pure). Only functions with a usage report are listed. */
export function pmView(mode: PmDevice['mode'], writerLimit: number, calibrated: boolean, profiles: Iterable<[string, PmProfile]>): NodePmView {
  const functions: NonNullable<NodePmView['functions']> = [];
  for (const [key, profile] of profiles) {
    if (profile.samples === 0) continue;
    const slash = key.indexOf('/');
    functions.push({ namespace: key.slice(0, slash), function: key.slice(slash + 1), written_bytes: profile.writtenBytes, samples: profile.samples });
  }
  return { mode: VIEW_MODE[mode], writer_limit: calibrated && Number.isFinite(writerLimit) ? writerLimit : 0, calibrated, functions };
}

export async function startNodePm(config: PmConfig, deps: { node: string; logger: Logger; registry: Registry }): Promise<NodePm | undefined> {
  if (config.mode === 'off') return undefined;
  const { logger } = deps;
  const device = await openPmDevice({ mode: config.mode, dir: config.dir || undefined, node: deps.node, params: scaledParams(config.bandwidthScale) });
  const store = new ProfileStore(config.stateFile, logger);
  const params = scaledParams(config.bandwidthScale);
  const profiler = new PmProfiler({ capacity: { cpuCores: os.availableParallelism(), readBytesPerSecond: params.readPeakBytesPerSecond, writeBytesPerSecond: params.writePeakBytesPerSecond } });
  profiler.restore(await store.load());
  store.track(profiler);
  // Unbounded until calibrated: nothing waits on a limit not yet known, and the queue-proxies ask after calibration.
  const admission = new PmAdmission({ writerLimit: Infinity, agingMs: config.agingMs });
  const calibrated = (async (): Promise<Calibration> => {
    if (config.writerLimit !== undefined) return { points: [], writerLimit: config.writerLimit };
    const started = performance.now();
    const result = await calibrate(device);
    logger.info(
      { pmMode: device.mode, writerLimit: Number.isFinite(result.writerLimit) ? result.writerLimit : 'unbounded', ms: Math.round(performance.now() - started), points: result.points.map((p) => `${p.writers}:${(p.writeBytesPerSecond / 1e6).toFixed(0)}MB/s`).join(' ') },
      'PM calibrated',
    );
    return result;
  })();
  const metrics = createPmMetrics(deps.registry, {
    node: deps.node,
    mode: device.mode,
    writerLimit: () => admission.stats().writerLimit,
    activeWriters: () => admission.stats().activeWriters,
    waitingWriters: () => admission.stats().waitingWriters,
    maxWaitMs: () => admission.stats().maxWaitMs,
    profiles: () => profiler.entries(),
  });
  let calibration: Calibration = { points: [], writerLimit: Infinity };
  // Placement reads this: until it is set, the node's writer limit is not known yet.
  let limitKnown = false;
  const ready = calibrated.then(
    (c) => {
      calibration = c;
      admission.setWriterLimit(c.writerLimit);
      limitKnown = true;
      return c;
    },
    (err: unknown) => {
      logger.error({ err: (err as Error).message }, 'PM calibration failed; admission stays off');
      limitKnown = true;
      return calibration;
    },
  );
  const base = pmHandlers({
    node: deps.node,
    device,
    calibration: { get points() { return calibration.points; }, get writerLimit() { return calibration.writerLimit; } },
    admission,
    profiler,
    writerThresholdBytes: config.writerThresholdBytes,
    leaseMs: config.leaseMs,
    metrics,
    logger,
  });
  // A queue-proxy asks for the limit once: answer it after calibration, not before.
  const handlers: PmNodeHandlers = { ...base, GetPmInfo: (call, callback) => void ready.then(() => base.GetPmInfo(call, callback)) };
  logger.info({ pmMode: device.mode, pmDir: device.dir }, 'PM device open');
  return {
    device,
    calibrated: ready,
    handlers,
    view: () => pmView(device.mode, admission.stats().writerLimit, limitKnown, profiler.entries()),
    async close() {
      await ready;
      admission.close();
      await store.close(profiler);
      await device.close();
    },
  };
}
