// Locality-aware routing: the decision table, the reference opening, the throttler keeping a waiter's preference,
// and the real activator in-process routing requests that carry references.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Registry } from 'prom-client';
import { SluiceError } from '../lib/errors.js';
import { silentLogger } from '../lib/logger.js';
import type { Endpoint } from '../lib/platform/types.js';
import { request } from '../lib/testing/http-request.js';
import { generateClusterKey, ReferenceCodec, type ObjectReference } from '../lib/xdt/reference.js';
import { startActivator } from './activator.js';
import { defaultConfig } from './config.js';
import { createLbPolicy, FIRST_AVAILABLE, RANDOM_CHOICE_2, ROUND_ROBIN } from './lb-policy.js';
import { localityOutcome, pickPreferringNode, producerNode, XDT_REF_HEADER, type LocalityTarget } from './locality.js';
import { FakePlatform } from './testing/fake-platform.js';
import { startHttpInstance, type TestInstance } from './testing/instances.js';
import { Throttler, type TrackedEndpoint } from './throttler.js';

interface Target extends LocalityTarget {
  id: string;
  node: string;
  inFlight: number;
  capacity: number;
}

const INF = Infinity;

const pickRows: Array<{
  name: string;
  input: {
    policy: string;
    targets: Array<[id: string, node: string, inFlight: number, capacity: number]>;
    preferred: string | undefined;
    picks?: number;
    /** Each pick takes its slot (as the throttler does), so later picks see it. */
    takeSlot?: boolean;
  };
  /** Target id per pick, or 'queue'. */
  want: string[];
}> = [
  {
    name: 'no preference: the plain policy',
    input: { policy: FIRST_AVAILABLE, targets: [['a', 'node-1', 0, 1], ['b', 'node-2', 0, 1]], preferred: undefined },
    want: ['a'],
  },
  { name: 'an empty preference is none', input: { policy: FIRST_AVAILABLE, targets: [['a', 'node-1', 0, 1], ['b', 'node-2', 0, 1]], preferred: '' }, want: ['a'] },
  {
    name: 'the instance on the preferred node, over an idle one elsewhere',
    input: { policy: FIRST_AVAILABLE, targets: [['a', 'node-1', 0, 1], ['b', 'node-2', 0, 1]], preferred: 'node-2' },
    want: ['b'],
  },
  {
    name: 'the preferred node is full: the plain policy elsewhere (never waits for locality)',
    input: { policy: FIRST_AVAILABLE, targets: [['a', 'node-1', 0, 1], ['b', 'node-2', 1, 1]], preferred: 'node-2' },
    want: ['a'],
  },
  { name: 'everything full: queue', input: { policy: FIRST_AVAILABLE, targets: [['a', 'node-1', 1, 1], ['b', 'node-2', 1, 1]], preferred: 'node-2' }, want: ['queue'] },
  { name: 'no instances: queue', input: { policy: ROUND_ROBIN, targets: [], preferred: 'node-2' }, want: ['queue'] },
  {
    name: 'no instance on the preferred node: the plain policy',
    input: { policy: FIRST_AVAILABLE, targets: [['a', 'node-1', 0, 1], ['b', 'node-2', 0, 1]], preferred: 'node-3' },
    want: ['a'],
  },
  {
    name: 'containerConcurrency respected: the local slots first, then the others, then queue',
    input: { policy: FIRST_AVAILABLE, targets: [['a', 'node-1', 0, 2], ['b', 'node-2', 0, 2]], preferred: 'node-2', picks: 5, takeSlot: true },
    want: ['b', 'b', 'a', 'a', 'queue'],
  },
  {
    name: 'round robin among the local instances only, while they have slots',
    input: {
      policy: ROUND_ROBIN,
      targets: [['a', 'node-1', 0, 2], ['b', 'node-2', 0, 2], ['c', 'node-1', 0, 2], ['d', 'node-2', 0, 2]],
      preferred: 'node-2',
      picks: 6,
      takeSlot: true,
    },
    // The policy's own state carries over: round robin resumes over all instances where it stopped.
    want: ['b', 'd', 'b', 'd', 'c', 'a'],
  },
  {
    name: 'unlimited concurrency: the local instance always has a slot, however loaded',
    input: { policy: RANDOM_CHOICE_2, targets: [['a', 'node-1', 0, INF], ['b', 'node-2', 40, INF]], preferred: 'node-2', picks: 3, takeSlot: true },
    want: ['b', 'b', 'b'],
  },
  {
    name: 'unlimited concurrency, no preference: fewest in flight (the plain policy)',
    input: { policy: RANDOM_CHOICE_2, targets: [['a', 'node-1', 0, INF], ['b', 'node-2', 40, INF]], preferred: undefined },
    want: ['a'],
  },
  {
    name: 'two local instances under random-choice-2: the less loaded one',
    input: { policy: RANDOM_CHOICE_2, targets: [['a', 'node-1', 0, INF], ['b', 'node-2', 3, INF], ['c', 'node-2', 1, INF]], preferred: 'node-2' },
    want: ['c'],
  },
];

