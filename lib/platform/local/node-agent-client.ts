// gRPC clients of the node agent and the scheduler, as the local platform controller uses them.
import { CLIENT_OPTIONS, grpc, loadNodeAgentProto, loadSchedulerProto } from '../../grpc.js';
import type { NodeAgentClient } from '../../../protos/generated/sluice/nodeagent/v1/NodeAgent.js';
import type { SchedulerClient } from '../../../protos/generated/sluice/scheduler/v1/Scheduler.js';
import type { NodeInfo__Output } from '../../../protos/generated/sluice/nodeagent/v1/NodeInfo.js';

export type { NodeAgentClient, SchedulerClient };

export function createNodeAgentClient(address: string): NodeAgentClient {
  const proto = loadNodeAgentProto();
  return new proto.sluice.nodeagent.v1.NodeAgent(address, grpc.credentials.createInsecure(), CLIENT_OPTIONS);
}

export function createSchedulerClient(address: string): SchedulerClient {
  const proto = loadSchedulerProto();
  return new proto.sluice.scheduler.v1.Scheduler(address, grpc.credentials.createInsecure(), CLIENT_OPTIONS);
}

/** GetNode with wait-for-ready: resolves once the agent answers, rejects after `timeoutMs`. */
export function getNodeInfo(client: NodeAgentClient, timeoutMs: number): Promise<NodeInfo__Output> {
  return new Promise((resolve, reject) => {
    // grpc-js reads wait-for-ready from the metadata options, not from CallOptions.
    client.GetNode({}, new grpc.Metadata({ waitForReady: true }), { deadline: Date.now() + timeoutMs }, (err, info) => {
      if (err || !info) reject(err ?? new Error('empty GetNode response'));
      else resolve(info);
    });
  });
}

/** Promisified unary call helper. */
export function unary<Req, Res>(
  call: (req: Req, options: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: Res) => void) => unknown,
  req: Req,
  timeoutMs: number,
): Promise<Res> {
  return new Promise((resolve, reject) => {
    call(req, { deadline: Date.now() + timeoutMs }, (err, res) => {
      if (err || res === undefined) reject(err ?? new Error('empty response'));
      else resolve(res);
    });
  });
}
