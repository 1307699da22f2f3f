// Tests for the locality benchmark's pure parts: settings and their overrides, the modes (environment, modes per rate,
// round order), the shuffle plan, the accounting of a round, the activator's decisions and the reducers' pulls by path
// from /metrics, the makespan summary and case names.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRegistry } from '../registry.js';
import {
  accountRound,
  caseName,
  clusterEnv,
  decisionsSince,
  describePulls,
  metricSamples,
  modesAtRate,
  MODES,
  pullShares,
  pullsSince,
  roundOrder,
  sumPulls,
  xdtPullsByPath,
  localityDecisions,
  linkUtilization,
  localitySettings,
  parseBytes,
  shufflePlan,
  summarizeMakespans,
  type ProduceAnswer,
} from './shuffle.js';

const MiB = 2 ** 20;

test('localitySettings: the issue\'s 8 × 4 shuffle at 1 Gbit/s, smaller objects and two rates when quick', () => {
  const full = localitySettings(false, {});
  assert.deepEqual(full, { mappers: 8, reducers: 4, objectBytes: 8 * MiB, rounds: 10, ratesMbit: [1000, 500, 250, 100], reducerConcurrency: 16, topology: 'auto' });
  const quick = localitySettings(true, {});
  assert.equal(quick.objectBytes, 4 * MiB);
  assert.deepEqual(quick.ratesMbit, [1000, 100]);
  assert.equal(quick.rounds, 5);
});

test('localitySettings: SLUICE_BENCH_LOCALITY_* overrides, the reducer slots follow one node\'s partitions', () => {
  const s = localitySettings(false, {
    SLUICE_BENCH_LOCALITY_MAPPERS: '5',
    SLUICE_BENCH_LOCALITY_REDUCERS: '3',
    SLUICE_BENCH_LOCALITY_OBJECT_BYTES: '2Mi',
    SLUICE_BENCH_LOCALITY_ROUNDS: '2',
    SLUICE_BENCH_LOCALITY_RATES_MBIT: '100, 2000',
    SLUICE_BENCH_LOCALITY_TOPOLOGY: 'loopback',
    SLUICE_BENCH_LOCALITY_REDUCER_CONCURRENCY: '',
  });
  assert.deepEqual(s, { mappers: 5, reducers: 3, objectBytes: 2 * MiB, rounds: 2, ratesMbit: [100, 2000], reducerConcurrency: 9, topology: 'loopback' });
  assert.equal(localitySettings(false, { SLUICE_BENCH_LOCALITY_REDUCER_CONCURRENCY: '4' }).reducerConcurrency, 4);
});

test('localitySettings: refuses what cannot measure locality', () => {
  assert.throws(() => localitySettings(false, { SLUICE_BENCH_LOCALITY_MAPPERS: '1' }), /mapper on each node/);
  assert.throws(() => localitySettings(false, { SLUICE_BENCH_LOCALITY_OBJECT_BYTES: '1Mi' }), /goes inline/);
  assert.throws(() => localitySettings(false, { SLUICE_BENCH_LOCALITY_ROUNDS: '0' }), /ROUNDS = 0, must be a positive integer/);
  assert.throws(() => localitySettings(false, { SLUICE_BENCH_LOCALITY_RATES_MBIT: '1000,fast' }), /RATES_MBIT = fast/);
  assert.throws(() => localitySettings(false, { SLUICE_BENCH_LOCALITY_TOPOLOGY: 'kind' }), /auto or loopback/);
});

test('parseBytes: plain bytes and binary suffixes', () => {
  assert.equal(parseBytes('1234'), 1234);
  assert.equal(parseBytes(' 512Ki '), 512 * 1024);
  assert.equal(parseBytes('8Mi'), 8 * MiB);
  assert.equal(parseBytes('1Gi'), 2 ** 30);
  assert.throws(() => parseBytes('8MB'), /not a size/);
});

test('shufflePlan: mappers alternate between the nodes, seeds never repeat across mappers or rounds', () => {
  const settings = { mappers: 3, reducers: 4 };
  const plan = shufflePlan(settings, 0);
  assert.deepEqual(
    plan.map((t) => [t.fn, t.node, t.seed]),
    [
      ['loc-mapper-1', 'node-1', 1],
      ['loc-mapper-2', 'node-2', 5],
      ['loc-mapper-1', 'node-1', 9],
    ],
  );
  assert.equal(shufflePlan(settings, 1)[0].seed, 13);
});

const reducerNodes = new Map([
  ['loc-reducer-a', 'node-1'],
  ['loc-reducer-b', 'node-2'],
]);
const ok = (instance: string) => ({ status: 200, expected: { bytes: 1, sha256: 'x' }, got: { bytes: 1, sha256: 'x' }, instance });