for (const row of pickRows) {
  test(`pickPreferringNode: ${row.name}`, () => {
    const policy = createLbPolicy(row.input.policy, () => 0);
    const targets: Target[] = row.input.targets.map(([id, node, inFlight, capacity]) => ({ id, node, inFlight, capacity }));
    const before = JSON.stringify(targets);
    const got: string[] = [];
    for (let i = 0; i < (row.input.picks ?? 1); i++) {
      const pick = pickPreferringNode(targets, row.input.preferred, policy);
      if (pick.kind === 'queue') {
        got.push('queue');
        continue;
      }
      got.push(pick.endpoint.id);
      if (row.input.takeSlot) pick.endpoint.inFlight++;
    }
    assert.deepEqual(got, row.want);
    if (!row.input.takeSlot) assert.equal(JSON.stringify(targets), before, 'the decision changed its input');
  });
}

test('localityOutcome: local, remote, no-preference', () => {
  const rows: Array<[preferred: string | undefined, chosen: string, want: string]> = [
    ['node-1', 'node-1', 'local'],
    ['node-1', 'node-2', 'remote'],
    [undefined, 'node-1', 'no-preference'],
    ['', 'node-1', 'no-preference'],
  ];
  for (const [preferred, chosen, want] of rows) assert.equal(localityOutcome(preferred, chosen), want, `${preferred} → ${chosen}`);
});

const KEY = generateClusterKey();
const codec = new ReferenceCodec(KEY);

function reference(overrides: Partial<ObjectReference> = {}): string {
  return codec.mint({
    producer: '127.0.1.2:8013',
    node: 'node-2',
    function: 'producer',
    key: 'obj-1',
    namespace: 'default',
    retrievals: 1,
    expiresAtMs: Date.now() + 60_000,
    ...overrides,
  });
}

test('producerNode: the node of a reference the consumer may use; anything else is no preference, never an error', () => {
  const now = Date.now();
  const good = reference();
  const tampered = `${good.slice(0, 20)}${good[20] === 'A' ? 'B' : 'A'}${good.slice(21)}`;
  const rows: Array<[name: string, token: string, namespace: string, want: string | undefined]> = [
    ['a good reference', good, 'default', 'node-2'],
    ['bound to another namespace', good, 'team-b', undefined],
    ['expired', reference({ expiresAtMs: now - 1 }), 'default', undefined],
    ['tampered', tampered, 'default', undefined],
    ["another cluster's key", new ReferenceCodec(generateClusterKey()).mint({ producer: 'x:1', node: 'node-2', function: 'producer', key: 'k', namespace: 'default', retrievals: 1, expiresAtMs: now + 60_000 }), 'default', undefined],
    ['not a token', 'not a reference!', 'default', undefined],
    ['empty', '', 'default', undefined],
    ['a reference without a node', reference({ node: '' }), 'default', undefined],
  ];
  for (const [name, token, namespace, want] of rows) assert.equal(producerNode(codec, token, namespace, now), want, name);
});

function endpoint(name: string, node: string, port: number): Endpoint {
  return { instanceName: name, node, ip: '127.0.0.1', trafficPort: port };
}

test('throttler: a request takes a slot on its preferred node; a waiter keeps its preference but takes whatever frees first', async () => {
  const t = new Throttler({ functionName: 'default/c', containerConcurrency: 1, queueDepth: 10, queueTimeoutMs: 5_000, retryAfterSeconds: 1, random: () => 0 });
  t.setEndpoints([endpoint('a', 'node-1', 1), endpoint('b', 'node-2', 2)]);
  const onB = t.tryAcquire('node-2') as TrackedEndpoint;
  assert.equal(onB.endpoint.instanceName, 'b');
  assert.equal(onB.node, 'node-2');
  const onA = t.tryAcquire('node-2') as TrackedEndpoint;
  assert.equal(onA.endpoint.instanceName, 'a', 'b is full: the plain policy');
  assert.equal(t.tryAcquire('node-2'), undefined);
  // Both full: the waiter preferring node-2 gets b when b frees...
  const first = t.wait({ preferredNode: 'node-2' });
  t.release(onB);
  assert.equal((await first).endpoint.instanceName, 'b');
  // ...and a when a frees first: a preference never makes a request wait longer.
  const second = t.wait({ preferredNode: 'node-2' });
  t.release(onA);
  assert.equal((await second).endpoint.instanceName, 'a');
  // Arrivals never overtake waiters, preference or not.
  const third = t.wait({ preferredNode: 'node-1' });
  assert.equal(t.tryAcquire('node-1'), undefined);
  t.close(new SluiceError('SHUTTING_DOWN', 'test over'));
  await assert.rejects(third, /test over/);
});

