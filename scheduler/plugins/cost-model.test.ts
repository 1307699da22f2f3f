import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  costModelFactory,
  CostTermRegistry,
  defaultCostTerms,
  GIB,
  instanceShares,
  linkCostModel,
  normalizeCostScores,
  parseCostModelArgs,
  xdtFlowsTermFactory,
  DEFAULT_COST_MODEL_ARGS,
} from './cost-model.js';
import type { CostTermFactory } from './cost-model.js';
import { makeNode, makePod, placed } from '../fixtures.js';
import { defaultConfig } from '../config.js';
import { defaultRegistry, profileFromWeights } from '../default-registry.js';
import { schedule } from '../schedule.js';
import { buildProfile, PluginConfigError, PluginRegistry } from '../framework.js';
import type { LinkCostEntry, NodeState, ScorePlugin, Snapshot, XdtFlowEdge } from '../framework.js';

/** An edge of `gibPerSecond` GiB/s in namespace default. */
function flow(producer: string, consumer: string, gibPerSecond: number, namespace = 'default'): XdtFlowEdge {
  return { namespace, producerFunction: producer, consumerFunction: consumer, bytesPerSecond: gibPerSecond * GIB, bytesTotal: gibPerSecond * GIB * 60 };
}

function link(fromNode: string, toNode: string, secondsPerGiB: number, samples = 10): LinkCostEntry {
  return { fromNode, toNode, secondsPerGiB, samples };
}

/** n instances of fn. */
function many(fn: string, n: number): ReturnType<typeof placed>[] {
  return Array.from({ length: n }, () => placed(fn));
}

/** The xdt-flows term's cost of each node (s/s, rounded to 1e-9) for a pod of function `fn`. */
function termCosts(fn: string, snapshot: Snapshot, settings = DEFAULT_COST_MODEL_ARGS): Record<string, number> {
  const term = xdtFlowsTermFactory.create(settings);
  const ctx = { pod: makePod({ name: fn }), snapshot };
  return Object.fromEntries(snapshot.nodes.map((n) => [n.name, Math.round(term.cost(ctx, n) * 1e9) / 1e9]));
}

/** The plugin's normalized scores, rounded as schedule() does. */
function pluginScores(fn: string, snapshot: Snapshot, args = {}, factory = costModelFactory()): Record<string, number> {
  const plugin = factory.create(args) as ScorePlugin;
  const ctx = { pod: makePod({ name: fn }), snapshot };
  const raw = Object.fromEntries(snapshot.nodes.map((n) => [n.name, plugin.score(ctx, n)]));
  return Object.fromEntries(Object.entries(plugin.normalizeScores!(raw)).map(([n, s]) => [n, Math.round(s)]));
}

