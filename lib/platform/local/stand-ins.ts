// Test stand-ins for the local controller's peers (used by its tests only): a scheduler that records each
// request and places nothing, and a node agent with no instances whose views are what the test gives.
import { bindServer, grpc, loadNodeAgentProto, loadSchedulerProto, SERVER_OPTIONS } from '../../grpc.js';
import type { NodeAgentHandlers } from '../../../protos/generated/sluice/nodeagent/v1/NodeAgent.js';
import type { NodeFlows__Output } from '../../../protos/generated/sluice/nodeagent/v1/NodeFlows.js';
import type { NodePm } from '../../../protos/generated/sluice/nodeagent/v1/NodePm.js';
import type { ScheduleRequest__Output } from '../../../protos/generated/sluice/scheduler/v1/ScheduleRequest.js';
import type { SchedulerHandlers } from '../../../protos/generated/sluice/scheduler/v1/Scheduler.js';

export interface StandIn {
  address: string;
  close(): void;
}

async function serve(add: (server: grpc.Server) => void): Promise<StandIn> {
  const server = new grpc.Server(SERVER_OPTIONS);
  add(server);
  const port = await bindServer(server, '127.0.0.1:0');
  return { address: `127.0.0.1:${port}`, close: () => server.forceShutdown() };
}

/** A scheduler stand-in that records each request and answers UNSCHEDULABLE. */
export async function recordingSchedulerStandIn(): Promise<StandIn & { requests: ScheduleRequest__Output[] }> {
  const requests: ScheduleRequest__Output[] = [];
  const handlers: SchedulerHandlers = {
    Schedule(call, callback) {
      requests.push(call.request);
      callback(null, { code: 'SCHEDULE_CODE_UNSCHEDULABLE', message: 'recorded by the test' });
    },
  };
  const standIn = await serve((server) => server.addService(loadSchedulerProto().sluice.scheduler.v1.Scheduler.service, handlers));
  return { ...standIn, requests };
}

/**
 * A node agent stand-in: describes itself as `name`, lists no instances, and answers GetNodePm and
 * GetNodeFlows with the given views; a view given as undefined is never answered (a hung agent).
 */
export function nodeAgentStandIn(name: string, views: { pm: NodePm | undefined; flows: NodeFlows__Output | undefined }): Promise<StandIn> {
  const handlers: Partial<NodeAgentHandlers> = {
    GetNode: (_call, callback) =>
      callback(null, { name, labels: {}, capacity: { milli_cpu: 1000, memory_bytes: 2 ** 30, instances: 10 }, address_range: '', agent_address: '' }),
    WatchInstances: (call) => call.write({ type: 'EVENT_TYPE_SYNCED' }),
    GetNodePm: (_call, callback) => {
      if (views.pm) callback(null, views.pm);
    },
    GetNodeFlows: (_call, callback) => {
      if (views.flows) callback(null, views.flows);
    },
  };
  return serve((server) => server.addService(loadNodeAgentProto().sluice.nodeagent.v1.NodeAgent.service, handlers as NodeAgentHandlers));
}
