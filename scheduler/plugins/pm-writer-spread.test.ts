import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  clusterPredictions,
  parsePmWriterSpreadArgs,
  pmWriterSpreadFactory,
  predictedWriters,
  writerInstances,
} from './pm-writer-spread.js';
import { makeNode, makePod, placed, pmView } from '../fixtures.js';
import { defaultRegistry, profileFromWeights } from '../default-registry.js';
import { schedule } from '../schedule.js';
import type { NodeState, ScorePlugin, Snapshot } from '../framework.js';

const KI = 1024;
const MI = 2 ** 20;

/** Each node's score (rounded, as schedule() does) for a pod of function `fn`. */
function scores(fn: string, nodes: NodeState[], args = {}): Record<string, number> {
  const plugin = pmWriterSpreadFactory.create(args) as ScorePlugin;
  const ctx = { pod: makePod({ name: fn }), snapshot: { nodes } };
  return Object.fromEntries(nodes.map((n) => [n.name, Math.round(plugin.score(ctx, n))]));
}

test('pm-writer-spread scores', () => {
  // "w" writes 4 MiB per invocation, "r" 1 KiB (a reader): as the nodes' profilers predict.
  const known = { 'default/w': 4 * MI, 'default/r': KI };
  const rows: Array<{ name: string; fn: string; nodes: NodeState[]; args?: object; want: Record<string, number> }> = [
    {
      name: 'non-writer: neutral everywhere, whatever the nodes carry',
      fn: 'r',
      nodes: [
        makeNode('a', { pm: pmView(2, known), instances: [placed('w'), placed('w')] }),
        makeNode('b', { pm: pmView(2, known) }),
        makeNode('c', { pm: pmView(0, {}, 'off') }),
        makeNode('d'),
      ],
      want: { a: 100, b: 100, c: 100, d: 100 },
    },
    {
      name: 'function no node knows: neutral',
      fn: 'new',
      nodes: [makeNode('a', { pm: pmView(2, known), instances: [placed('w')] }), makeNode('b', { pm: pmView(2, known) })],
      want: { a: 100, b: 100 },
    },
    {
      name: 'writer: fewer writers relative to the limit scores higher; readers do not count',
      fn: 'w',
      nodes: [
        makeNode('a', { pm: pmView(2, known) }),
        makeNode('b', { pm: pmView(2, known), instances: [placed('w'), placed('r'), placed('r')] }),
        makeNode('c', { pm: pmView(2, known), instances: [placed('w'), placed('w'), placed('w')] }),
      ],
      // load (writers + 1) / 2 = 0.5, 1, 2 → 100 / (1 + load)
      want: { a: 67, b: 50, c: 33 },
    },
    {
      name: 'writer: the limit matters, not the count (3 of 8 beats 0 of 1)',
      fn: 'w',
      nodes: [makeNode('big', { pm: pmView(8, known), instances: [placed('w'), placed('w'), placed('w')] }), makeNode('small', { pm: pmView(1, known) })],
      want: { big: 67, small: 50 },
    },
    {
      name: "writer: other writer functions count, learnt from any node's profile",
      fn: 'w',
      nodes: [
        makeNode('a', { pm: pmView(2, { 'default/w': 4 * MI }), instances: [placed('other')] }),
        makeNode('b', { pm: pmView(2, { 'default/other': 1 * MI }) }),
      ],
      want: { a: 50, b: 67 },
    },
    {
      name: 'writer: unbounded limit is no pressure; no PM is last; unknown and calibrating in between',
      fn: 'w',
      nodes: [
        makeNode('plain', { pm: pmView(Infinity, known, 'plain'), instances: [placed('w'), placed('w')] }),
        makeNode('off', { pm: pmView(0, {}, 'off') }),
        makeNode('unknown'),
        makeNode('calibrating', { pm: pmView(undefined, known) }),
      ],
      want: { plain: 100, off: 0, unknown: 50, calibrating: 50 },
    },
    {
      name: 'writer: a hugely overloaded PM node still beats a node without PM',
      fn: 'w',
      nodes: [makeNode('full', { pm: pmView(1, known), instances: Array.from({ length: 500 }, () => placed('w')) }), makeNode('off', { pm: pmView(0, {}, 'off') })],
      want: { full: 1, off: 0 },
    },
    {
      name: 'threshold from args: 1 KiB makes r a writer too',
      fn: 'r',
      args: { writerThresholdBytes: KI },
      nodes: [makeNode('a', { pm: pmView(2, known), instances: [placed('w')] }), makeNode('b', { pm: pmView(2, known) })],
      want: { a: 50, b: 67 },
    },
    {
      name: 'threshold from args: above every prediction, nobody is a writer',
      fn: 'w',
      args: { writerThresholdBytes: 8 * MI },
      nodes: [makeNode('a', { pm: pmView(2, known), instances: [placed('w')] }), makeNode('b', { pm: pmView(0, {}, 'off') })],
      want: { a: 100, b: 100 },
    },
  ];
  for (const row of rows) {
    assert.deepEqual(scores(row.fn, row.nodes, row.args), row.want, row.name);
  }
});

