// Locality-aware routing end to end on a real two-node local cluster: a consumer with an instance on each node, a
// producer on node-1 invoking it by reference. With the activator holding the cluster key (what `sluice up` does)
// the invocations land on the consumer instance of node-1; with SLUICE_ACTIVATOR_XDT_KEY_FILE="" they spread.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LocalCluster } from '../../cli/local-cluster.js';
import { eventually, fn, startTestCluster } from './cluster-helpers.js';

const MiB = 2 ** 20;
/** Rounds of `PER_ROUND` concurrent invokes: containerConcurrency 10 leaves the local instance a slot for each. */
const ROUNDS = 10;
const PER_ROUND = 3;

// containerConcurrency 10 → round robin (lb-policy.ts): without locality the two instances alternate exactly.
const FUNCTIONS = [
  fn('loc-producer', 'xdt', '    readinessPath: /healthz\n  placement:\n    nodeSelector: { sluice.dev/node: node-1 }\n'),
  // No nodeSelector: the scheduler's spread plugin puts the second instance on the node without one.
  fn('loc-consumer', 'xdt', '    readinessPath: /healthz\n  containerConcurrency: 10\n  scaling:\n    minScale: 2\n'),
].join('');

interface Outcome {
  /** Consumer instance name → node. */
  nodes: Map<string, string>;
  /** Node of the consumer instance that answered, per invocation. */
  answeredOn: string[];
  decisions: Record<'local' | 'remote' | 'no-preference', number>;
}

async function activatorDecisions(cluster: LocalCluster): Promise<Outcome['decisions']> {
  const text = await (await fetch(`${cluster.activatorAdminUrl}/metrics`)).text();
  const out = { local: 0, remote: 0, 'no-preference': 0 };
  for (const line of text.split('\n')) {
    const m = /^sluice_activator_locality_decisions_total\{.*function="loc-consumer".*outcome="([a-z-]+)".*\} (\d+)/.exec(line);
    if (m) out[m[1] as keyof typeof out] += Number(m[2]);
  }
  return out;
}

async function run(env: Record<string, string>): Promise<Outcome> {
  const cluster = await startTestCluster(FUNCTIONS, env);
  try {
    const consumers = () => cluster.controller.functionStatus().find((f) => f.record.name === 'loc-consumer')?.instances.filter((i) => i.phase === 'INSTANCE_PHASE_READY') ?? [];
    assert.ok(await eventually(() => consumers().length === 2, 30_000), 'the consumer did not get 2 ready instances');
    const nodes = new Map(consumers().map((i) => [i.name, i.node]));
    assert.deepEqual(new Set(nodes.values()), new Set(['node-1', 'node-2']), 'precondition: one consumer instance per node (scheduler spread)');
    // The activator learns endpoints through its own watch: wait until plain requests reach both instances.
    const seen = new Set<string>();
    assert.ok(
      await eventually(async () => {
        const res = await fetch(`${cluster.ingressUrl}/fn/default/loc-consumer/digest`, { method: 'POST', body: 'hello' });
        seen.add(((await res.json()) as { instance: string }).instance);
        return seen.size === 2;
      }, 10_000),
      'the activator does not route to both consumer instances',
    );
    const answeredOn: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      // 2 MiB objects: above the 1 MiB inline threshold, so each invoke carries a reference.
      const res = await fetch(`${cluster.ingressUrl}/fn/default/loc-producer/produce?to=loc-consumer&bytes=${2 * MiB}&count=${PER_ROUND}&seed=${round * PER_ROUND + 1}`);
      const body = (await res.json()) as { results: Array<{ status: number; got: unknown; expected: unknown; instance: string }> };
      assert.equal(res.status, 200, JSON.stringify(body));
      for (const r of body.results) {
        assert.equal(r.status, 200, JSON.stringify(r.got));
        assert.deepEqual(r.got, r.expected, 'the consumer got the object the producer sent');
        const node = nodes.get(r.instance);
        assert.ok(node, `answered by unknown instance ${r.instance}`);
        answeredOn.push(node);
      }
    }
    return { nodes, answeredOn, decisions: await activatorDecisions(cluster) };
  } finally {
    await cluster.stop();
  }
}

const share = (o: Outcome): number => o.answeredOn.filter((n) => n === 'node-1').length / o.answeredOn.length;

test('with locality routing, invocations by reference from node-1 land on the consumer instance of node-1', async (t) => {
  const on = await run({});
  const total = ROUNDS * PER_ROUND;
  t.diagnostic(`locality on: ${on.answeredOn.filter((n) => n === 'node-1').length}/${total} on node-1; decisions ${JSON.stringify(on.decisions)}`);
  assert.equal(on.answeredOn.length, total);
  assert.ok(share(on) >= 0.9, `only ${Math.round(share(on) * 100)}% of invocations ran on the producer's node`);
  assert.ok(on.decisions.local >= 0.9 * total, `activator counted ${JSON.stringify(on.decisions)}`);
});

test('without the cluster key at the activator, the same invocations spread over both instances', async (t) => {
  const off = await run({ SLUICE_ACTIVATOR_XDT_KEY_FILE: '' });
  const total = ROUNDS * PER_ROUND;
  t.diagnostic(`locality off: ${off.answeredOn.filter((n) => n === 'node-1').length}/${total} on node-1; decisions ${JSON.stringify(off.decisions)}`);
  assert.equal(off.answeredOn.length, total);
  assert.ok(share(off) > 0.25 && share(off) < 0.75, `${Math.round(share(off) * 100)}% on node-1: not spread`);
  assert.equal(off.decisions['no-preference'], total, `activator counted ${JSON.stringify(off.decisions)}`);
  assert.equal(off.decisions.local, 0);
});
