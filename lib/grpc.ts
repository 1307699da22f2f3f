// Loads the .proto contracts with @grpc/proto-loader, typed by the generated ProtoGrpcType interfaces.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import path from 'node:path';
import type { ProtoGrpcType as AutoscalerProto } from '../protos/generated/autoscaler.js';
import type { ProtoGrpcType as FlowProto } from '../protos/generated/flow.js';
import type { ProtoGrpcType as NodeAgentProto } from '../protos/generated/node_agent.js';
import type { ProtoGrpcType as PlatformProto } from '../protos/generated/platform.js';
import type { ProtoGrpcType as PmProto } from '../protos/generated/pm.js';
import type { ProtoGrpcType as SchedulerProto } from '../protos/generated/scheduler.js';
import type { ProtoGrpcType as XdtProto } from '../protos/generated/xdt.js';

import { PROTOS_DIR } from './protos-dir.js';
export { PROTOS_DIR };

/** Must match the flags of `npm run gen:protos` so runtime objects have the generated shapes. */
const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTOS_DIR],
};

const cache = new Map<string, unknown>();

function load<T>(file: string): T {
  let loaded = cache.get(file);
  if (!loaded) {
    const def = protoLoader.loadSync(path.join(PROTOS_DIR, file), LOADER_OPTIONS);
    loaded = grpc.loadPackageDefinition(def);
    cache.set(file, loaded);
  }
  return loaded as T;
}

export const loadAutoscalerProto = (): AutoscalerProto => load<AutoscalerProto>('autoscaler.proto');
export const loadFlowProto = (): FlowProto => load<FlowProto>('flow.proto');
export const loadNodeAgentProto = (): NodeAgentProto => load<NodeAgentProto>('node_agent.proto');
export const loadPlatformProto = (): PlatformProto => load<PlatformProto>('platform.proto');
export const loadPmProto = (): PmProto => load<PmProto>('pm.proto');
export const loadSchedulerProto = (): SchedulerProto => load<SchedulerProto>('scheduler.proto');
export const loadXdtProto = (): XdtProto => load<XdtProto>('xdt.proto');

/** Client options shared by every Sluice gRPC client: keepalive so dead peers are noticed. */
export const CLIENT_OPTIONS: grpc.ClientOptions = {
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 2_000,
};

export const SERVER_OPTIONS: grpc.ServerOptions = {
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.http2.min_ping_interval_without_data_ms': 5_000,
};

/** Binds a gRPC server on host:port (port 0 = any) and resolves the bound port. */
export function bindServer(server: grpc.Server, address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, port) => {
      if (err) reject(err);
      else resolve(port);
    });
  });
}

/** Graceful shutdown with a deadline, then force. */
export function shutdownServer(server: grpc.Server, timeoutMs = 2000): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, timeoutMs);
    timer.unref();
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export { grpc };
