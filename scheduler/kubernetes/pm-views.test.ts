// NodeAgentViews against real gRPC servers on loopback: PM views converted and flow answers kept, an agent that never
// answers (or is not there) contributing nothing, both calls asked at once under one deadline.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bindServer, grpc, loadNodeAgentProto, SERVER_OPTIONS } from '../../lib/grpc.js';
import { silentLogger } from '../../lib/logger.js';
import { freePort } from '../../lib/net.js';
import { NodeAgentViews } from './pm-views.js';
import type { NodeFlows } from '../../protos/generated/sluice/nodeagent/v1/NodeFlows.js';
import type { NodePm } from '../../protos/generated/sluice/nodeagent/v1/NodePm.js';

type Answer<T> = ((callback: (err: grpc.ServiceError | null, view?: T) => void) => void) | undefined;

/** An agent whose GetNodePm / GetNodeFlows answer as told (undefined: the method is not served, UNIMPLEMENTED). */
async function fakeAgent(pm: Answer<NodePm>, flows: Answer<NodeFlows> = undefined): Promise<{ address: string; calls: () => Record<string, number>; close: () => void }> {
  const calls = { pm: 0, flows: 0 };
  const server = new grpc.Server(SERVER_OPTIONS);
  const handlers: grpc.UntypedServiceImplementation = {};
  if (pm) {
    handlers.GetNodePm = (_call: unknown, callback: (err: grpc.ServiceError | null, view?: NodePm) => void) => {
      calls.pm++;
      pm(callback);
    };
  }
  if (flows) {
    handlers.GetNodeFlows = (_call: unknown, callback: (err: grpc.ServiceError | null, view?: NodeFlows) => void) => {
      calls.flows++;
      flows(callback);
    };
  }
  server.addService(loadNodeAgentProto().sluice.nodeagent.v1.NodeAgent.service, handlers);
  const port = await bindServer(server, '127.0.0.1:0');
  return { address: `127.0.0.1:${port}`, calls: () => ({ ...calls }), close: () => server.forceShutdown() };
}

const FLOWS_1: NodeFlows = {
  node: 'node-1',
  flows: [{ namespace: 'default', producer_function: 'p', consumer_function: 'c', bytes_per_second: 1_000, bytes_total: 60_000 }],
  links: [{ from_node: 'node-2', to_node: 'node-1', seconds_per_gib: 8, samples: 4 }],
};

test('NodeAgentViews asks every node agent for both views, converts PM and leaves out nodes that do not answer in time', { timeout: 20_000 }, async (t) => {
  const fast = await fakeAgent(
    (cb) => cb(null, { mode: 'NODE_PM_MODE_EMULATED', writer_limit: 3, calibrated: true, functions: [{ namespace: 'default', function: 'pm', written_bytes: 4 * 2 ** 20, samples: 2 }] }),
    (cb) => cb(null, FLOWS_1),
  );
  // An agent of before flows were served (UNIMPLEMENTED): its PM view still counts.
  const calibrating = await fakeAgent((cb) => cb(null, { mode: 'NODE_PM_MODE_EMULATED', writer_limit: 0, calibrated: false, functions: [] }));
  // Never answers: only the deadline ends the calls (without it this test would time out).
  const silent = await fakeAgent(() => undefined, () => undefined);
  // Answers flows but fails PM: each call counts on its own.
  const flowsOnly = await fakeAgent((cb) => cb({ code: grpc.status.UNAVAILABLE, details: 'restarting' } as grpc.ServiceError), (cb) => cb(null, { node: 'node-5', flows: [], links: [] }));
  const nobody = `127.0.0.1:${await freePort()}`;
  const views = new NodeAgentViews(silentLogger(), 250);
  t.after(() => {
    views.close();
    for (const a of [fast, calibrating, silent, flowsOnly]) a.close();
  });
  const targets = new Map([
    ['node-1', fast.address],
    ['node-2', calibrating.address],
    ['node-3', silent.address],
    ['node-4', nobody],
    ['node-5', flowsOnly.address],
  ]);
  const started = performance.now();
  const got = await views.get(targets);
  const ms = performance.now() - started;
  assert.deepEqual(Object.fromEntries(got.pm), {
    'node-1': { mode: 'emulated', writerLimit: 3, functions: { 'default/pm': { writtenBytes: 4 * 2 ** 20, samples: 2 } } },
    'node-2': { mode: 'emulated', writerLimit: undefined, functions: {} },
  });
  assert.deepEqual(Object.fromEntries(got.flows), { 'node-1': FLOWS_1, 'node-5': { node: 'node-5', flows: [], links: [] } });
  // One deadline for both calls of every node, asked in parallel: about 250 ms (loose bound: a busy machine).
  assert.ok(ms < 1_500, `views took ${ms.toFixed(0)} ms`);
  assert.deepEqual(silent.calls(), { pm: 1, flows: 1 });
  // The channel is kept: a second placement asks the same agents again.
  await views.get(new Map([['node-1', fast.address]]));
  assert.deepEqual(fast.calls(), { pm: 2, flows: 2 });
});
