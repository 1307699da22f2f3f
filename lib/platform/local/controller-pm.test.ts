// The local controller asks every node agent for its PM view before a placement and sends it to the
// scheduler: a real node agent with an emulated PM device, a real one without PM, and a fake agent
// whose GetNodePm never answers (its view is unknown, and the placement goes ahead anyway).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CLIENT_OPTIONS, grpc, loadPmProto } from '../../grpc.js';
import { silentLogger } from '../../logger.js';
import { parseFunctionsYaml } from '../../function-spec.js';
import { startNodeAgent } from '../../../node-agent/service.js';
import { defaultConfig } from '../../../node-agent/config.js';
import { testConfig, unaryCall, waitFor } from '../../../node-agent/fixtures.js';
import { DEFAULT_CONTROLLER_OPTIONS, LocalController } from './controller.js';
import { createNodeAgentClient, createSchedulerClient } from './node-agent-client.js';
import { nodeAgentStandIn, recordingSchedulerStandIn } from './stand-ins.js';

const MIB = 2 ** 20;

test("the controller's scheduling snapshot carries each node's PM view", async (t) => {
  const pmDir = mkdtempSync(path.join(os.tmpdir(), 'sluice-controller-pm-'));
  const withPm = testConfig(205, {
    pm: { ...defaultConfig().pm, mode: 'emulated', writerLimit: 2, dir: pmDir, stateFile: path.join(pmDir, 'profiles.json') },
  });
  const withoutPm = testConfig(206);
  const agentPm = await startNodeAgent(withPm.config, { logger: silentLogger() });
  const agentOff = await startNodeAgent(withoutPm.config, { logger: silentLogger() });
  const hung = await nodeAgentStandIn('node-hung', { pm: undefined, flows: { node: 'node-hung', flows: [], links: [] } });
  const scheduler = await recordingSchedulerStandIn();
  const controller = new LocalController(createSchedulerClient(scheduler.address), silentLogger(), {
    ...DEFAULT_CONTROLLER_OPTIONS,
    // One attempt is enough: no retry while the test looks at it.
    retryDelayMs: 60_000,
  });
  const pmClient = new (loadPmProto().sluice.pm.v1.PmNode)(agentPm.address, grpc.credentials.createInsecure(), CLIENT_OPTIONS);
  t.after(async () => {
    controller.close();
    pmClient.close();
    scheduler.close();
    hung.close();
    await Promise.all([agentPm.close(1_000), agentOff.close(1_000)]);
    withPm.cleanup();
    withoutPm.cleanup();
    rmSync(pmDir, { recursive: true, force: true });
  });

  // Teach the PM node's profiler: "writer" writes 2 MiB per invocation (as its SDK would report).
  for (let i = 0; i < 2; i++) {
    await unaryCall((options, cb) =>
      pmClient.ReportUsage({ namespace: 'default', function: 'writer', invocation_id: `i${i}`, read_bytes: 0, written_bytes: 2 * MIB }, options, cb),
    );
  }
  for (const address of [agentPm.address, agentOff.address, hung.address]) await controller.addNode(createNodeAgentClient(address), 5_000);

  controller.applyFunctions(
    parseFunctionsYaml('apiVersion: sluice.dev/v1alpha1\nkind: Function\nmetadata:\n  name: writer\nspec:\n  container:\n    command: [node, x.js]\n', 'test.yaml'),
  );
  const started = Date.now();
  controller.setScale('default', 'writer', 1);
  const request = await waitFor('the Schedule request', () => scheduler.requests[0]);
  // The hung node costs the placement its short deadline, no more.
  assert.ok(Date.now() - started < DEFAULT_CONTROLLER_OPTIONS.nodeViewTimeoutMs + 1_000, `placement waited ${Date.now() - started} ms`);

  const byNode = Object.fromEntries(request.nodes.map((n) => [n.node!.name, n.pm]));
  assert.deepEqual(byNode[withPm.config.name], {
    mode: 'NODE_PM_MODE_EMULATED',
    writer_limit: 2,
    calibrated: true,
    functions: [{ namespace: 'default', function: 'writer', written_bytes: 2 * MIB, samples: 2 }],
  });
  assert.deepEqual(byNode[withoutPm.config.name], { mode: 'NODE_PM_MODE_OFF', writer_limit: 0, calibrated: true, functions: [] });
  assert.equal(byNode['node-hung'], null, 'a node that did not answer in time has no PM view (unknown)');
});
