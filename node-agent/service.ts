// The NodeAgent gRPC service of one node: node facts, start/stop of instances and the instance watch stream;
// beside it on the same server the node's PmNode (when the node has PM) and FlowProfile services.
import { Registry } from 'prom-client';
import { bindServer, grpc, loadFlowProto, loadNodeAgentProto, loadPmProto, SERVER_OPTIONS, shutdownServer } from '../lib/grpc.js';
import { createFlowProfile } from './flows/service.js';
import { startNodePm } from './pm/start.js';
import { isSluiceError } from '../lib/errors.js';
import type { ErrorCode } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { serveMetrics, type MetricsServer } from '../lib/metrics-server.js';
import { addressRange, agentHost } from './config.js';
import type { NodeAgentConfig } from './config.js';
import { InstanceRuntime } from './instance-runtime.js';
import type { InstanceEvent, InstanceStatus, ProbeIntervals } from './instance-runtime.js';
import { createNodeAgentMetrics } from './metrics.js';
import { prepareShmDir, removeShmDir, resolveShmDir } from './xdt-shm.js';
import type { NodeAgentHandlers } from '../protos/generated/sluice/nodeagent/v1/NodeAgent.js';
import type { Instance } from '../protos/generated/sluice/nodeagent/v1/Instance.js';
import type { InstanceEvent as ProtoInstanceEvent } from '../protos/generated/sluice/nodeagent/v1/InstanceEvent.js';
import type { NodeInfo } from '../protos/generated/sluice/nodeagent/v1/NodeInfo.js';
import type { WatchInstancesRequest__Output } from '../protos/generated/sluice/nodeagent/v1/WatchInstancesRequest.js';

export interface NodeAgentDeps {
  logger: Logger;
  /** Metrics registry; a private one when absent. */
  metricsRegistry?: Registry;
  now?: () => number;
  probeIntervals?: ProbeIntervals;
  /** Environment the instances inherit; process.env when absent. */
  env?: NodeJS.ProcessEnv;
}

export interface RunningNodeAgent {
  /** host:port of the gRPC server, e.g. "127.0.1.1:8070". */
  address: string;
  /** Bound metrics port, when a metrics server runs. */
  metricsPort?: number;
  runtime: InstanceRuntime;
  /** Stops every instance in parallel (draining up to `drainTimeoutMs`, default the config's), then the servers. */
  close(drainTimeoutMs?: number): Promise<void>;
}

export function toProtoInstance(status: InstanceStatus): Instance {
  return {
    name: status.name,
    namespace: status.namespace,
    function: status.function,
    node: status.node,
    phase: `INSTANCE_PHASE_${status.phase}`,
    ip: status.ip,
    traffic_port: status.trafficPort,
    admin_port: status.adminPort,
    metrics_port: status.metricsPort,
    message: status.message,
    created_at_ms: status.createdAtMs,
    ready_at_ms: status.readyAtMs,
    generation: status.generation,
    milli_cpu: status.milliCpu,
    memory_bytes: status.memoryBytes,
  };
}

function toProtoEvent(event: InstanceEvent): ProtoInstanceEvent {
  return { type: `EVENT_TYPE_${event.type}`, instance: toProtoInstance(event.instance) };
}

const GRPC_STATUS_BY_CODE: Partial<Record<ErrorCode, grpc.status>> = {
  BAD_REQUEST: grpc.status.INVALID_ARGUMENT,
  NO_CAPACITY: grpc.status.RESOURCE_EXHAUSTED,
  SHUTTING_DOWN: grpc.status.UNAVAILABLE,
};

function toServiceError(err: unknown): Partial<grpc.ServiceError> {
  if (isSluiceError(err)) return { code: GRPC_STATUS_BY_CODE[err.code] ?? grpc.status.INTERNAL, details: err.message };
  return { code: grpc.status.INTERNAL, details: err instanceof Error ? err.message : String(err) };
}

/** The node's shared-memory directory for same-node XDT pulls, made empty; none (TCP only) when it cannot be made. */
function openShmDir(config: NodeAgentConfig, logger: Logger): string | undefined {
  const dir = resolveShmDir(config.xdtShmDir, config.name, process.pid);
  if (!dir) {
    logger.info({ xdtShmDir: config.xdtShmDir }, 'XDT same-node fast path off: every pull goes over TCP');
    return undefined;
  }
  try {
    prepareShmDir(dir);
  } catch (err) {
    logger.warn({ dir, err: (err as Error).message }, 'XDT shared-memory directory cannot be made: every pull goes over TCP');
    return undefined;
  }
  logger.info({ dir }, 'XDT same-node fast path: pulls between queue-proxies of this node go through shared memory');
  return dir;
}