test('xdt-flows term: seconds of data movement per second, by node', () => {
  // Priors: same node 0.5 s/GiB, cross-node 8.6 s/GiB. Rates in GiB/s, so costs read as s/GiB × GiB/s.
  const rows: Array<{ name: string; fn: string; nodes: NodeState[]; flows?: XdtFlowEdge[]; links?: LinkCostEntry[]; want: Record<string, number> }> = [
    {
      name: 'no flows: nothing to move',
      fn: 'c',
      nodes: [makeNode('a', { instances: [placed('p')] }), makeNode('b')],
      want: { a: 0, b: 0 },
    },
    {
      name: 'inbound edge, producer all on b: same-node prior on b, cross-node prior elsewhere',
      fn: 'c',
      nodes: [makeNode('a'), makeNode('b', { instances: [placed('p')] })],
      flows: [flow('p', 'c', 1)],
      want: { a: 8.6, b: 0.5 },
    },
    {
      name: "inbound edge, producer on a (1) and b (3): weighted by the producer's instance shares",
      fn: 'c',
      nodes: [makeNode('a', { instances: [placed('p')] }), makeNode('b', { instances: many('p', 3) }), makeNode('c')],
      flows: [flow('p', 'c', 1)],
      // a: .25×0.5 + .75×8.6; b: .25×8.6 + .75×0.5; c: all cross-node
      want: { a: 6.575, b: 2.525, c: 8.6 },
    },
    {
      name: 'outbound edge: the consumer pulls from the new instance (cost N→M)',
      fn: 'p',
      nodes: [makeNode('a', { instances: [placed('h')] }), makeNode('b')],
      flows: [flow('p', 'h', 2)],
      want: { a: 1, b: 17.2 },
    },
    {
      name: 'inbound and outbound edges add up',
      fn: 'mid',
      nodes: [makeNode('a', { instances: [placed('src')] }), makeNode('b', { instances: [placed('sink')] })],
      flows: [flow('src', 'mid', 1), flow('mid', 'sink', 1)],
      want: { a: 0.5 + 8.6, b: 8.6 + 0.5 },
    },
    {
      name: 'edge whose other end has no instance: nothing',
      fn: 'c',
      nodes: [makeNode('a', { instances: [placed('c')] }), makeNode('b')],
      flows: [flow('gone', 'c', 1), flow('c', 'also-gone', 1)],
      want: { a: 0, b: 0 },
    },
    {
      name: 'self-edge counts both ways',
      fn: 'f',
      nodes: [makeNode('a', { instances: [placed('f')] }), makeNode('b')],
      flows: [flow('f', 'f', 1)],
      want: { a: 1, b: 17.2 },
    },
    {
      name: "other functions' edges, other namespaces and idle edges do not count",
      fn: 'c',
      nodes: [makeNode('a', { instances: [placed('p'), placed('x'), placed('p', 100, 1, 'other')] }), makeNode('b', { instances: [placed('y')] })],
      flows: [flow('x', 'y', 5), flow('p', 'c', 1, 'other'), flow('p', 'c', 0)],
      want: { a: 0, b: 0 },
    },
    {
      name: 'edges listed twice add up; an empty namespace is default',
      fn: 'c',
      nodes: [makeNode('a', { instances: [placed('p')] }), makeNode('b')],
      flows: [flow('p', 'c', 1), flow('p', 'c', 1, '')],
      want: { a: 1, b: 17.2 },
    },
    {
      name: 'measured links: a measured pair costs its measurement, a missing one the mean of its kind',
      fn: 'c',
      nodes: [makeNode('a', { instances: [placed('p')] }), makeNode('b'), makeNode('c')],
      flows: [flow('p', 'c', 1)],
      // a→a missing: mean of the same-node measurements (b→b); a→c missing: mean of the cross-node ones.
      links: [link('a', 'b', 2), link('b', 'b', 0.1), link('d', 'b', 4)],
      want: { a: 0.1, b: 2, c: 3 },
    },
  ];
  for (const row of rows) {
    const snapshot: Snapshot = { nodes: row.nodes, ...(row.flows ? { flows: row.flows } : {}), ...(row.links ? { linkCosts: row.links } : {}) };
    assert.deepEqual(termCosts(row.fn, snapshot), row.want, row.name);
  }
});

test('linkCostModel: measurements, then the mean of their kind, then the priors', () => {
  const priors = { sameNodeSecondsPerGiB: 0.5, crossNodeSecondsPerGiB: 8.6 };
  const perGiB = (f: (a: string, b: string) => number, a: string, b: string) => Math.round(f(a, b) * GIB * 1e6) / 1e6;
  const rows: Array<{ name: string; links: LinkCostEntry[] | undefined; pairs: Array<[string, string, number]> }> = [
    { name: 'nothing measured: the priors', links: undefined, pairs: [['a', 'a', 0.5], ['a', 'b', 8.6]] },
    {
      name: 'only cross-node measured: same-node keeps its prior',
      links: [link('a', 'b', 3)],
      pairs: [['a', 'b', 3], ['b', 'a', 3], ['c', 'c', 0.5]],
    },
    {
      name: 'means are over pairs, not samples',
      links: [link('a', 'a', 0.2, 100), link('b', 'b', 0.4, 1), link('a', 'b', 4, 1), link('b', 'c', 8, 50)],
      pairs: [['c', 'c', 0.3], ['c', 'a', 6], ['a', 'a', 0.2]],
    },
    {
      name: 'a pair listed twice: mean weighted by samples',
      links: [link('a', 'b', 1, 1), link('a', 'b', 4, 3)],
      pairs: [['a', 'b', 3.25], ['b', 'a', 3.25]],
    },
    {
      name: 'entries without samples or with a bad cost are ignored',
      links: [link('a', 'b', 1, 0), link('a', 'c', Number.NaN), link('b', 'b', -1)],
      pairs: [['a', 'b', 8.6], ['a', 'c', 8.6], ['b', 'b', 0.5]],
    },
  ];
  for (const row of rows) {
    const model = linkCostModel(row.links, priors);
    for (const [a, b, want] of row.pairs) assert.equal(perGiB(model, a, b), want, `${row.name}: ${a}→${b}`);
  }
});

