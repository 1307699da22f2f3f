import { test } from 'node:test';
import assert from 'node:assert/strict';
import { schedule, describeUnschedulable } from './schedule.js';
import type { ScheduleResult } from './schedule.js';
import { buildProfile, errorStatus, SUCCESS } from './framework.js';
import type { Pod, Profile, Snapshot } from './framework.js';
import { defaultRegistry, profileFromWeights } from './default-registry.js';
import { GI, MI, makeNode, makePod, placed } from './fixtures.js';

const DEFAULT_PROFILE = profileFromWeights(defaultRegistry(), { 'least-allocated': 1, spread: 2 });

interface Row {
  name: string;
  input: { pod: Pod; snapshot: Snapshot; profile?: Profile; random?: number };
  want: Partial<ScheduleResult> & { code: ScheduleResult['code'] };
}

/** Compares only the fields a row states, so rows need not spell out every score. */
function pick(got: ScheduleResult, want: Row['want']): Partial<ScheduleResult> {
  return Object.fromEntries(Object.keys(want).map((k) => [k, (got as unknown as Record<string, unknown>)[k]]));
}

test('schedule', () => {
  const rows: Row[] = [
    {
      name: 'no node fits: unschedulable with a reason per node',
      input: {
        pod: makePod({ cpu: '500m', nodeSelector: { zone: 'a' } }),
        snapshot: {
          nodes: [
            makeNode('node-1', { milliCpu: 1000, labels: { zone: 'a' }, instances: [placed('x', 800)] }),
            makeNode('node-2', { labels: { zone: 'b' } }),
            makeNode('node-3', { milliCpu: 100, memoryBytes: 64 * MI }),
          ],
        },
      },
      want: {
        code: 'unschedulable',
        reasons: {
          'node-1': 'node-resources-fit: insufficient cpu: requests 500m, 200m free of 1000m',
          'node-2': 'node-selector: node selector does not match: label zone=b, want zone=a',
          'node-3':
            'node-resources-fit: insufficient cpu: requests 500m, 100m free of 100m; insufficient memory: requests 128Mi, 64Mi free of 64Mi; ' +
            'node-selector: node selector does not match: missing label zone=a',
        },
      },
    },
    {
      name: 'no nodes at all',
      input: { pod: makePod(), snapshot: { nodes: [] } },
      want: { code: 'unschedulable', reasons: {} },
    },
    {
      name: 'spread prefers the node with fewer instances of the function',
      input: {
        pod: makePod({ name: 'hello' }),
        snapshot: {
          nodes: [
            makeNode('node-1', { instances: [placed('hello')] }),
            // More loaded by other functions, but no hello yet: spread (weight 2) outweighs least-allocated.
            makeNode('node-2', { instances: [placed('other', 300), placed('other', 300)] }),
          ],
        },
      },
      want: { code: 'scheduled', node: 'node-2' },
    },
    {
      name: 'selector leaves only the matching node',
      input: {
        pod: makePod({ nodeSelector: { pm: 'true' } }),
        snapshot: { nodes: [makeNode('node-1'), makeNode('node-2', { labels: { pm: 'true' }, instances: [placed('hello'), placed('hello')] })] },
      },
      want: { code: 'scheduled', node: 'node-2' },
    },
    {
      name: 'least-allocated alone picks the emptier node despite same-function instances',
      input: {
        pod: makePod(),
        snapshot: {
          nodes: [makeNode('node-1', { instances: [placed('hello'), placed('hello')] }), makeNode('node-2', { instances: [placed('other', 1000, GI)] })],
        },
        profile: profileFromWeights(defaultRegistry(), { 'least-allocated': 1 }),
      },
      want: { code: 'scheduled', node: 'node-1' },
    },
    {
      name: 'weights: a heavier least-allocated overrides spread',
      input: {
        pod: makePod(),
        snapshot: {
          nodes: [makeNode('node-1', { instances: [placed('hello')] }), makeNode('node-2', { instances: [placed('other', 1800, 3 * GI)] })],
        },
        profile: profileFromWeights(defaultRegistry(), { 'least-allocated': 10, spread: 1 }),
      },
      want: { code: 'scheduled', node: 'node-1' },
    },
    {
      name: 'tie broken by random: 0 picks the first name',
      input: { pod: makePod(), snapshot: { nodes: [makeNode('node-b'), makeNode('node-a')] }, random: 0 },
      want: { code: 'scheduled', node: 'node-a' },
    },
    {
      name: 'tie broken by random: 0.99 picks the last name',
      input: { pod: makePod(), snapshot: { nodes: [makeNode('node-b'), makeNode('node-a')] }, random: 0.99 },
      want: { code: 'scheduled', node: 'node-b' },
    },
    {
      name: 'scores are reported, best first',
      input: {
        pod: makePod({ cpu: '1', memory: '1Gi' }),
        snapshot: { nodes: [makeNode('node-1', { instances: [placed('hello', 1000, 2 * GI)] }), makeNode('node-2')] },
      },
      want: {
        code: 'scheduled',
        node: 'node-2',
        scores: [
          { node: 'node-2', total: 63 + 2 * 100, byPlugin: { 'least-allocated': 63, spread: 100 } },
          { node: 'node-1', total: 13, byPlugin: { 'least-allocated': 13, spread: 0 } },
        ],
      },
    },
  ];
  for (const row of rows) {
    const { pod, snapshot, profile, random } = row.input;
    const got = schedule(pod, snapshot, profile ?? DEFAULT_PROFILE, () => random ?? 0);
    assert.deepEqual(pick(got, row.want), row.want, `${row.name}\nwant ${JSON.stringify(row.want)}\ngot  ${JSON.stringify(got)}`);
  }
});