export async function startNodeAgent(config: NodeAgentConfig, deps: NodeAgentDeps): Promise<RunningNodeAgent> {
  const { logger } = deps;
  const metricsRegistry = deps.metricsRegistry ?? new Registry();
  // Read at scrape time only, after `instances` exists.
  const metrics = createNodeAgentMetrics(metricsRegistry, () => instances.countByPhase());
  const pm = await startNodePm(config.pm, { node: config.name, logger, registry: metricsRegistry });
  // Always on: a flow report costs a few map updates, and placement asks for the view at every scheduling.
  const flows = createFlowProfile({ node: config.name, halfLifeMs: config.flowHalfLifeMs, registry: metricsRegistry, logger });
  const xdtShmDir = config.xdtKeyFile === '' ? undefined : openShmDir(config, logger);
  const instances = new InstanceRuntime(config, {
    logger,
    metrics,
    now: deps.now,
    probeIntervals: deps.probeIntervals,
    env: deps.env,
    pm: pm && { dir: pm.device.dir, address: () => address },
    agentAddress: () => address,
    xdtShmDir,
  });

  const host = agentHost(config.subnet);
  const watches = new Set<grpc.ServerWritableStream<WatchInstancesRequest__Output, ProtoInstanceEvent>>();
  let address = '';

  const handlers: NodeAgentHandlers = {
    GetNode(_call, callback) {
      const info: NodeInfo = {
        name: config.name,
        labels: config.labels,
        capacity: { milli_cpu: config.milliCpu, memory_bytes: config.memoryBytes, instances: config.maxInstances },
        address_range: addressRange(config.subnet),
        agent_address: address,
      };
      callback(null, info);
    },
    GetNodePm(_call, callback) {
      callback(null, pm ? pm.view() : { mode: 'NODE_PM_MODE_OFF', writer_limit: 0, calibrated: true, functions: [] });
    },
    GetNodeFlows(_call, callback) {
      callback(null, flows.view());
    },
    StartInstance(call, callback) {
      try {
        callback(null, toProtoInstance(instances.start(call.request)));
      } catch (err) {
        logger.warn({ instance: call.request.instance_name, err: (err as Error).message }, 'start refused');
        callback(toServiceError(err));
      }
    },
    StopInstance(call, callback) {
      const drainTimeoutMs = Number(call.request.drain_timeout_ms) > 0 ? Number(call.request.drain_timeout_ms) : config.drainTimeoutMs;
      instances.stop(call.request.instance_name, drainTimeoutMs).then(
        () => callback(null, {}),
        (err: unknown) => callback(toServiceError(err)),
      );
    },
    WatchInstances(call) {
      // Snapshot and subscription in one synchronous step, so no event falls between them.
      for (const status of instances.list()) call.write(toProtoEvent({ type: 'ADDED', instance: status }));
      call.write({ type: 'EVENT_TYPE_SYNCED' });
      const unsubscribe = instances.subscribe((event) => call.write(toProtoEvent(event)));
      watches.add(call);
      const done = (): void => {
        unsubscribe();
        watches.delete(call);
      };
      call.on('cancelled', done);
      call.on('close', done);
      call.on('error', done);
    },
  };

  const server = new grpc.Server(SERVER_OPTIONS);
  server.addService(loadNodeAgentProto().sluice.nodeagent.v1.NodeAgent.service, handlers);
  if (pm) server.addService(loadPmProto().sluice.pm.v1.PmNode.service, pm.handlers);
  server.addService(loadFlowProto().sluice.flow.v1.FlowProfile.service, flows.handlers);
  let port: number;
  try {
    port = await bindServer(server, `${host}:${config.grpcPort}`);
  } catch (err) {
    await pm?.close();
    throw err;
  }
  address = `${host}:${port}`;

  let metricsServer: MetricsServer | undefined;
  if (config.metricsPort !== 0) {
    try {
      metricsServer = await serveMetrics(metricsRegistry, host, config.metricsPort);
    } catch (err) {
      server.forceShutdown();
      await pm?.close();
      throw err;
    }
  }
  logger.info({ node: config.name, address, addressRange: addressRange(config.subnet) }, 'node agent listening');

  let closing: Promise<void> | undefined;
  return {
    address,
    metricsPort: metricsServer?.port,
    runtime: instances,
    close(drainTimeoutMs?: number) {
      closing ??= (async () => {
        // Instances first, while watchers still hear their DELETED events.
        await instances.stopAll(drainTimeoutMs);
        for (const call of watches) call.end();
        watches.clear();
        await Promise.all([shutdownServer(server), metricsServer?.close()]);
        await pm?.close();
        if (xdtShmDir) removeShmDir(xdtShmDir);
      })();
      return closing;
    },
  };
}