test('clusterPredictions takes the node with the most usage reports; predictedWriters applies the threshold', () => {
  const snapshot: Snapshot = {
    nodes: [
      makeNode('a', { pm: pmView(2, { 'default/x': 10 * KI, 'default/y': 1 * MI }, 'emulated', 3) }),
      makeNode('b', { pm: pmView(2, { 'default/x': 2 * MI }, 'emulated', 9) }),
      makeNode('c'),
    ],
  };
  assert.deepEqual(Object.fromEntries(clusterPredictions(snapshot)), { 'default/x': 2 * MI, 'default/y': 1 * MI });
  assert.deepEqual([...predictedWriters(snapshot, 64 * KI)].sort(), ['default/x', 'default/y']);
  assert.deepEqual([...predictedWriters(snapshot, 1.5 * MI)], ['default/x']);
});

test('writerInstances counts instances of writer functions by namespace and name', () => {
  const node = makeNode('n', { instances: [placed('w'), placed('w', 100, 1, 'other'), placed('r')] });
  assert.equal(writerInstances(node, new Set(['default/w'])), 1);
  assert.equal(writerInstances(node, new Set(['default/w', 'other/w'])), 2);
  assert.equal(writerInstances(node, new Set()), 0);
});

test('parsePmWriterSpreadArgs', () => {
  assert.deepEqual(parsePmWriterSpreadArgs({}), { writerThresholdBytes: 64 * KI });
  assert.deepEqual(parsePmWriterSpreadArgs({ writerThresholdBytes: 4096 }), { writerThresholdBytes: 4096 });
  assert.throws(() => parsePmWriterSpreadArgs({ writerThresholdBytes: 0 }), /writerThresholdBytes = 0, must be a number ≥ 1/);
  assert.throws(() => parsePmWriterSpreadArgs({ writerThresholdBytes: '64Ki' }), /writerThresholdBytes = 64Ki/);
  assert.throws(() => parsePmWriterSpreadArgs({ threshold: 1 }), /unknown argument "threshold"/);
});

test('with the default weights, a second writer goes to the node without one even against least-allocated', () => {
  const known = { 'default/w': 4 * MI, 'default/w2': 4 * MI, 'default/filler': 0 };
  // b carries a big non-writer: least-allocated alone prefers a, where the other writer already is.
  const withW2 = [
    makeNode('a', { milliCpu: 4000, pm: pmView(2, known), instances: [placed('w2')] }),
    makeNode('b', { milliCpu: 4000, pm: pmView(2, known), instances: [placed('filler', 1000)] }),
  ];
  const weights = { 'least-allocated': 1, spread: 2 };
  const without = schedule(makePod({ name: 'w' }), { nodes: withW2 }, profileFromWeights(defaultRegistry(), weights), () => 0);
  assert.equal(without.code === 'scheduled' && without.node, 'a');
  const withPlugin = schedule(makePod({ name: 'w' }), { nodes: withW2 }, profileFromWeights(defaultRegistry(), { ...weights, 'pm-writer-spread': 2 }), () => 0);
  assert.equal(withPlugin.code === 'scheduled' && withPlugin.node, 'b');
  // And for a non-writer, the plugin says the same of every node.
  const filler = schedule(makePod({ name: 'filler' }), { nodes: withW2 }, profileFromWeights(defaultRegistry(), { ...weights, 'pm-writer-spread': 2 }), () => 0);
  assert.deepEqual(filler.code === 'scheduled' && filler.scores.map((s) => s.byPlugin['pm-writer-spread']), [100, 100]);
});
