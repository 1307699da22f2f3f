// The DaemonSet node agent's gRPC server: the node's PmNode service (queue-proxies ask it for admission, the SDK
// for device timing and usage reports), its FlowProfile service (consumer queue-proxies report the XDT pulls they
// finished, node-agent/flows/) and the read-only part of the NodeAgent service the scheduler asks before each
// placement (GetNodePm, GetNodeFlows). The instance RPCs answer UNIMPLEMENTED: on Kubernetes the kubelet runs the
// instances and the Node object carries the node's facts.
import { bindServer, grpc, loadFlowProto, loadNodeAgentProto, loadPmProto, SERVER_OPTIONS, shutdownServer } from '../../lib/grpc.js';
import type { Logger } from '../../lib/logger.js';
import type { FlowProfile } from '../flows/service.js';
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

const KUBELET_RUNS_INSTANCES = 'on Kubernetes the kubelet runs instances and the Node object describes the node; this agent serves PmNode, FlowProfile, GetNodePm and GetNodeFlows only';

/** The NodeAgent handlers of a DaemonSet agent: PM and flow views for placement, nothing about instances. */
export function daemonNodeAgentHandlers(pm: NodePm | undefined, flows: FlowProfile): NodeAgentHandlers {
  const unimplemented = (method: string): Partial<grpc.ServiceError> => ({ code: grpc.status.UNIMPLEMENTED, details: `NodeAgent.${method}: ${KUBELET_RUNS_INSTANCES}` });
  return {
    GetNodePm(_call, callback) {
      callback(null, pm ? pm.view() : NO_PM_VIEW);
    },
    // What this node's consumer queue-proxies reported (FlowProfile.ReportFlows on this same server), as locally.
    GetNodeFlows(_call, callback) {
      callback(null, flows.view());
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

export interface PmServerOptions {
  host: string;
  port: number;
  /** The node's PM; undefined with pm-mode off (GetNodePm says off, PmNode is not served). */
  pm: NodePm | undefined;
  /** The node's flow table (node-agent/flows/service.ts createFlowProfile): FlowProfile and GetNodeFlows. Always on. */
  flows: FlowProfile;
  logger: Logger;
}

export async function startPmServer(options: PmServerOptions): Promise<PmServer> {
  const server = new grpc.Server(SERVER_OPTIONS);
  server.addService(loadNodeAgentProto().sluice.nodeagent.v1.NodeAgent.service, daemonNodeAgentHandlers(options.pm, options.flows));
  if (options.pm) server.addService(loadPmProto().sluice.pm.v1.PmNode.service, options.pm.handlers);
  server.addService(loadFlowProto().sluice.flow.v1.FlowProfile.service, options.flows.handlers);
  const host = options.host.includes(':') && !options.host.startsWith('[') ? `[${options.host}]` : options.host;
  const port = await bindServer(server, `${host}:${options.port}`);
  const address = `${host}:${port}`;
  options.logger.info({ address, pm: options.pm !== undefined }, 'node agent gRPC listening (PmNode, FlowProfile, NodeAgent.GetNodePm, NodeAgent.GetNodeFlows)');
  return { address, port, close: () => shutdownServer(server) };
}
