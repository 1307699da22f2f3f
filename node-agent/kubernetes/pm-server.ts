// The DaemonSet node agent's gRPC server: the node's PmNode service (queue-proxies ask it for admission, the SDK
// for device timing and usage reports) and the read-only part of the NodeAgent service the scheduler asks before
// each placement (GetNodePm, GetNodeFlows). The instance RPCs answer UNIMPLEMENTED: on Kubernetes the kubelet
// runs the instances and the Node object carries the node's facts.
import { bindServer, grpc, loadNodeAgentProto, loadPmProto, SERVER_OPTIONS, shutdownServer } from '../../lib/grpc.js';
import type { Logger } from '../../lib/logger.js';
import type { NodePm } from '../pm/start.js';
import type { NodeAgentHandlers } from '../../protos/generated/sluice/nodeagent/v1/NodeAgent.js';
import type { NodePm as NodePmView } from '../../protos/generated/sluice/nodeagent/v1/NodePm.js';

export interface PmServer {
  /** host:port the server is bound to. */
  address: string;
  port: number;
  close(): Promise<void>;
}

/** What GetNodePm answers on a node without PM (pm-mode off): placement scores writers lowest there. */
export const NO_PM_VIEW: NodePmView = { mode: 'NODE_PM_MODE_OFF', writer_limit: 0, calibrated: true, functions: [] };

const KUBELET_RUNS_INSTANCES = 'on Kubernetes the kubelet runs instances and the Node object describes the node; this agent serves PmNode, GetNodePm and GetNodeFlows only';

/** The NodeAgent handlers of a DaemonSet agent: PM and flow views for placement, nothing about instances. */
export function daemonNodeAgentHandlers(node: string, pm: NodePm | undefined): NodeAgentHandlers {
  const unimplemented = (method: string): Partial<grpc.ServiceError> => ({ code: grpc.status.UNIMPLEMENTED, details: `NodeAgent.${method}: ${KUBELET_RUNS_INSTANCES}` });
  return {
    GetNodePm(_call, callback) {
      callback(null, pm ? pm.view() : NO_PM_VIEW);
    },
    // XDT flow profiles are not collected on Kubernetes yet: an empty view, as from a node no consumer ran on.
    GetNodeFlows(_call, callback) {
      callback(null, { node, flows: [], links: [] });
    },
    GetNode(_call, callback) {
      callback(unimplemented('GetNode'));
    },
    StartInstance(_call, callback) {
      callback(unimplemented('StartInstance'));
    },
    StopInstance(_call, callback) {
      callback(unimplemented('StopInstance'));
    },
    WatchInstances(call) {
      call.emit('error', unimplemented('WatchInstances'));
    },
  };
}

export async function startPmServer(options: { node: string; host: string; port: number; pm: NodePm | undefined; logger: Logger }): Promise<PmServer> {
  const server = new grpc.Server(SERVER_OPTIONS);
  server.addService(loadNodeAgentProto().sluice.nodeagent.v1.NodeAgent.service, daemonNodeAgentHandlers(options.node, options.pm));
  if (options.pm) server.addService(loadPmProto().sluice.pm.v1.PmNode.service, options.pm.handlers);
  const host = options.host.includes(':') && !options.host.startsWith('[') ? `[${options.host}]` : options.host;
  const port = await bindServer(server, `${host}:${options.port}`);
  const address = `${host}:${port}`;
  options.logger.info({ address, pm: options.pm !== undefined }, 'node agent gRPC listening (PmNode, NodeAgent.GetNodePm, NodeAgent.GetNodeFlows)');
  return { address, port, close: () => shutdownServer(server) };
}