test('accountRound: objects whose reducer ran on another node than their mapper crossed', () => {
  const plan = shufflePlan({ mappers: 2, reducers: 2 }, 0);
  const answers: ProduceAnswer[] = [{ results: [ok('loc-reducer-a'), ok('loc-reducer-b')] }, { results: [ok('loc-reducer-b'), ok('loc-reducer-b')] }];
  assert.deepEqual(accountRound(plan, answers, reducerNodes, 8 * MiB), { objects: 4, crossNode: 1, crossNodeBytes: 8 * MiB, perNode: { 'node-1': 1, 'node-2': 3 }, failures: [] });
});

test('accountRound: failed invocations, wrong digests and unknown instances are failures, not counted', () => {
  const plan = shufflePlan({ mappers: 2, reducers: 1 }, 0);
  const answers: ProduceAnswer[] = [
    { results: [{ status: 500, expected: {}, got: 'boom', instance: undefined }, { ...ok('loc-reducer-a'), got: { bytes: 0, sha256: 'y' } }] },
    { results: [ok('loc-reducer-z')] },
  ];
  const account = accountRound(plan, answers, reducerNodes, MiB);
  assert.equal(account.objects, 0);
  assert.equal(account.failures.length, 3);
  assert.match(account.failures[0], /mapper 0 partition 0: status 500/);
  assert.match(account.failures[1], /the reducer got/);
  assert.match(account.failures[2], /unknown reducer instance loc-reducer-z/);
  assert.match(accountRound(plan, [answers[0]], reducerNodes, MiB).failures.at(-1)!, /mapper 1 \(loc-mapper-2\): no results/);
});

test('localityDecisions: the counter for one function, by outcome; decisionsSince subtracts', () => {
  const text = [
    '# HELP sluice_activator_locality_decisions_total Requests carrying an XDT reference, by routing outcome',
    '# TYPE sluice_activator_locality_decisions_total counter',
    'sluice_activator_locality_decisions_total{namespace="default",function="loc-reducer",outcome="local"} 30',
    'sluice_activator_locality_decisions_total{namespace="default",function="loc-reducer",outcome="remote"} 2',
    'sluice_activator_locality_decisions_total{namespace="default",function="loc-reducer-2",outcome="remote"} 7',
    'sluice_activator_locality_decisions_total{outcome="no-preference",function="loc-reducer",namespace="other"} 1',
    'sluice_activator_requests_total{namespace="default",function="loc-reducer",code_class="2xx"} 40',
  ].join('\n');
  const now = localityDecisions(text, 'loc-reducer');
  assert.deepEqual(now, { local: 30, remote: 2, 'no-preference': 1 });
  assert.deepEqual(localityDecisions('', 'loc-reducer'), { local: 0, remote: 0, 'no-preference': 0 });
  assert.deepEqual(decisionsSince({ local: 10, remote: 1, 'no-preference': 0 }, now), { local: 20, remote: 1, 'no-preference': 1 });
});

test('metricSamples: one metric\'s samples with their labels, other metrics and comments skipped', () => {
  const text = ['# HELP up whether', '# TYPE up gauge', 'up 1', 'up_total{a="x"} 5', 'upx{a="1"} 2', 'up{job="a\\"b",i="2"} 0.5', ''].join('\n');
  assert.deepEqual(metricSamples(text, 'up'), [
    { labels: {}, value: 1 },
    { labels: { job: 'a\\"b', i: '2' }, value: 0.5 },
  ]);
  assert.deepEqual(metricSamples(text, 'nothing'), []);
});

// A reducer queue-proxy's /metrics as prom-client writes it (the counter of its own function only; others for the filter).
const QUEUE_PROXY_METRICS = [
  '# HELP sluice_queue_proxy_xdt_pulls_total XDT objects this queue-proxy pulled for its function, by path: local (its own store), shm (same node, shared memory), tcp.',
  '# TYPE sluice_queue_proxy_xdt_pulls_total counter',
  'sluice_queue_proxy_xdt_pulls_total{namespace="default",function="loc-reducer",path="shm"} 14',
  'sluice_queue_proxy_xdt_pulls_total{namespace="default",function="loc-reducer",path="tcp"} 2',
  'sluice_queue_proxy_xdt_pulls_total{path="local",function="loc-reducer",namespace="default"} 1',
  'sluice_queue_proxy_xdt_pulls_total{namespace="default",function="loc-mapper-1",path="tcp"} 9',
  'sluice_queue_proxy_xdt_pulls_total{namespace="default",function="loc-reducer",path="carrier-pigeon"} 3',
  'sluice_queue_proxy_xdt_bytes_total{namespace="default",function="loc-reducer",direction="received"} 67108864',
].join('\n');

test('xdtPullsByPath: the pulls counter of one function, by path; unknown paths and other functions ignored', () => {
  assert.deepEqual(xdtPullsByPath(QUEUE_PROXY_METRICS, 'loc-reducer'), { local: 1, shm: 14, tcp: 2 });
  assert.deepEqual(xdtPullsByPath(QUEUE_PROXY_METRICS, 'loc-mapper-1'), { local: 0, shm: 0, tcp: 9 });
  // A queue-proxy that has pulled nothing yet may have no sample at all.
  assert.deepEqual(xdtPullsByPath('# TYPE sluice_queue_proxy_xdt_pulls_total counter\n', 'loc-reducer'), { local: 0, shm: 0, tcp: 0 });
});

