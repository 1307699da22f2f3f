// What the node agents know on a cluster, asked before each placement as the local platform asks it
// (lib/platform/local/controller.ts pmViews/flowViews): each agent's NodeAgent.GetNodePm (its PM view, for
// pm-writer-spread) and NodeAgent.GetNodeFlows (the XDT flows its consumers reported and its measured inbound link
// costs, for cost-model), both in parallel, over every node, with one short deadline. A node whose agent does not
// answer a call in time, or has no agent, contributes nothing to it: its PM is unknown, its flows are missing, and
// the placement goes ahead without them.
import { CLIENT_OPTIONS, grpc, loadNodeAgentProto } from '../../lib/grpc.js';
import type { Logger } from '../../lib/logger.js';
import type { NodePm } from '../framework.js';
import { nodePmFromProto } from '../proto-convert.js';
import type { NodeAgentClient } from '../../protos/generated/sluice/nodeagent/v1/NodeAgent.js';
import type { NodeFlows__Output } from '../../protos/generated/sluice/nodeagent/v1/NodeFlows.js';
import type { NodePm__Output } from '../../protos/generated/sluice/nodeagent/v1/NodePm.js';

/** The local platform's deadline (lib/platform/local/controller.ts nodeViewTimeoutMs): placement never waits longer on a node. */
export const DEFAULT_NODE_VIEW_TIMEOUT_MS = 250;

export interface NodeAgentViewSet {
  /** node → its PM view, for the nodes whose agent answered GetNodePm in time with a known mode. */
  pm: Map<string, NodePm>;
  /** node → its GetNodeFlows answer, for the nodes whose agent answered in time. */
  flows: Map<string, NodeFlows__Output>;
}

export class NodeAgentViews {
  /** One channel per agent address, kept between placements (a new connection per call would not fit the deadline). */
  private readonly clients = new Map<string, NodeAgentClient>();

  constructor(
    private readonly logger: Logger,
    private readonly timeoutMs = DEFAULT_NODE_VIEW_TIMEOUT_MS,
  ) {}

  /** Asks every agent (node → host:port) both views at once; resolves within the deadline whatever the agents do. */
  async get(targets: ReadonlyMap<string, string>): Promise<NodeAgentViewSet> {
    const wanted = new Set(targets.values());
    for (const [address, client] of this.clients) {
      if (wanted.has(address)) continue;
      client.close();
      this.clients.delete(address);
    }
    const deadline = Date.now() + this.timeoutMs;
    const pm = new Map<string, NodePm>();
    const flowAnswers = new Map<string, NodeFlows__Output>();
    await Promise.all(
      [...targets].flatMap(([node, address]) => {
        const client = this.client(address);
        return [
          ask<NodePm__Output>((cb) => client.GetNodePm({}, { deadline }, cb)).then(
            (view) => {
              const converted = nodePmFromProto(view);
              if (converted) pm.set(node, converted);
            },
            (err: Error) => this.logger.debug({ node, address, err: err.message }, 'no PM view of the node for this placement'),
          ),
          ask<NodeFlows__Output>((cb) => client.GetNodeFlows({}, { deadline }, cb)).then(
            (view) => void flowAnswers.set(node, view),
            (err: Error) => this.logger.debug({ node, address, err: err.message }, 'no flow view of the node for this placement'),
          ),
        ];
      }),
    );
    return { pm, flows: flowAnswers };
  }

  private client(address: string): NodeAgentClient {
    let client = this.clients.get(address);
    if (!client) {
      client = new (loadNodeAgentProto().sluice.nodeagent.v1.NodeAgent)(address, grpc.credentials.createInsecure(), CLIENT_OPTIONS);
      this.clients.set(address, client);
    }
    return client;
  }

  close(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }
}

function ask<Res>(fn: (cb: (err: grpc.ServiceError | null, res?: Res) => void) => void): Promise<Res> {
  return new Promise((resolve, reject) => fn((err, res) => (err ? reject(err) : resolve(res!))));
}
