// PM-writer placement through real processes: node agents with emulated PM report their profiles
// (GetNodePm), the local platform passes them to the scheduler, and pm-writer-spread (in the default
// score weights) puts a predicted writer on the node with fewer writers for its limit.
//
// The setup makes the wrong answer the one the other plugins give: node-1 runs writer "pm-writer-a",
// node-2 runs a non-writer "pm-filler" that takes a quarter of its CPU. For "pm-writer-b",
// least-allocated prefers node-1 (emptier) and spread has nothing to say (no instance of it
// anywhere), so without pm-writer-spread it lands next to the other writer; with it, on node-2.
// (Run with SLUICE_SCHEDULER_SCORE_WEIGHTS=least-allocated=1,spread=2 to see it fail.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { LocalCluster } from '../../cli/local-cluster.js';
import { parseFunctionsYaml } from '../../lib/function-spec.js';
import { eventually, fn, readyCount, startTestCluster } from './cluster-helpers.js';

const MIB = 2 ** 20;
let cluster: LocalCluster;
const stateFile = path.join(os.tmpdir(), `sluice-pm-placement-test-${process.pid}.json`);

const pin = (node: string): string => `  placement:\n    nodeSelector:\n      sluice.dev/node: ${node}\n`;
const minScale1 = '  scaling:\n    minScale: 1\n';
const FILLER = fn('pm-filler', 'hello', `    resources:\n      cpu: 1000m\n${pin('node-2')}${minScale1}`);
const WRITER_A = fn('pm-writer-a', 'pm', `${pin('node-1')}${minScale1}`);
const WRITER_B = fn('pm-writer-b', 'pm', minScale1);

/** A profile as the node's profiler saves it (profile-store.ts): `writtenBytes` per invocation over 10 reports. */
function savedProfile(writtenBytes: number) {
  return { readBytes: 0, writtenBytes, usageSamples: 10, durationMs: 50, durationSamples: 10, sensitivity: 0, fit: [0, 0, 0, 0, 0] };
}

function nodesOf(name: string): string[] {
  return (cluster.controller.functionStatus().find((f) => f.record.name === name)?.instances ?? []).map((i) => i.node).sort();
}

before(async () => {
  // What the nodes learnt earlier (both read the same saved state): the two writers write 4 MiB per
  // invocation, the filler nothing. The test does not depend on invocations to teach them.
  writeFileSync(
    stateFile,
    JSON.stringify({
      version: 1,
      functions: { 'default/pm-writer-a': savedProfile(4 * MIB), 'default/pm-writer-b': savedProfile(4 * MIB), 'default/pm-filler': savedProfile(0) },
    }),
  );
  cluster = await startTestCluster(
    FILLER + WRITER_A,
    {
      SLUICE_NODE_AGENT_PM_MODE: 'emulated',
      // Fixed, so no calibration sweep is waited for.
      SLUICE_NODE_AGENT_PM_WRITER_LIMIT: '2',
      SLUICE_NODE_AGENT_PM_STATE_FILE: stateFile,
      SLUICE_NODE_AGENT_CPU: '4000',
    },
    2,
  );
  assert.ok(await eventually(() => readyCount(cluster, 'pm-filler') === 1 && readyCount(cluster, 'pm-writer-a') === 1, 20_000), 'filler and writer a ready');
});

after(async () => {
  await cluster?.stop();
  rmSync(stateFile, { force: true });
});

test('a predicted PM writer is placed away from the node that already runs one', async () => {
  assert.deepEqual(nodesOf('pm-writer-a'), ['node-1']);
  assert.deepEqual(nodesOf('pm-filler'), ['node-2']);
  // Placed only now, so its placement sees both instances above.
  cluster.controller.applyFunctions(parseFunctionsYaml(FILLER + WRITER_A + WRITER_B, 'test-functions.yaml'));
  assert.ok(await eventually(() => readyCount(cluster, 'pm-writer-b') === 1, 20_000), 'writer b ready');
  assert.deepEqual(nodesOf('pm-writer-b'), ['node-2'], 'writer b next to the filler, not next to writer a');
});