// ---- the real activator in-process: instances on two "nodes" ----

interface Cluster {
  port: number;
  instances: TestInstance[];
  metrics(): Promise<string>;
  close(): Promise<void>;
}

async function cluster(xdtKey: string, containerConcurrency: number, handler?: (name: string, req: IncomingMessage, res: ServerResponse) => void): Promise<Cluster> {
  const platform = new FakePlatform();
  const registry = new Registry();
  const activator = await startActivator({ ...defaultConfig(), port: 0, adminPort: 0, autoscalerAddress: '', activatorId: 'activator-test', xdtKey }, { platform, logger: silentLogger(), registry });
  const instances: TestInstance[] = [];
  for (const [name, node] of [['consumer-a', 'node-1'], ['consumer-b', 'node-2']]) {
    const instance = await startHttpInstance(name, (req, res) => {
      if (handler) return handler(name, req, res);
      req.resume();
      req.on('end', () => res.end(name));
    });
    instances.push({ ...instance, endpoint: { ...instance.endpoint, node } });
  }
  platform.setFunction('default', 'consumer', { containerConcurrency });
  platform.setEndpoints('default', 'consumer', instances.map((i) => i.endpoint));
  return {
    port: activator.port,
    instances,
    metrics: async () => (await request(activator.adminPort, { path: '/metrics' })).body,
    async close() {
      await activator.close();
      await Promise.all(instances.map((i) => i.close()));
      await platform.close();
    },
  };
}

function decisions(metrics: string, outcome: string): number {
  const line = metrics.split('\n').find((l) => l.startsWith('sluice_activator_locality_decisions_total{') && l.includes(`outcome="${outcome}"`));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

async function send(port: number, ref: string | undefined, n: number): Promise<string[]> {
  const answers: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await request(port, { method: 'POST', path: '/fn/default/consumer/digest', headers: ref === undefined ? {} : { [XDT_REF_HEADER]: ref }, body: 'x' });
    assert.equal(res.status, 200, res.body);
    answers.push(res.body);
  }
  return answers;
}

test('activator: a request carrying a reference goes to the instance on the producer\'s node; without one, round robin', async () => {
  const c = await cluster(KEY.toString('base64'), 10);
  try {
    const local = await send(c.port, reference({ node: 'node-2' }), 20);
    assert.deepEqual(new Set(local), new Set(['consumer-b']));
    const other = await send(c.port, reference({ node: 'node-1' }), 10);
    assert.deepEqual(new Set(other), new Set(['consumer-a']));
    const plain = await send(c.port, undefined, 20);
    assert.equal(plain.filter((n) => n === 'consumer-b').length, 10, 'without a reference: round robin');
    // Unreadable: routed normally, never refused by the activator (the queue-proxy answers the XDT error).
    const invalid = await send(c.port, 'not a reference!', 4);
    assert.equal(invalid.length, 4);
    const metrics = await c.metrics();
    assert.equal(decisions(metrics, 'local'), 30);
    assert.equal(decisions(metrics, 'remote'), 0);
    assert.equal(decisions(metrics, 'no-preference'), 4);
    assert.match(metrics, /sluice_activator_locality_decisions_total\{namespace="default",function="consumer",outcome="local"\} 30/);
  } finally {
    await c.close();
  }
});

test('activator: the local instance full under containerConcurrency, the request goes remote at once', async () => {
  const held: Array<() => void> = [];
  const c = await cluster(KEY.toString('base64'), 1, (name, req, res) => {
    req.resume();
    req.on('end', () => held.push(() => res.end(name)));
  });
  try {
    const ref = reference({ node: 'node-2' });
    const first = request(c.port, { method: 'POST', path: '/fn/default/consumer/digest', headers: { [XDT_REF_HEADER]: ref }, body: 'x' });
    while (held.length < 1) await new Promise((resolve) => setTimeout(resolve, 5));
    const second = request(c.port, { method: 'POST', path: '/fn/default/consumer/digest', headers: { [XDT_REF_HEADER]: ref }, body: 'x' });
    while (held.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    for (const release of held) release();
    assert.deepEqual([(await first).body, (await second).body], ['consumer-b', 'consumer-a']);
    const metrics = await c.metrics();
    assert.equal(decisions(metrics, 'local'), 1);
    assert.equal(decisions(metrics, 'remote'), 1);
  } finally {
    await c.close();
  }
});

test('activator without the cluster key: references are routed by the plain policy, counted as no-preference', async () => {
  const c = await cluster('', 10);
  try {
    const answers = await send(c.port, reference({ node: 'node-2' }), 20);
    assert.equal(answers.filter((n) => n === 'consumer-b').length, 10, 'round robin, not locality');
    const metrics = await c.metrics();
    assert.equal(decisions(metrics, 'no-preference'), 20);
    assert.equal(decisions(metrics, 'local'), 0);
  } finally {
    await c.close();
  }
});