test('schedule reports plugin errors as error results, never throws', () => {
  const pod = makePod();
  const snapshot = { nodes: [makeNode('node-1')] };
  const rows: Array<{ name: string; profile: Profile; want: ScheduleResult }> = [
    {
      name: 'filter error status',
      profile: { filters: [{ name: 'broken', filter: () => errorStatus('disk gone') }], scorers: [] },
      want: { code: 'error', message: 'filter broken failed on node node-1: disk gone' },
    },
    {
      name: 'filter throws',
      profile: {
        filters: [
          {
            name: 'thrower',
            filter: () => {
              throw new Error('boom');
            },
          },
        ],
        scorers: [],
      },
      want: { code: 'error', message: 'filter thrower failed on node node-1: boom' },
    },
    {
      name: 'score out of range',
      profile: { filters: [{ name: 'ok', filter: () => SUCCESS }], scorers: [{ plugin: { name: 'big', score: () => 101 }, weight: 1 }] },
      want: { code: 'error', message: 'score plugin big gave node node-1 score 101, must be in [0; 100]' },
    },
    {
      name: 'score not a number',
      profile: { filters: [], scorers: [{ plugin: { name: 'nan', score: () => NaN }, weight: 1 }] },
      want: { code: 'error', message: 'score plugin nan gave node node-1 score NaN, must be in [0; 100]' },
    },
  ];
  for (const row of rows) {
    assert.deepEqual(schedule(pod, snapshot, row.profile, () => 0), row.want, row.name);
  }
});

test('spread places successive instances of one function on different nodes', () => {
  const nodes = [makeNode('node-1'), makeNode('node-2'), makeNode('node-3')];
  const pod = makePod({ name: 'fan' });
  const chosen: string[] = [];
  for (let i = 0; i < 6; i++) {
    const result = schedule(pod, { nodes }, DEFAULT_PROFILE, () => 0);
    assert.equal(result.code, 'scheduled');
    if (result.code !== 'scheduled') return;
    chosen.push(result.node);
    nodes.find((n) => n.name === result.node)!.instances.push(placed('fan'));
  }
  assert.deepEqual(chosen, ['node-1', 'node-2', 'node-3', 'node-1', 'node-2', 'node-3']);
});

test('buildProfile validates plugin names, kinds, weights and args', () => {
  const registry = defaultRegistry();
  assert.throws(() => buildProfile(registry, { filters: [{ name: 'nope' }], scorers: [] }), /unknown filter plugin "nope", must be one of node-resources-fit, node-selector/);
  assert.throws(() => buildProfile(registry, { filters: [{ name: 'spread' }], scorers: [] }), /unknown filter plugin "spread"/);
  assert.throws(() => buildProfile(registry, { filters: [], scorers: [{ name: 'node-selector', weight: 1 }] }), /unknown score plugin "node-selector"/);
  assert.throws(() => buildProfile(registry, { filters: [], scorers: [{ name: 'spread', weight: 0 }] }), /spread: weight = 0, must be an integer in \[1; 100\]/);
  assert.throws(() => buildProfile(registry, { filters: [{ name: 'node-selector', args: { x: 1 } }], scorers: [] }), /node-selector: unknown argument "x"/);
  assert.throws(() => registry.register({ name: 'spread', kinds: ['score'], create: () => ({ name: 'spread', score: () => 0 }) }), /already registered/);
});

test('describeUnschedulable', () => {
  assert.equal(describeUnschedulable({}, 0), 'no nodes to schedule on');
  assert.equal(describeUnschedulable({ b: 'too full', a: 'wrong zone' }, 2), '0/2 nodes are available: a: wrong zone | b: too full');
});
