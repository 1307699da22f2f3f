// The nodes' PM views on a cluster: each node agent's NodeAgent.GetNodePm, asked before a placement as the local
// platform asks it (one cheap call per node, in parallel, with a short deadline). A node whose agent does not
// answer in time, or has no agent, is left out: its PM is unknown and the placement goes ahead without it.
import { CLIENT_OPTIONS, grpc, loadNodeAgentProto } from '../../lib/grpc.js';
import type { Logger } from '../../lib/logger.js';
import type { NodePm } from '../framework.js';
import { nodePmFromProto } from '../proto-convert.js';
import type { NodeAgentClient } from '../../protos/generated/sluice/nodeagent/v1/NodeAgent.js';
import type { NodePm__Output } from '../../protos/generated/sluice/nodeagent/v1/NodePm.js';

/** The local platform's deadline (lib/platform/local/controller.ts pmViewTimeoutMs): placement never waits longer on a node. */
export const DEFAULT_PM_VIEW_TIMEOUT_MS = 250;

export class NodePmViews {
  /** One channel per agent address, kept between placements (a new connection per call would not fit the deadline). */
  private readonly clients = new Map<string, NodeAgentClient>();

  constructor(
    private readonly logger: Logger,
    private readonly timeoutMs = DEFAULT_PM_VIEW_TIMEOUT_MS,
  ) {}

  /** node → its PM view, for the nodes whose agent (node → host:port) answered in time with a known mode. */
  async get(targets: ReadonlyMap<string, string>): Promise<Map<string, NodePm>> {
    const wanted = new Set(targets.values());
    for (const [address, client] of this.clients) {
      if (wanted.has(address)) continue;
      client.close();
      this.clients.delete(address);
    }
    const out = new Map<string, NodePm>();
    await Promise.all(
      [...targets].map(async ([node, address]) => {
        try {
          const view = nodePmFromProto(await this.ask(address));
          if (view) out.set(node, view);
        } catch (err) {
          this.logger.debug({ node, address, err: (err as Error).message }, 'no PM view of the node for this placement');
        }
      }),
    );
    return out;
  }

  private ask(address: string): Promise<NodePm__Output> {
    let client = this.clients.get(address);
    if (!client) {
      client = new (loadNodeAgentProto().sluice.nodeagent.v1.NodeAgent)(address, grpc.credentials.createInsecure(), CLIENT_OPTIONS);
      this.clients.set(address, client);
    }
    const c = client;
    return new Promise((resolve, reject) => c.GetNodePm({}, { deadline: Date.now() + this.timeoutMs }, (err, res) => (err ? reject(err) : resolve(res!))));
  }

  close(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }
}