test('instanceShares: the fraction of each function’s instances per node', () => {
  const snapshot: Snapshot = {
    nodes: [makeNode('a', { instances: [placed('p'), placed('q'), placed('p', 100, 1, '')] }), makeNode('b', { instances: many('p', 2) }), makeNode('c')],
  };
  const shares = instanceShares(snapshot);
  assert.deepEqual(Object.fromEntries([...shares].map(([fn, byNode]) => [fn, Object.fromEntries(byNode)])), {
    'default/p': { a: 0.5, b: 0.5 },
    'default/q': { a: 1 },
  });
});

test('normalizeCostScores: cheapest 100, dearest 0, all 100 when equal', () => {
  const rows: Array<[string, Record<string, number>, Record<string, number>]> = [
    ['linear in between', { a: 0, b: 5, c: 10 }, { a: 100, b: 50, c: 0 }],
    ['equal costs: neutral', { a: 3, b: 3 }, { a: 100, b: 100 }],
    ['all zero: neutral', { a: 0, b: 0, c: 0 }, { a: 100, b: 100, c: 100 }],
    ['equal within float rounding: neutral', { a: 0.1 + 0.2, b: 0.3 }, { a: 100, b: 100 }],
    ['one node', { a: 7 }, { a: 100 }],
    ['no nodes', {}, {}],
  ];
  for (const [name, input, want] of rows) assert.deepEqual(normalizeCostScores(input), want, name);
  // With a full scale: a spread smaller than it takes only its share of the range.
  const scaled: Array<[string, Record<string, number>, number, Record<string, number>]> = [
    ['spread above the full scale: whole range', { a: 0, b: 1 }, 0.1, { a: 100, b: 0 }],
    ['spread of half the full scale: half the range', { a: 0.2, b: 0.25 }, 0.1, { a: 100, b: 50 }],
    ['a trickle of flow: next to neutral', { a: 0, b: 1e-6 }, 0.1, { a: 100, b: 99.999 }],
  ];
  for (const [name, input, fullScale, want] of scaled) {
    const got = normalizeCostScores(input, fullScale);
    for (const node of Object.keys(want)) assert.ok(Math.abs(got[node] - want[node]) < 1e-9, `${name}: ${node} = ${got[node]}`);
  }
});

test('cost-model plugin scores: normalized sum of the terms', () => {
  const nodes = [makeNode('a'), makeNode('b', { instances: [placed('p')] }), makeNode('c', { instances: [placed('p')] })];
  // a: 8.6, b and c: .5×0.5 + .5×8.6 = 4.55 → a 0, b and c 100.
  assert.deepEqual(pluginScores('c', { nodes, flows: [flow('p', 'c', 1)] }), { a: 0, b: 100, c: 100 });
  assert.deepEqual(pluginScores('c', { nodes }), { a: 100, b: 100, c: 100 }, 'no flows: neutral');
  assert.deepEqual(pluginScores('other', { nodes, flows: [flow('p', 'c', 1)] }), { a: 100, b: 100, c: 100 }, "another function's flow: neutral");
  // Equal priors: data movement costs the same everywhere until nodes measure it.
  assert.deepEqual(pluginScores('c', { nodes, flows: [flow('p', 'c', 1)] }, { sameNodeSecondsPerGiB: 2, crossNodeSecondsPerGiB: 2 }), { a: 100, b: 100, c: 100 });
  // Measurements override the priors: here the cross-node link is cheaper than the same-node path.
  assert.deepEqual(
    pluginScores('c', { nodes: [makeNode('a'), makeNode('b', { instances: [placed('p')] })], flows: [flow('p', 'c', 1)], linkCosts: [link('b', 'a', 1), link('b', 'b', 3)] }),
    { a: 100, b: 0 },
  );
});

