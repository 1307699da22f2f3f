// The DaemonSet agent's gRPC server on loopback: PmNode, FlowProfile and the NodeAgent views the scheduler asks, instance RPCs refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { CLIENT_OPTIONS, grpc, loadFlowProto, loadNodeAgentProto, loadPmProto } from '../../lib/grpc.js';
import { silentLogger } from '../../lib/logger.js';
import { defaultConfig } from '../config.js';
import { createFlowProfile } from '../flows/service.js';
import { startNodePm } from '../pm/start.js';
import { startPmServer } from './pm-server.js';
import type { NodeAgentClient } from '../../protos/generated/sluice/nodeagent/v1/NodeAgent.js';
import type { PmNodeClient } from '../../protos/generated/sluice/pm/v1/PmNode.js';
import type { FlowProfileClient } from '../../protos/generated/sluice/flow/v1/FlowProfile.js';
import type { NodeFlows__Output } from '../../protos/generated/sluice/nodeagent/v1/NodeFlows.js';

function call<Res>(fn: (cb: (err: grpc.ServiceError | null, res?: Res) => void) => void): Promise<Res> {
  return new Promise((resolve, reject) => fn((err, res) => (err ? reject(err) : resolve(res!))));
}

const deadline = () => ({ deadline: Date.now() + 5_000 });

test('serves PmNode and GetNodePm/GetNodeFlows; the instance RPCs answer UNIMPLEMENTED', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-daemon-pm-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const logger = silentLogger();
  const pm = await startNodePm(
    { ...defaultConfig().pm, mode: 'plain', writerLimit: 2, dir: path.join(dir, 'node-a'), stateFile: path.join(dir, 'state', 'node-a.json') },
    { node: 'node-a', logger, registry: new Registry() },
  );
  assert.ok(pm);
  const flows = createFlowProfile({ node: 'node-a', registry: new Registry(), logger });
  const server = await startPmServer({ host: '127.0.0.1', port: 0, pm, flows, logger });
  const agent: NodeAgentClient = new (loadNodeAgentProto().sluice.nodeagent.v1.NodeAgent)(server.address, grpc.credentials.createInsecure(), CLIENT_OPTIONS);
  const pmClient: PmNodeClient = new (loadPmProto().sluice.pm.v1.PmNode)(server.address, grpc.credentials.createInsecure(), CLIENT_OPTIONS);
  t.after(async () => {
    agent.close();
    pmClient.close();
    await server.close();
    await pm.close();
  });
  await pm.calibrated;

  const info = await call<{ mode: string; writer_limit: number; dir: string }>((cb) => pmClient.GetPmInfo({}, deadline(), cb));
  assert.deepEqual([info.mode, info.writer_limit, info.dir], ['PM_MODE_PLAIN', 2, path.join(dir, 'node-a')]);
  await call((cb) => pmClient.ReportUsage({ namespace: 'default', function: 'pm', written_bytes: 4 * 2 ** 20, read_bytes: 0 }, deadline(), cb));

  const view = await call<{ mode: string; writer_limit: number; calibrated: boolean; functions: Array<{ function: string; written_bytes: number; samples: number }> }>((cb) =>
    agent.GetNodePm({}, deadline(), cb),
  );
  assert.deepEqual(
    [view.mode, view.writer_limit, view.calibrated, view.functions.map((f) => [f.function, f.written_bytes, f.samples])],
    ['NODE_PM_MODE_PLAIN', 2, true, [['pm', 4 * 2 ** 20, 1]]],
  );
  assert.deepEqual(await call((cb) => agent.GetNodeFlows({}, deadline(), cb)), { node: 'node-a', flows: [], links: [] });

  for (const [method, request] of [
    ['GetNode', {}],
    ['StartInstance', { instance_name: 'x' }],
    ['StopInstance', { instance_name: 'x' }],
  ] as const) {
    await assert.rejects(
      call((cb) => (agent[method] as (r: unknown, o: unknown, c: unknown) => void)(request, deadline(), cb)),
      (err: grpc.ServiceError) => err.code === grpc.status.UNIMPLEMENTED && /kubelet runs instances/.test(err.details),
      method,
    );
  }
  const watch = agent.WatchInstances({}, deadline());
  const status = await new Promise<grpc.ServiceError>((resolve) => watch.on('error', resolve));
  assert.equal(status.code, grpc.status.UNIMPLEMENTED);
});

test('without PM (pm-mode off) GetNodePm says off and PmNode is not served; the flow profile still is', async (t) => {
  const logger = silentLogger();
  const flows = createFlowProfile({ node: 'node-b', halfLifeMs: 60_000, now: () => 0, registry: new Registry(), logger });
  const server = await startPmServer({ host: '127.0.0.1', port: 0, pm: undefined, flows, logger });
  const agent: NodeAgentClient = new (loadNodeAgentProto().sluice.nodeagent.v1.NodeAgent)(server.address, grpc.credentials.createInsecure(), CLIENT_OPTIONS);
  const pmClient: PmNodeClient = new (loadPmProto().sluice.pm.v1.PmNode)(server.address, grpc.credentials.createInsecure(), CLIENT_OPTIONS);
  const flowClient: FlowProfileClient = new (loadFlowProto().sluice.flow.v1.FlowProfile)(server.address, grpc.credentials.createInsecure(), CLIENT_OPTIONS);
  t.after(async () => {
    agent.close();
    pmClient.close();
    flowClient.close();
    await server.close();
  });
  const view = await call<{ mode: string; calibrated: boolean }>((cb) => agent.GetNodePm({}, deadline(), cb));
  assert.deepEqual([view.mode, view.calibrated], ['NODE_PM_MODE_OFF', true]);
  await assert.rejects(
    call((cb) => pmClient.GetPmInfo({}, deadline(), cb)),
    (err: grpc.ServiceError) => err.code === grpc.status.UNIMPLEMENTED,
  );

  // A consumer queue-proxy's report, on the same server; GetNodeFlows then serves the table (clock fixed: exact rates).
  await call((cb) =>
    flowClient.ReportFlows(
      {
        namespace: 'default',
        function: 'consumer',
        node: 'node-b',
        samples: [{ producer_function: 'producer', producer_node: 'node-a', path: 'TRANSFER_PATH_TCP', objects: 2, bytes: 2 ** 21, transfer_seconds: 0.01, cost_bytes: 2 ** 21 }],
      },
      deadline(),
      cb,
    ),
  );
  const flowView = await call<NodeFlows__Output>((cb) => agent.GetNodeFlows({}, deadline(), cb));
  assert.deepEqual(flowView, {
    node: 'node-b',
    flows: [{ namespace: 'default', producer_function: 'producer', consumer_function: 'consumer', bytes_per_second: (2 ** 21 * Math.LN2) / 60, bytes_total: 2 ** 21 }],
    links: [{ from_node: 'node-a', to_node: 'node-b', seconds_per_gib: (0.01 / 2 ** 21) * 2 ** 30, samples: 2 }],
  });
  // A report that names no consumer is refused, as by the local agent.
  await assert.rejects(
    call((cb) => flowClient.ReportFlows({ namespace: 'default', function: '', samples: [] }, deadline(), cb)),
    (err: grpc.ServiceError) => err.code === grpc.status.INVALID_ARGUMENT,
  );
});
