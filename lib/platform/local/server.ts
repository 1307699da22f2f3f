// gRPC server of the local platform API (protos/platform.proto) over a LocalController.
import { bindServer, grpc, loadPlatformProto, SERVER_OPTIONS, shutdownServer } from '../../grpc.js';
import type { LocalController } from './controller.js';
import type { FunctionEndpoints, FunctionRecord } from '../types.js';
import type { LocalPlatformHandlers } from '../../../protos/generated/sluice/platform/v1/LocalPlatform.js';
import type { FunctionEvent } from '../../../protos/generated/sluice/platform/v1/FunctionEvent.js';
import type { Endpoints } from '../../../protos/generated/sluice/platform/v1/Endpoints.js';

const EVENT_TYPE = { added: 'EVENT_TYPE_ADDED', modified: 'EVENT_TYPE_MODIFIED', deleted: 'EVENT_TYPE_DELETED' } as const;

function functionMessage(type: keyof typeof EVENT_TYPE, fn: FunctionRecord): FunctionEvent {
  return { type: EVENT_TYPE[type], namespace: fn.namespace, name: fn.name, spec_json: JSON.stringify(fn.definition), generation: fn.generation };
}

function endpointsMessage(e: FunctionEndpoints): Endpoints {
  return {
    namespace: e.namespace,
    function: e.function,
    deleted: e.deleted,
    ready: e.ready.map((r) => ({ instance_name: r.instanceName, node: r.node, ip: r.ip, traffic_port: r.trafficPort })),
  };
}

export interface LocalPlatformServer {
  port: number;
  close(): Promise<void>;
}

/** Serves the platform API; `ingressUrl` and `domain` feed GetStatus. */
export async function startLocalPlatformServer(
  controller: LocalController,
  address: string,
  info: { ingressUrl: string },
): Promise<LocalPlatformServer> {
  const proto = loadPlatformProto();
  const server = new grpc.Server(SERVER_OPTIONS);
  const handlers: LocalPlatformHandlers = {
    WatchFunctions(call) {
      for (const fn of controller.functionRecords()) call.write(functionMessage('added', fn));
      call.write({ type: 'EVENT_TYPE_SYNCED' });
      const listener = (e: { type: keyof typeof EVENT_TYPE; fn: FunctionRecord }): void => {
        call.write(functionMessage(e.type, e.fn));
      };
      controller.on('function', listener);
      call.on('cancelled', () => controller.off('function', listener));
      call.on('close', () => controller.off('function', listener));
    },
    WatchEndpoints(call) {
      for (const e of controller.allEndpoints()) call.write(endpointsMessage(e));
      call.write({ synced: true });
      const listener = (e: FunctionEndpoints): void => {
        call.write(endpointsMessage(e));
      };
      controller.on('endpoints', listener);
      call.on('cancelled', () => controller.off('endpoints', listener));
      call.on('close', () => controller.off('endpoints', listener));
    },
    SetScale(call, callback) {
      const { namespace, function: name, desired_scale } = call.request;
      if (desired_scale < 0) {
        callback({ code: grpc.status.INVALID_ARGUMENT, details: `desired_scale ${desired_scale} must be >= 0` });
        return;
      }
      if (!controller.setScale(namespace, name, desired_scale)) {
        callback({ code: grpc.status.NOT_FOUND, details: `function ${namespace}/${name} not found` });
        return;
      }
      callback(null, { desired_scale });
    },
    GetStatus(_call, callback) {
      callback(null, {
        ingress_url: info.ingressUrl,
        nodes: controller.nodeInfos(),
        functions: controller.functionStatus().map((f) => ({
          namespace: f.record.namespace,
          name: f.record.name,
          desired_scale: f.desired,
          ready: f.ready,
          instances: f.instances,
          url: `${info.ingressUrl}/fn/${f.record.namespace}/${f.record.name}/`,
          problem: f.problem ?? '',
        })),
      });
    },
  };
  server.addService(proto.sluice.platform.v1.LocalPlatform.service, handlers);
  const port = await bindServer(server, address);
  return { port, close: () => shutdownServer(server, 1_000) };
}
