// PM-write admission through real processes: node agent (emulated device), queue-proxies, functions writing PM files.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { LocalCluster } from '../../cli/local-cluster.js';
import { fn, startTestCluster } from './cluster-helpers.js';

const WRITER_LIMIT = 2;
const MIB = 2 ** 20;
let cluster: LocalCluster;
const stateFile = path.join(os.tmpdir(), `sluice-pm-test-${process.pid}.json`);

interface Answer {
  written: number;
  startedAt: number;
  endedAt: number;
  ms: number;
}

async function call(name: string, query: string): Promise<{ status: number; answer: Answer; wallMs: number }> {
  const started = performance.now();
  const res = await fetch(`${cluster.ingressUrl}/fn/default/${name}/write?${query}`);
  const text = await res.text();
  assert.equal(res.status, 200, text);
  return { status: res.status, answer: JSON.parse(text) as Answer, wallMs: performance.now() - started };
}

/** Most intervals open at any one time. */
function maxOverlap(intervals: Array<[number, number]>): number {
  const edges = intervals.flatMap(([a, b]) => [[a, 1] as const, [b, -1] as const]).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  let open = 0;
  let max = 0;
  for (const [, d] of edges) max = Math.max(max, (open += d));
  return max;
}

before(async () => {
  cluster = await startTestCluster(
    [
      fn('pm-writer', 'pm', '  scaling:\n    minScale: 1\n'),
      fn('pm-light', 'pm', '  scaling:\n    minScale: 1\n'),
    ].join(''),
    {
      SLUICE_NODE_AGENT_PM_MODE: 'emulated',
      // Fixed, so the test does not wait for a calibration sweep; calibration has its own tests.
      SLUICE_NODE_AGENT_PM_WRITER_LIMIT: String(WRITER_LIMIT),
      SLUICE_NODE_AGENT_PM_STATE_FILE: stateFile,
    },
    1,
  );
  // Teach the node's profiler: pm-writer writes, pm-light does not.
  for (let i = 0; i < 2; i++) {
    await call('pm-writer', `bytes=${2 * MIB}`);
    await call('pm-light', 'bytes=0');
  }
});

after(async () => {
  await cluster?.stop();
  rmSync(stateFile, { force: true });
});

test('concurrent writers run at most the writer limit at a time, and every one completes', async () => {
  const answers = await Promise.all(Array.from({ length: 8 }, () => call('pm-writer', `bytes=${4 * MIB}`)));
  assert.ok(answers.every((a) => a.answer.written === 4 * MIB));
  const overlap = maxOverlap(answers.map((a) => [a.answer.startedAt, a.answer.endedAt]));
  assert.ok(overlap <= WRITER_LIMIT, `${overlap} writers ran at once (limit ${WRITER_LIMIT})`);
  assert.ok(overlap >= 1);
});

test('readers are never held behind waiting writers', async () => {
  const writers = Array.from({ length: 6 }, () => call('pm-writer', `bytes=${8 * MIB}`));
  // Let the writers take both slots and queue.
  await new Promise((r) => setTimeout(r, 30));
  const reader = await call('pm-light', 'bytes=0');
  const done = await Promise.all(writers);
  const lastWriter = Math.max(...done.map((d) => d.answer.endedAt));
  assert.ok(reader.answer.endedAt < lastWriter, 'the reader finished while writers were still queued');
  const oneWriterMs = Math.min(...done.map((d) => d.answer.ms));
  assert.ok(reader.wallMs < oneWriterMs * 2, `reader took ${reader.wallMs.toFixed(0)} ms; a writer's own PM work takes ${oneWriterMs.toFixed(0)} ms`);
});

test("the node's profiles survive it: the state file holds what it learnt of each function", async () => {
  await cluster.stop();
  assert.ok(existsSync(stateFile), `no profile state at ${stateFile}`);
  const text = readFileSync(stateFile, 'utf8');
  assert.match(text, /default\/pm-writer/);
  assert.match(text, /default\/pm-light/);
});