test('sumPulls / pullsSince / pullShares / describePulls: instances summed, a round\'s difference, shares of the total', () => {
  const a = { local: 0, shm: 10, tcp: 2 };
  const b = { local: 1, shm: 5, tcp: 2 };
  assert.deepEqual(sumPulls([a, b]), { local: 1, shm: 15, tcp: 4 });
  assert.deepEqual(sumPulls([]), { local: 0, shm: 0, tcp: 0 });
  assert.deepEqual(pullsSince(a, { local: 0, shm: 40, tcp: 2 }), { local: 0, shm: 30, tcp: 0 });
  assert.deepEqual(pullShares({ local: 0, shm: 24, tcp: 8 }), { local: 0, shm: 75, tcp: 25 });
  assert.equal(pullShares({ local: 0, shm: 0, tcp: 0 }), undefined);
  assert.equal(describePulls({ local: 0, shm: 24, tcp: 8 }), 'shm 75 %, tcp 25 %, local 0 % of 32 pulls');
  assert.equal(describePulls({ local: 0, shm: 0, tcp: 0 }), 'no pulls');
});

test('clusterEnv: locality on / off by the activator\'s key, the fast path off only for locality-on-tcp, all named', () => {
  assert.deepEqual(clusterEnv('locality-on', '/tmp/l/xdt.key'), {
    SLUICE_NODE_AGENT_PM_MODE: 'off',
    SLUICE_ACTIVATOR_XDT_KEY_FILE: '/tmp/l/xdt.key',
    SLUICE_NODE_AGENT_XDT_SHM_DIR: 'auto',
    SLUICE_QUEUE_PROXY_XDT_SHM_DIR: '',
  });
  assert.equal(clusterEnv('locality-off', '/k').SLUICE_ACTIVATOR_XDT_KEY_FILE, '');
  assert.equal(clusterEnv('locality-off', '/k').SLUICE_NODE_AGENT_XDT_SHM_DIR, 'auto');
  assert.equal(clusterEnv('locality-on-tcp', '/k').SLUICE_ACTIVATOR_XDT_KEY_FILE, '/k');
  assert.equal(clusterEnv('locality-on-tcp', '/k').SLUICE_NODE_AGENT_XDT_SHM_DIR, 'off');
});

test('modesAtRate: every mode at every rate in full mode; quick mode runs locality-on-tcp at the first rate only', () => {
  assert.deepEqual(MODES, ['locality-on', 'locality-off', 'locality-on-tcp']);
  assert.deepEqual(modesAtRate(0, true), ['locality-on', 'locality-off', 'locality-on-tcp']);
  assert.deepEqual(modesAtRate(1, true), ['locality-on', 'locality-off']);
  assert.deepEqual(modesAtRate(3, false), ['locality-on', 'locality-off', 'locality-on-tcp']);
});

test('roundOrder: forward in odd rounds, backward in even ones, so every pair swaps order each round', () => {
  assert.deepEqual(roundOrder(['on', 'off'], 1), ['on', 'off']);
  assert.deepEqual(roundOrder(['on', 'off'], 2), ['off', 'on']);
  const modes = ['on', 'off', 'tcp'];
  assert.deepEqual(roundOrder(modes, 1), ['on', 'off', 'tcp']);
  assert.deepEqual(roundOrder(modes, 2), ['tcp', 'off', 'on']);
  assert.deepEqual(modes, ['on', 'off', 'tcp'], 'the input is left as it was');
});

test('summarizeMakespans: nearest-rank median and p95, mean', () => {
  assert.deepEqual(summarizeMakespans([300, 100, 200, 1000]), { p50Ms: 200, p95Ms: 1000, meanMs: 400 });
  assert.throws(() => summarizeMakespans([]), /no rounds/);
});

test('linkUtilization: bytes over what the rate carries in the time', () => {
  assert.equal(linkUtilization(125_000_000, 1000, 1000), 100);
  assert.equal(linkUtilization(125_000_000 / 4, 2000, 250), 50);
});

test('caseName: topology, rate and mode', () => {
  assert.equal(caseName('netns', 1000, 'locality-on'), 'netns/1000Mbit/locality-on');
  assert.equal(caseName('netns', 250), 'netns/250Mbit');
  assert.equal(caseName('loopback', undefined, 'locality-off'), 'loopback/locality-off');
  assert.equal(caseName('netns', 1000, 'locality-on-tcp'), 'netns/1000Mbit/locality-on-tcp');
  assert.equal(caseName('loopback', undefined), 'loopback');
});

test('the shipped registry has the locality suite', () => {
  assert.ok(createRegistry().names().includes('locality'));
});