test('a cost term registered from outside is summed without touching the plugin or the framework', () => {
  // A stand-in term: a fee of 1 s/s on nodes labelled metered=true (say, an egress-billed zone).
  const egressFee: CostTermFactory = {
    name: 'egress-fee',
    create: () => ({ name: 'egress-fee', cost: (_ctx, node) => (node.labels.metered === 'true' ? 1 : 0) }),
  };
  const terms = defaultCostTerms().register(egressFee);
  const registry = defaultRegistry(terms);
  const nodes = [makeNode('a', { labels: { metered: 'true' }, instances: [placed('p')] }), makeNode('b'), makeNode('c', { instances: [placed('p')] })];
  const snapshot: Snapshot = { nodes, flows: [flow('p', 'c', 1 / 8.1)] };
  const pod = makePod({ name: 'c' });
  const scoresOf = (args: Record<string, unknown>) => {
    const plugin = registry.create('cost-model', args, 'score') as ScorePlugin;
    return Object.fromEntries(nodes.map((n) => [n.name, Math.round(plugin.score({ pod, snapshot }, n) * 1e6) / 1e6]));
  };
  // Default terms: only xdt-flows (a, c: .5×0.5 + .5×8.6 = 4.55 s/GiB × 1/8.1 GiB/s; b: 8.6/8.1).
  assert.deepEqual(scoresOf({}), { a: 0.561728, b: 1.061728, c: 0.561728 });
  // Both terms: a now pays the fee on top.
  assert.deepEqual(scoresOf({ terms: ['xdt-flows', 'egress-fee'] }), { a: 1.561728, b: 1.061728, c: 0.561728 });
  const result = schedule(pod, snapshot, buildProfile(registry, { filters: [], scorers: [{ name: 'cost-model', weight: 1, args: { terms: ['xdt-flows', 'egress-fee'] } }] }), () => 0);
  assert.equal(result.code === 'scheduled' && result.node, 'c');
  assert.deepEqual(result.code === 'scheduled' && result.scores.map((s) => [s.node, s.total]), [['c', 100], ['b', 50], ['a', 0]]);
  // A term only exists in the registry it was registered in.
  assert.throws(() => defaultRegistry().create('cost-model', { terms: ['egress-fee'] }), /plugin cost-model: .*unknown cost term "egress-fee", must be one of xdt-flows$/);
  assert.throws(() => terms.register(egressFee), /plugin cost-model: cost term egress-fee is already registered/);
});

test('a term giving a cost that is not a finite number ≥ 0 fails the attempt, naming the term', () => {
  const terms = new CostTermRegistry().register({ name: 'broken', create: () => ({ name: 'broken', cost: () => Number.NaN }) });
  const profile = buildProfile(new PluginRegistry().register(costModelFactory(terms)), {
    filters: [],
    scorers: [{ name: 'cost-model', weight: 1, args: { terms: ['broken'] } }],
  });
  assert.deepEqual(schedule(makePod(), { nodes: [makeNode('a')] }, profile, () => 0), {
    code: 'error',
    message: 'score plugin cost-model failed: cost term broken gave node a cost NaN, must be a finite number ≥ 0 (seconds per second)',
  });
});

test('parseCostModelArgs', () => {
  const terms = defaultCostTerms();
  assert.deepEqual(parseCostModelArgs({}, terms), { terms: ['xdt-flows'], sameNodeSecondsPerGiB: 0.5, crossNodeSecondsPerGiB: 8.6, fullScaleSecondsPerSecond: 0.1 });
  assert.deepEqual(parseCostModelArgs({ terms: ['xdt-flows'], sameNodeSecondsPerGiB: 0, crossNodeSecondsPerGiB: 1, fullScaleSecondsPerSecond: 0 }, terms), {
    terms: ['xdt-flows'],
    sameNodeSecondsPerGiB: 0,
    crossNodeSecondsPerGiB: 1,
    fullScaleSecondsPerSecond: 0,
  });
  const bad: Array<[string, object, RegExp]> = [
    ['unknown key', { weight: 1 }, /plugin cost-model: unknown argument "weight" \(accepted: terms, sameNodeSecondsPerGiB, crossNodeSecondsPerGiB, fullScaleSecondsPerSecond\)/],
    ['negative full scale', { fullScaleSecondsPerSecond: -0.1 }, /plugin cost-model: fullScaleSecondsPerSecond = -0.1, must be a number ≥ 0/],
    ['unknown term', { terms: ['xdt-flows', 'egress'] }, /plugin cost-model: terms = \["xdt-flows","egress"\], unknown cost term "egress", must be one of xdt-flows/],
    ['term twice', { terms: ['xdt-flows', 'xdt-flows'] }, /plugin cost-model: .*xdt-flows is listed twice/],
    ['no terms', { terms: [] }, /plugin cost-model: terms = \[\], must be a non-empty list of cost term names \(xdt-flows\)/],
    ['terms not a list', { terms: 'xdt-flows' }, /plugin cost-model: terms = "xdt-flows", must be a non-empty list/],
    ['negative prior', { sameNodeSecondsPerGiB: -1 }, /plugin cost-model: sameNodeSecondsPerGiB = -1, must be a number ≥ 0/],
    ['infinite prior', { crossNodeSecondsPerGiB: Infinity }, /plugin cost-model: crossNodeSecondsPerGiB = Infinity, must be a number ≥ 0/],
    ['prior as text', { crossNodeSecondsPerGiB: '8.6' }, /plugin cost-model: crossNodeSecondsPerGiB = 8.6, must be a number/],
    ['same node dearer', { sameNodeSecondsPerGiB: 10 }, /plugin cost-model: sameNodeSecondsPerGiB = 10 is above crossNodeSecondsPerGiB = 8.6/],
  ];
  for (const [name, args, want] of bad) {
    assert.throws(() => parseCostModelArgs(args as Record<string, unknown>, terms), (err: unknown) => err instanceof PluginConfigError && want.test(err.message), name);
  }
  // Through buildProfile, as configuration reaches it.
  assert.throws(() => buildProfile(defaultRegistry(), { filters: [], scorers: [{ name: 'cost-model', weight: 1, args: { terms: ['nope'] } }] }), /plugin cost-model: .*unknown cost term "nope"/);
});

