// The consumer's flow aggregation: what a report to the node agent carries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlowAggregator, MIN_COST_SAMPLE_BYTES } from './flow-reporter.js';
import type { TransferRecord } from './data-plane.js';

const MiB = 2 ** 20;
const t = (o: Partial<TransferRecord>): TransferRecord => ({ producerFunction: 'map', producerNode: 'node-1', path: 'shm', bytes: 8 * MiB, seconds: 0.1, sourceWaitSeconds: 0.04, ...o });

test('FlowAggregator: sums per producer, node and path; only objects of at least the sample size make the cost; take() starts afresh', () => {
  const a = new FlowAggregator();
  a.add(t({}));
  a.add(t({ seconds: 0.05, sourceWaitSeconds: 0 }));
  a.add(t({ bytes: 1000, seconds: 0.01, sourceWaitSeconds: 0 })); // flow, but too small for the cost
  a.add(t({ path: 'tcp', producerNode: 'node-2', bytes: MIN_COST_SAMPLE_BYTES, seconds: 0.02, sourceWaitSeconds: 0.03 })); // wait > wall: clamped to 0
  a.add(t({ producerFunction: 'other', path: 'local' }));
  const samples = a.take();
  const by = (fn: string, path: string) => samples.find((s) => s.producer_function === fn && s.path === path);
  const shm = by('map', 'TRANSFER_PATH_SHM')!;
  assert.deepEqual([shm.objects, shm.bytes, shm.cost_bytes, shm.producer_node], [3, 16 * MiB + 1000, 16 * MiB, 'node-1']);
  assert.ok(Math.abs((shm.transfer_seconds as number) - 0.11) < 1e-9, String(shm.transfer_seconds));
  const tcp = by('map', 'TRANSFER_PATH_TCP')!;
  assert.deepEqual([tcp.objects, tcp.bytes, tcp.cost_bytes, tcp.transfer_seconds, tcp.producer_node], [1, MIN_COST_SAMPLE_BYTES, MIN_COST_SAMPLE_BYTES, 0, 'node-2']);
  assert.equal(by('other', 'TRANSFER_PATH_LOCAL')?.objects, 1);
  assert.equal(samples.length, 3);
  assert.deepEqual(a.take(), []);
});

test('FlowAggregator: bounded between reports; what does not fit is counted as dropped', () => {
  const a = new FlowAggregator();
  for (let i = 0; i < 1_005; i++) a.add(t({ producerFunction: `f${i}` }));
  assert.equal(a.take().length, 1_000);
  assert.equal(a.dropped, 5);
});
