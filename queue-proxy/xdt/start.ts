// Starts a queue-proxy's XDT side from its config: cluster key, pools, data plane, inbound pulls, metrics and drain.
import { readFileSync } from 'node:fs';
import type { Registry } from 'prom-client';
import { ConfigError } from '../../lib/config.js';
import type { Logger } from '../../lib/logger.js';
import { ReferenceCodec, parseClusterKey } from '../../lib/xdt/reference.js';
import type { QueueProxyConfig } from '../config.js';
import { startXdtDataPlane, type XdtDataPlane } from './data-plane.js';
import { inboundObject, type InboundObject } from './inbound.js';
import { createXdtMetrics } from './metrics.js';
import { FlowReporter } from './flow-reporter.js';

export interface Xdt {
  plane: XdtDataPlane;
  openInbound(reference: string): InboundObject;
  /** Waits (≤ xdt-drain-timeout) until every object held here was retrieved or expired. */
  drain(): Promise<void>;
  close(): Promise<void>;
}

function readKey(file: string): Buffer {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`queue-proxy: xdt-key-file = ${file}, cannot be read: ${(err as Error).message}`);
  }
  try {
    return parseClusterKey(text);
  } catch (err) {
    throw new ConfigError(`queue-proxy: xdt-key-file = ${file}: ${(err as Error).message}`);
  }
}

export function xdtEnabled(x: QueueProxyConfig['xdt']): boolean {
  return x.key !== '' || x.keyFile !== '';
}

function clusterKey(x: QueueProxyConfig['xdt']): Buffer {
  if (x.key === '') return readKey(x.keyFile);
  try {
    return parseClusterKey(x.key);
  } catch (err) {
    throw new ConfigError(`queue-proxy: xdt-key: ${(err as Error).message}`);
  }
}

export async function startXdt(config: QueueProxyConfig, deps: { logger: Logger; registry: Registry }): Promise<Xdt> {
  const { logger } = deps;
  const x = config.xdt;
  const metrics = createXdtMetrics(deps.registry, config.namespace, config.function);
  const flows =
    config.nodeAgentAddress === ''
      ? undefined
      : new FlowReporter({ address: config.nodeAgentAddress, namespace: config.namespace, function: config.function, node: config.node, periodMs: config.flowReportPeriodMs, logger });
  const plane = await startXdtDataPlane({
    host: config.bindAddress,
    port: x.port,
    socketPath: x.socket,
    localPort: x.localPort,
    namespace: config.namespace,
    function: config.function,
    node: config.node,
    codec: new ReferenceCodec(clusterKey(x)),
    invokePool: { count: x.invokeBuffers, sizeBytes: x.invokeBufferBytes },
    putPool: { count: x.putBuffers, sizeBytes: x.putBufferBytes },
    chunkBytes: x.chunkBytes,
    defaultTtlMs: x.ttlMs,
    invokeTtlMs: x.invokeTtlMs,
    pullTimeoutMs: x.pullTimeoutMs,
    mode: x.mode,
    ...(x.shmDir !== '' ? { shm: { dir: x.shmDir, maxObjectBytes: x.shmMaxObjectBytes, budgetBytes: x.shmBudgetBytes } } : {}),
    onTransfer: (t) => {
      metrics.pulled(t.path);
      flows?.record(t);
    },
    logger,
    metrics,
  });
  metrics.pools(plane.invokePool, plane.putPool);
  logger.info({ xdtAddress: plane.address, xdtLocal: plane.localTarget, mode: x.mode, shmDir: x.shmDir || undefined, flowReports: flows !== undefined }, 'XDT data plane listening');
  return {
    plane,
    openInbound(reference) {
      try {
        return inboundObject(plane.pull(reference), { budgetBytes: x.inboundBytes, whole: x.mode === 'store-and-forward', metrics });
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code?.startsWith('XDT_')) metrics.refused(code as 'XDT_REF_INVALID');
        throw err;
      }
    },
    async drain() {
      if (plane.heldObjects === 0 || x.drainTimeoutMs === 0) return;
      logger.info({ objects: plane.heldObjects, drainTimeoutMs: x.drainTimeoutMs }, 'draining: serving XDT objects not yet retrieved');
      const timeout = AbortSignal.timeout(x.drainTimeoutMs);
      await plane.whenEmpty(timeout);
      if (plane.heldObjects > 0) logger.warn({ objects: plane.heldObjects }, 'XDT drain limit reached: objects not retrieved are dropped');
    },
    async close() {
      await plane.close();
      await flows?.close();
    },
  };
}
