// The local controller asks every node agent for its XDT flows and link costs before a placement (in
// parallel with the PM views, same deadline), merges them and sends them to the scheduler: two stand-in
// node agents that report flows (the real flow table is being built elsewhere), a real node agent
// (no flows yet), and a fake agent that never answers GetNodeFlows (it contributes nothing, and the
// placement goes ahead anyway).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../logger.js';
import { parseFunctionsYaml } from '../../function-spec.js';
import { startNodeAgent } from '../../../node-agent/service.js';
import { testConfig, waitFor } from '../../../node-agent/fixtures.js';
import { DEFAULT_CONTROLLER_OPTIONS, LocalController, mergeNodeFlows } from './controller.js';
import { createNodeAgentClient, createSchedulerClient } from './node-agent-client.js';
import { nodeAgentStandIn, recordingSchedulerStandIn } from './stand-ins.js';

const PM_OFF = { mode: 'NODE_PM_MODE_OFF' as const, writer_limit: 0, calibrated: true, functions: [] };
import type { NodeFlows__Output } from '../../../protos/generated/sluice/nodeagent/v1/NodeFlows.js';
import type { XdtFlow__Output } from '../../../protos/generated/sluice/nodeagent/v1/XdtFlow.js';
import type { LinkCost__Output } from '../../../protos/generated/sluice/nodeagent/v1/LinkCost.js';

function edge(producer: string, consumer: string, bytesPerSecond: number, bytesTotal: number, namespace = 'default'): XdtFlow__Output {
  return { namespace, producer_function: producer, consumer_function: consumer, bytes_per_second: bytesPerSecond, bytes_total: bytesTotal };
}

function linkCost(from: string, to: string, secondsPerGiB: number, samples = 3): LinkCost__Output {
  return { from_node: from, to_node: to, seconds_per_gib: secondsPerGiB, samples };
}

test('mergeNodeFlows sums edges by (namespace, producer, consumer) and concatenates links', () => {
  const rows: Array<{ name: string; views: NodeFlows__Output[]; want: ReturnType<typeof mergeNodeFlows> }> = [
    { name: 'no answers', views: [], want: { flows: [], link_costs: [] } },
    { name: 'empty answers', views: [{ node: 'a', flows: [], links: [] }], want: { flows: [], link_costs: [] } },
    {
      name: 'one edge seen by consumers on two nodes is summed; other edges stay apart',
      views: [
        { node: 'a', flows: [edge('p', 'c', 100, 1000), edge('p', 'd', 5, 50)], links: [linkCost('b', 'a', 8), linkCost('a', 'a', 0.4)] },
        { node: 'b', flows: [edge('p', 'c', 300, 2000), edge('p', 'c', 7, 70, 'other')], links: [linkCost('a', 'b', 9)] },
      ],
      want: {
        flows: [edge('p', 'c', 400, 3000), edge('p', 'd', 5, 50), edge('p', 'c', 7, 70, 'other')],
        link_costs: [linkCost('b', 'a', 8), linkCost('a', 'a', 0.4), linkCost('a', 'b', 9)],
      },
    },
    {
      name: 'an empty namespace is default; junk edges are not summed into good ones',
      views: [
        { node: 'a', flows: [edge('p', 'c', 100, 1000, '')], links: [] },
        { node: 'b', flows: [edge('p', 'c', -50, 10), edge('p', 'c', Number.NaN, 10), edge('', 'c', 9, 9), edge('p', 'c', 1, -1)], links: [] },
      ],
      want: { flows: [edge('p', 'c', 100, 1000)], link_costs: [] },
    },
  ];
  for (const row of rows) assert.deepEqual(mergeNodeFlows(row.views), row.want, row.name);
});

