// The XDT flow profile end to end on a real two-node local cluster: the consumer's queue-proxy reports the objects
// it pulled to its node agent, the agent keeps the flow and the measured link cost (GetNodeFlows), the local
// platform hands them to the scheduler, and cost-model places the next consumer instance on its producer's node.
//
// The setup makes the wrong answer the one the other plugins give: the producer is pinned to node-2 and asks for a
// whole CPU, so least-allocated prefers node-1 for anything else, and spread has nothing to say about a function with
// one instance. The consumer's first instance is pinned to node-1 while traffic teaches the flow; then the pin is
// lifted, the instance replaced, and the new one goes to node-2 — by the flow alone. (Run with SLUICE_SCHEDULER_SCORE_WEIGHTS=least-allocated=1,spread=2
// to see it fail.) The cost-model's full scale is set to 0 here: on loopback "nodes" a cross-node pull costs little,
// and this test is about the wiring, not about how much a flow must weigh.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { LocalCluster } from '../../cli/local-cluster.js';
import { createNodeAgentClient, unary } from '../../lib/platform/local/node-agent-client.js';
import type { NodeFlows__Output } from '../../protos/generated/sluice/nodeagent/v1/NodeFlows.js';
import { parseFunctionsYaml } from '../../lib/function-spec.js';
import { eventually, fn, readyCount, startTestCluster } from './cluster-helpers.js';

const MiB = 2 ** 20;
const PRODUCER = fn('flow-producer', 'xdt', '    readinessPath: /healthz\n    resources:\n      cpu: 1000m\n  placement:\n    nodeSelector: { sluice.dev/node: node-2 }\n  scaling:\n    minScale: 1\n');
const CONSUMER_SPEC = '    readinessPath: /healthz\n  scaling:\n    minScale: 1\n    maxScale: 1\n';
const CONSUMER_PINNED = fn('flow-consumer', 'xdt', `${CONSUMER_SPEC}  placement:\n    nodeSelector: { sluice.dev/node: node-1 }\n`);
const CONSUMER = fn('flow-consumer', 'xdt', CONSUMER_SPEC);

let cluster: LocalCluster;

/** Nodes of the consumer's ready instances of `generation` (any when absent). */
function consumerNodes(generation?: number): string[] {
  const status = cluster.controller.functionStatus().find((f) => f.record.name === 'flow-consumer');
  return (status?.instances ?? []).filter((i) => i.phase === 'INSTANCE_PHASE_READY' && (generation === undefined || Number(i.generation) === generation)).map((i) => i.node);
}

async function nodeFlows(node: string): Promise<NodeFlows__Output> {
  const info = cluster.controller.nodeInfos().find((n) => n.name === node);
  assert.ok(info, `no node ${node}`);
  const client = createNodeAgentClient(info.agent_address);
  try {
    return await unary<unknown, NodeFlows__Output>((req, options, cb) => client.GetNodeFlows(req as never, options, cb), {}, 2_000);
  } finally {
    client.close();
  }
}

before(async () => {
  cluster = await startTestCluster(PRODUCER + CONSUMER_PINNED, {
    SLUICE_NODE_AGENT_CPU: '4000',
    SLUICE_SCHEDULER_PLUGIN_ARGS: JSON.stringify({ 'cost-model': { fullScaleSecondsPerSecond: 0 } }),
  });
  assert.ok(await eventually(() => readyCount(cluster, 'flow-producer') === 1 && readyCount(cluster, 'flow-consumer') === 1, 30_000), 'producer and consumer ready');
});

after(async () => {
  await cluster?.stop();
});

test('pulls are reported as a flow with a measured link cost, and the next consumer instance goes to its producer', async (t) => {
  assert.deepEqual(consumerNodes(), ['node-1'], 'precondition: the consumer runs on node-1 while the flow is learnt');
  for (let round = 0; round < 8; round++) {
    const res = await fetch(`${cluster.ingressUrl}/fn/default/flow-producer/produce?to=flow-consumer&bytes=${2 * MiB}&count=3&seed=${round + 1}`);
    const body = (await res.json()) as { results: Array<{ status: number; got: unknown; expected: unknown }> };
    assert.equal(res.status, 200, JSON.stringify(body));
    for (const r of body.results) assert.deepEqual(r.got, r.expected, 'the consumer got the object the producer sent');
  }

  // The consumer's queue-proxy reports about once a second to node-1's agent.
  let view: NodeFlows__Output | undefined;
  assert.ok(
    await eventually(async () => {
      view = await nodeFlows('node-1');
      const edge = view.flows.find((f) => f.producer_function === 'flow-producer' && f.consumer_function === 'flow-consumer');
      return edge !== undefined && Number(edge.bytes_total) >= 24 * 2 * MiB;
    }, 10_000),
    `node-1 never reported the flow: ${JSON.stringify(view)}`,
  );
  const link = view!.links.find((l) => l.from_node === 'node-2' && l.to_node === 'node-1');
  assert.ok(link && link.seconds_per_gib > 0 && link.samples >= 1, `no measured link node-2 → node-1: ${JSON.stringify(view!.links)}`);
  t.diagnostic(`flow ${JSON.stringify(view!.flows)}; link node-2 → node-1: ${link.seconds_per_gib.toFixed(2)} s/GiB over ${link.samples} objects`);

  // Lift the pin (the local platform does not roll instances on a spec change, so scale the consumer down and up):
  // the new instance is scheduled with the flow known.
  const generation = cluster.controller.functionStatus().find((f) => f.record.name === 'flow-consumer')!.record.generation + 1;
  cluster.controller.applyFunctions(parseFunctionsYaml(PRODUCER + CONSUMER, 'flow-placement.yaml'));
  cluster.controller.setScale('default', 'flow-consumer', 0);
  assert.ok(await eventually(() => readyCount(cluster, 'flow-consumer') === 0, 10_000), 'the pinned consumer was not scaled down');
  cluster.controller.setScale('default', 'flow-consumer', 1);
  assert.ok(await eventually(() => consumerNodes(generation).length === 1, 30_000), 'the unpinned consumer did not become ready');
  assert.deepEqual(consumerNodes(generation), ['node-2'], 'the consumer was not placed next to its producer');
});