test('with the default weights, a consumer goes to its producer’s node against spread; without flows nothing changes', () => {
  const weights = defaultConfig().scoreWeights;
  assert.equal(weights['cost-model'], 3);
  const withCost = profileFromWeights(defaultRegistry(), weights);
  const { 'cost-model': _omitted, ...withoutWeights } = weights;
  const withoutCost = profileFromWeights(defaultRegistry(), withoutWeights);
  const rows: Array<{ name: string; fn?: string; nodes: () => NodeState[]; flows?: XdtFlowEdge[]; links?: LinkCostEntry[]; want: string }> = [
    {
      // Spread prefers a (no consumer yet) by 2 × 100, least-allocated by a little; cost-model prefers b by 3 × 100.
      name: 'strong flow, producer all on b, b already runs one more consumer: b',
      nodes: () => [makeNode('node-a'), makeNode('node-b', { instances: [placed('p'), placed('c')] })],
      flows: [flow('p', 'c', 0.5)],
      want: 'node-b',
    },
    {
      name: 'same, with the links measured (cross-node 20× the same-node path): b',
      nodes: () => [makeNode('node-a'), makeNode('node-b', { instances: [placed('p'), placed('c')] })],
      flows: [flow('p', 'c', 0.5)],
      links: [link('node-b', 'node-a', 4), link('node-b', 'node-b', 0.2)],
      want: 'node-b',
    },
    {
      name: 'outbound: a producer goes to its consumer’s node, b already running one more producer',
      fn: 'p',
      nodes: () => [makeNode('node-a'), makeNode('node-b', { instances: [placed('p'), placed('c')] })],
      flows: [flow('p', 'c', 0.5)],
      want: 'node-b',
    },
    { name: 'no flows: spread decides (a)', nodes: () => [makeNode('node-a'), makeNode('node-b', { instances: [placed('p'), placed('c')] })], want: 'node-a' },
    {
      name: "other functions' flows only: a",
      nodes: () => [makeNode('node-a'), makeNode('node-b', { instances: [placed('p'), placed('c'), placed('x')] })],
      flows: [flow('p', 'x', 5)],
      want: 'node-a',
    },
    {
      name: 'a flow whose producer has no instance: a',
      nodes: () => [makeNode('node-a'), makeNode('node-b', { instances: [placed('c')] })],
      flows: [flow('p', 'c', 5)],
      want: 'node-a',
    },
  ];
  for (const row of rows) {
    const snapshot = (): Snapshot => ({ nodes: row.nodes(), ...(row.flows ? { flows: row.flows } : {}), ...(row.links ? { linkCosts: row.links } : {}) });
    const pod = makePod({ name: row.fn ?? 'c' });
    const got = schedule(pod, snapshot(), withCost, () => 0);
    assert.equal(got.code === 'scheduled' && got.node, row.want, `${row.name}: ${JSON.stringify(got)}`);
    // Without cost-model, spread (and least-allocated) always pick node-a here.
    const before = schedule(pod, snapshot(), withoutCost, () => 0);
    assert.equal(before.code === 'scheduled' && before.node, 'node-a', `${row.name}, without cost-model`);
    if (row.want === 'node-a') {
      // Where cost-model has nothing to say, it is neutral and the default choice is the one without it.
      assert.ok(got.code === 'scheduled' && got.scores.every((s) => s.byPlugin['cost-model'] === 100), `${row.name}: cost-model neutral`);
    }
  }
});