test("the controller's scheduling request carries the nodes' merged flows and link costs", async (t) => {
  const real = testConfig(207);
  const agent = await startNodeAgent(real.config, { logger: silentLogger() });
  const flowsOne = await nodeAgentStandIn('stand-in-flows-1', { pm: PM_OFF, flows: {
    node: 'stand-in-flows-1',
    flows: [edge('p', 'c', 1_000_000, 60_000_000)],
    links: [linkCost('stand-in-flows-2', 'stand-in-flows-1', 8.5), linkCost('stand-in-flows-1', 'stand-in-flows-1', 0.3)],
  } });
  const flowsTwo = await nodeAgentStandIn('stand-in-flows-2', { pm: PM_OFF, flows: {
    node: 'stand-in-flows-2',
    flows: [edge('p', 'c', 3_000_000, 40_000_000), edge('c', 'sink', 10, 100)],
    links: [linkCost('stand-in-flows-1', 'stand-in-flows-2', 9)],
  } });
  const hung = await nodeAgentStandIn('stand-in-hung', { pm: PM_OFF, flows: undefined });
  const scheduler = await recordingSchedulerStandIn();
  const controller = new LocalController(createSchedulerClient(scheduler.address), silentLogger(), {
    ...DEFAULT_CONTROLLER_OPTIONS,
    // One attempt is enough: no retry while the test looks at it.
    retryDelayMs: 60_000,
  });
  t.after(async () => {
    controller.close();
    scheduler.close();
    flowsOne.close();
    flowsTwo.close();
    hung.close();
    await agent.close(1_000);
    real.cleanup();
  });

  for (const address of [flowsOne.address, agent.address, flowsTwo.address, hung.address]) await controller.addNode(createNodeAgentClient(address), 5_000);
  controller.applyFunctions(
    parseFunctionsYaml('apiVersion: sluice.dev/v1alpha1\nkind: Function\nmetadata:\n  name: c\nspec:\n  container:\n    command: [node, x.js]\n', 'test.yaml'),
  );
  const started = Date.now();
  controller.setScale('default', 'c', 1);
  const request = await waitFor('the Schedule request', () => scheduler.requests[0]);
  // The hung node costs the placement the short deadline once (flows and PM are asked in parallel), no more.
  assert.ok(Date.now() - started < DEFAULT_CONTROLLER_OPTIONS.nodeViewTimeoutMs + 1_000, `placement waited ${Date.now() - started} ms`);

  assert.equal(request.nodes.length, 4, 'every node is in the snapshot, answering or not');
  assert.deepEqual(request.flows, [edge('p', 'c', 4_000_000, 100_000_000), edge('c', 'sink', 10, 100)]);
  assert.deepEqual(request.link_costs, [
    linkCost('stand-in-flows-2', 'stand-in-flows-1', 8.5),
    linkCost('stand-in-flows-1', 'stand-in-flows-1', 0.3),
    linkCost('stand-in-flows-1', 'stand-in-flows-2', 9),
  ]);
});

test('with node agents that report no flows, the request has none', async (t) => {
  const real = testConfig(207);
  const agent = await startNodeAgent(real.config, { logger: silentLogger() });
  const scheduler = await recordingSchedulerStandIn();
  const controller = new LocalController(createSchedulerClient(scheduler.address), silentLogger(), { ...DEFAULT_CONTROLLER_OPTIONS, retryDelayMs: 60_000 });
  t.after(async () => {
    controller.close();
    scheduler.close();
    await agent.close(1_000);
    real.cleanup();
  });
  await controller.addNode(createNodeAgentClient(agent.address), 5_000);
  controller.applyFunctions(
    parseFunctionsYaml('apiVersion: sluice.dev/v1alpha1\nkind: Function\nmetadata:\n  name: c\nspec:\n  container:\n    command: [node, x.js]\n', 'test.yaml'),
  );
  controller.setScale('default', 'c', 1);
  const request = await waitFor('the Schedule request', () => scheduler.requests[0]);
  assert.deepEqual([request.flows, request.link_costs], [[], []]);
});
