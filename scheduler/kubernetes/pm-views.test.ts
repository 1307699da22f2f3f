// NodePmViews against real gRPC servers on loopback: views converted, an agent that never answers (or is not there) unknown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bindServer, grpc, loadNodeAgentProto, SERVER_OPTIONS } from '../../lib/grpc.js';
import { silentLogger } from '../../lib/logger.js';
import { freePort } from '../../lib/net.js';
import { NodePmViews } from './pm-views.js';
import type { NodePm } from '../../protos/generated/sluice/nodeagent/v1/NodePm.js';

async function fakeAgent(answer: (callback: (err: null, view: NodePm) => void) => void): Promise<{ address: string; calls: () => number; close: () => void }> {
  let calls = 0;
  const server = new grpc.Server(SERVER_OPTIONS);
  server.addService(loadNodeAgentProto().sluice.nodeagent.v1.NodeAgent.service, {
    GetNodePm: (_call: unknown, callback: (err: null, view: NodePm) => void) => {
      calls++;
      answer(callback);
    },
  });
  const port = await bindServer(server, '127.0.0.1:0');
  return { address: `127.0.0.1:${port}`, calls: () => calls, close: () => server.forceShutdown() };
}

test('NodePmViews asks every node agent, converts the views and leaves out nodes that do not answer in time', { timeout: 20_000 }, async (t) => {
  const fast = await fakeAgent((cb) =>
    cb(null, { mode: 'NODE_PM_MODE_EMULATED', writer_limit: 3, calibrated: true, functions: [{ namespace: 'default', function: 'pm', written_bytes: 4 * 2 ** 20, samples: 2 }] }),
  );
  const calibrating = await fakeAgent((cb) => cb(null, { mode: 'NODE_PM_MODE_EMULATED', writer_limit: 0, calibrated: false, functions: [] }));
  // Never answers: only the deadline ends the call (without it this test would time out).
  const silent = await fakeAgent(() => undefined);
  const nobody = `127.0.0.1:${await freePort()}`;
  const views = new NodePmViews(silentLogger(), 250);
  t.after(() => {
    views.close();
    for (const a of [fast, calibrating, silent]) a.close();
  });
  const targets = new Map([
    ['node-1', fast.address],
    ['node-2', calibrating.address],
    ['node-3', silent.address],
    ['node-4', nobody],
  ]);
  const got = await views.get(targets);
  assert.deepEqual(Object.fromEntries(got), {
    'node-1': { mode: 'emulated', writerLimit: 3, functions: { 'default/pm': { writtenBytes: 4 * 2 ** 20, samples: 2 } } },
    'node-2': { mode: 'emulated', writerLimit: undefined, functions: {} },
  });
  // The channel is kept: a second placement asks the same agents again.
  await views.get(new Map([['node-1', fast.address]]));
  assert.equal(fast.calls(), 2);
});
