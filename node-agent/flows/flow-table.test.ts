// Tests of the flow table: decayed edge rates, per-producer edges, link cost averages, the same-node link, junk input, forgetting and caps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlowTable, LINK_ALPHA, type FlowReportInput, type FlowTableOptions } from './flow-table.js';
import type { FlowSample__Output } from '../../protos/generated/sluice/flow/v1/FlowSample.js';

const GIB = 2 ** 30;
const NODE = 'node-1';

function sample(producer: string, bytes: number, extra: Partial<FlowSample__Output> = {}): Partial<FlowSample__Output> {
  return { producer_function: producer, producer_node: 'node-2', path: 'TRANSFER_PATH_TCP', objects: 1, bytes, transfer_seconds: 0, cost_bytes: 0, ...extra };
}

function report(consumer: string, samples: Array<Partial<FlowSample__Output>>, namespace = 'ns'): FlowReportInput {
  return { namespace, function: consumer, node: NODE, samples };
}

/** Bytes/s of `bytes` just reported, for half-life `halfLifeMs`. */
const rateOf = (bytes: number, halfLifeMs: number): number => (bytes * Math.LN2) / (halfLifeMs / 1000);

function close(actual: number, want: number, what: string, relative = 1e-9): void {
  assert.ok(Math.abs(actual - want) <= relative * Math.max(1, Math.abs(want)), `${what}: ${actual}, want ${want}`);
}

interface ViewRow {
  name: string;
  options?: Partial<FlowTableOptions>;
  /** Reports, each at its time (ms). */
  steps: Array<{ at: number; report: FlowReportInput }>;
  viewAt: number;
  /** "ns/producer→consumer": [bytes_per_second, bytes_total]. Exactly these edges. */
  flows: Record<string, [number, number]>;
  /** from_node: [seconds_per_gib, samples]. Exactly these links. */
  links?: Record<string, [number, number]>;
  relative?: number;
}

const H = 10_000;

const viewRows: ViewRow[] = [
  {
    name: 'a report right now: rate = bytes · ln2 / halfLife',
    steps: [{ at: 0, report: report('c', [sample('p', 1000)]) }],
    viewAt: 0,
    flows: { 'ns/p→c': [rateOf(1000, H), 1000] },
  },
  {
    name: 'decay halves the rate after one half-life',
    steps: [{ at: 0, report: report('c', [sample('p', 1000)]) }],
    viewAt: H,
    flows: { 'ns/p→c': [rateOf(1000, H) / 2, 1000] },
  },
  {
    name: 'and quarters it after two',
    steps: [{ at: 0, report: report('c', [sample('p', 1000)]) }],
    viewAt: 2 * H,
    flows: { 'ns/p→c': [rateOf(1000, H) / 4, 1000] },
  },
  {
    name: 'a report after one half-life adds to the halved value',
    steps: [
      { at: 0, report: report('c', [sample('p', 1000)]) },
      { at: H, report: report('c', [sample('p', 1000)]) },
    ],
    viewAt: H,
    flows: { 'ns/p→c': [rateOf(1500, H), 2000] },
  },
  {
    name: 'a steady 1000 B/s stream reads about 1000 B/s (discrete reports, within 4%)',
    steps: Array.from({ length: 200 }, (_, i) => ({ at: i * 1000, report: report('c', [sample('p', 1000)]) })),
    viewAt: 199_000,
    flows: { 'ns/p→c': [1000, 200_000] },
    relative: 0.04,
  },
  {
    name: 'two producers into one consumer are two edges, summed separately',
    steps: [
      { at: 0, report: report('c', [sample('a', 1000), sample('b', 3000)]) },
      { at: 0, report: report('c', [sample('a', 1000)]) },
    ],
    viewAt: 0,
    flows: { 'ns/a→c': [rateOf(2000, H), 2000], 'ns/b→c': [rateOf(3000, H), 3000] },
  },
  {
    name: 'two samples of one producer (two paths) in one report add up on one edge',
    steps: [{ at: 0, report: report('c', [sample('a', 1000, { path: 'TRANSFER_PATH_SHM', producer_node: NODE }), sample('a', 500)]) }],
    viewAt: 0,
    flows: { 'ns/a→c': [rateOf(1500, H), 1500] },
  },
  {
    name: 'consumers and namespaces keep their own edges',
    steps: [
      { at: 0, report: report('c1', [sample('p', 100)]) },
      { at: 0, report: report('c2', [sample('p', 200)]) },
      { at: 0, report: report('c1', [sample('p', 400)], 'other') },
    ],
    viewAt: 0,
    flows: { 'ns/p→c1': [rateOf(100, H), 100], 'ns/p→c2': [rateOf(200, H), 200], 'other/p→c1': [rateOf(400, H), 400] },
  },
  {
    name: 'link cost: the first report sets it, the next moves it by LINK_ALPHA',
    steps: [
      { at: 0, report: report('c', [sample('p', GIB, { cost_bytes: GIB, transfer_seconds: 2, objects: 4 })]) },
      { at: 1000, report: report('c', [sample('p', GIB, { cost_bytes: GIB, transfer_seconds: 4, objects: 2 })]) },
    ],
    viewAt: 1000,
    flows: { 'ns/p→c': [rateOf(GIB * 2 ** -0.1 + GIB, H), 2 * GIB] },
    links: { 'node-2': [2 + LINK_ALPHA * (4 - 2), 6] },
  },
  {
    name: 'link cost: samples of one report from one node are summed first (byte-weighted), one average step',
    steps: [
      {
        at: 0,
        report: report('c', [
          sample('a', 4 * GIB, { cost_bytes: GIB, transfer_seconds: 1 }),
          sample('b', 3 * GIB, { cost_bytes: 3 * GIB, transfer_seconds: 9, path: 'TRANSFER_PATH_TCP' }),
        ]),
      },
    ],
    viewAt: 0,
    flows: { 'ns/a→c': [rateOf(4 * GIB, H), 4 * GIB], 'ns/b→c': [rateOf(3 * GIB, H), 3 * GIB] },
    links: { 'node-2': [10 / 4, 2] },
  },
  {
    name: 'link cost: small objects (64 KiB) scale to seconds per GiB',
    steps: [{ at: 0, report: report('c', [sample('p', 65_536, { cost_bytes: 65_536, transfer_seconds: 0.001 })]) }],
    viewAt: 0,
    flows: { 'ns/p→c': [rateOf(65_536, H), 65_536] },
    links: { 'node-2': [0.001 * 16_384, 1] },
  },
  {
    name: 'link cost: one link per producer node',
    steps: [
      {
        at: 0,
        report: report('c', [
          sample('p', GIB, { cost_bytes: GIB, transfer_seconds: 3 }),
          sample('p', GIB, { cost_bytes: GIB, transfer_seconds: 5, producer_node: 'node-3' }),
        ]),
      },
    ],
    viewAt: 0,
    flows: { 'ns/p→c': [rateOf(2 * GIB, H), 2 * GIB] },
    links: { 'node-2': [3, 1], 'node-3': [5, 1] },
  },
  {
    name: 'same-node link: producer_node = this node is from = to, whatever the path (local and shm together)',
    steps: [
      {
        at: 0,
        report: report('c', [
          sample('a', GIB, { producer_node: NODE, path: 'TRANSFER_PATH_LOCAL', cost_bytes: GIB, transfer_seconds: 0 }),
          sample('b', GIB, { producer_node: NODE, path: 'TRANSFER_PATH_SHM', cost_bytes: GIB, transfer_seconds: 0.5 }),
          // Same node over TCP (no shared-memory directory) is still the same-node link.
          sample('c', 2 * GIB, { producer_node: NODE, path: 'TRANSFER_PATH_TCP', cost_bytes: 2 * GIB, transfer_seconds: 1.5 }),
        ]),
      },
    ],
    viewAt: 0,
    flows: { 'ns/a→c': [rateOf(GIB, H), GIB], 'ns/b→c': [rateOf(GIB, H), GIB], 'ns/c→c': [rateOf(2 * GIB, H), 2 * GIB] },
    links: { [NODE]: [2 / 4, 3] },
  },
  {
    name: 'no cost bytes, no link (objects under the cost sample size)',
    steps: [{ at: 0, report: report('c', [sample('p', 1000, { transfer_seconds: 0 })]) }],
    viewAt: 0,
    flows: { 'ns/p→c': [rateOf(1000, H), 1000] },
    links: {},
  },
  {
    name: 'a zero-byte sample makes no edge',
    steps: [{ at: 0, report: report('c', [sample('p', 0, { objects: 0 })]) }],
    viewAt: 0,
    flows: {},
    links: {},
  },
  {
    name: 'forgotten: rate below 1 B/s and no report for 10 half-lives',
    options: { halfLifeMs: 1000 },
    steps: [{ at: 0, report: report('c', [sample('p', 1000)]) }],
    // rate(0) = 693 B/s; after 10 half-lives 0.68 B/s.
    viewAt: 10_000,
    flows: {},
  },
  {
    name: 'kept: below 1 B/s but reported within 10 half-lives',
    options: { halfLifeMs: 1000 },
    steps: [{ at: 0, report: report('c', [sample('p', 1000)]) }],
    viewAt: 9_999,
    flows: { 'ns/p→c': [rateOf(1000, 1000) * 2 ** -9.999, 1000] },
  },
  {
    name: 'kept: no report for 10 half-lives but still above 1 B/s',
    options: { halfLifeMs: 1000 },
    steps: [{ at: 0, report: report('c', [sample('p', 10_000)]) }],
    viewAt: 10_000,
    flows: { 'ns/p→c': [rateOf(10_000, 1000) / 1024, 10_000] },
  },
  {
    name: 'links are not forgotten with the edges (the last cost measured stays the best estimate)',
    options: { halfLifeMs: 1000 },
    steps: [{ at: 0, report: report('c', [sample('p', 1000, { cost_bytes: 1000, transfer_seconds: 1e-5 })]) }],
    viewAt: 3_600_000,
    flows: {},
    links: { 'node-2': [(1e-5 / 1000) * GIB, 1] },
  },
  {
    name: 'a clock that goes back decays nothing and grows nothing',
    steps: [
      { at: 5000, report: report('c', [sample('p', 1000)]) },
      { at: 0, report: report('c', [sample('p', 1000)]) },
    ],
    viewAt: 0,
    flows: { 'ns/p→c': [rateOf(2000, H), 2000] },
  },
];

for (const row of viewRows) {
  test(`FlowTable view: ${row.name}`, () => {
    const table = new FlowTable({ node: NODE, halfLifeMs: H, now: () => assert.fail('the clock is passed explicitly'), ...row.options });
    for (const step of row.steps) {
      const result = table.record(step.report, step.at);
      assert.equal(result.ok, true);
      if (result.ok) assert.deepEqual(result.ignored, []);
    }
    const view = table.view(row.viewAt);
    assert.equal(view.node, NODE);
    const flows = Object.fromEntries(view.flows.map((f) => [`${f.namespace}/${f.producer_function}→${f.consumer_function}`, f]));
    assert.deepEqual(Object.keys(flows).sort(), Object.keys(row.flows).sort());
    for (const [key, [rate, total]] of Object.entries(row.flows)) {
      close(flows[key].bytes_per_second, rate, `${key} bytes_per_second`, row.relative);
      assert.equal(flows[key].bytes_total, total, `${key} bytes_total`);
    }
    const wantLinks = row.links;
    if (wantLinks) {
      assert.deepEqual(view.links.map((l) => l.from_node).sort(), Object.keys(wantLinks).sort());
      for (const link of view.links) {
        const [secondsPerGib, objects]: [number, number] = wantLinks[link.from_node];
        assert.equal(link.to_node, NODE);
        close(link.seconds_per_gib, secondsPerGib, `${link.from_node} seconds_per_gib`);
        assert.equal(link.samples, objects, `${link.from_node} samples`);
      }
    }
  });
}

interface JunkRow {
  name: string;
  sample: unknown;
  reason: RegExp;
}

const junkRows: JunkRow[] = [
  { name: 'empty producer function', sample: sample('', 1000), reason: /producer_function/ },
  { name: 'missing producer function', sample: { bytes: 1000 }, reason: /producer_function/ },
  { name: 'producer function of 300 characters', sample: sample('f'.repeat(300), 1000), reason: /producer_function/ },
  { name: 'producer node of 300 characters', sample: sample('p', 1000, { producer_node: 'n'.repeat(300) }), reason: /producer_node/ },
  { name: 'negative bytes', sample: sample('p', -1), reason: /bytes = -1/ },
  { name: 'NaN bytes', sample: sample('p', NaN), reason: /bytes = NaN/ },
  { name: 'infinite bytes', sample: sample('p', Infinity), reason: /bytes = Infinity/ },
  { name: 'fractional bytes', sample: sample('p', 1.5), reason: /bytes = 1.5/ },
  { name: 'bytes beyond 2^53', sample: sample('p', 2 ** 60), reason: /bytes/ },
  { name: 'bytes as a string', sample: sample('p', '1000' as unknown as number), reason: /bytes = 1000, must be a count/ },
  { name: 'missing bytes', sample: { producer_function: 'p' }, reason: /bytes = undefined/ },
  { name: 'negative objects', sample: sample('p', 1000, { objects: -3 }), reason: /objects = -3/ },
  { name: 'negative cost bytes', sample: sample('p', 1000, { cost_bytes: -1 }), reason: /cost_bytes = -1/ },
  { name: 'cost bytes above bytes', sample: sample('p', 1000, { cost_bytes: 2000, transfer_seconds: 1 }), reason: /cost_bytes = 2000 exceeds bytes = 1000/ },
  { name: 'negative transfer seconds', sample: sample('p', 1000, { cost_bytes: 1000, transfer_seconds: -0.5 }), reason: /transfer_seconds = -0.5/ },
  { name: 'NaN transfer seconds', sample: sample('p', 1000, { cost_bytes: 1000, transfer_seconds: NaN }), reason: /transfer_seconds = NaN/ },
  { name: 'infinite transfer seconds', sample: sample('p', 1000, { cost_bytes: 1000, transfer_seconds: Infinity }), reason: /transfer_seconds = Infinity/ },
  { name: 'null', sample: null, reason: /not a sample/ },
  { name: 'a number', sample: 7, reason: /not a sample/ },
];

test('FlowTable: junk samples are ignored one by one, never thrown on, and the good ones in the same report count', () => {
  for (const row of junkRows) {
    const table = new FlowTable({ node: NODE, halfLifeMs: H, now: () => 0 });
    const good = sample('good', 500, { cost_bytes: 500, transfer_seconds: 0.25 });
    const result = table.record(report('c', [good, row.sample as Partial<FlowSample__Output>, good]));
    assert.ok(result.ok, row.name);
    assert.equal(result.accepted.length, 2, row.name);
    assert.equal(result.ignored.length, 1, row.name);
    assert.equal(result.ignored[0].index, 1, row.name);
    assert.equal(result.ignored[0].part, 'sample', row.name);
    assert.match(result.ignored[0].reason, row.reason, row.name);
    const view = table.view(0);
    assert.deepEqual(
      view.flows.map((f) => [f.producer_function, f.bytes_total]),
      [['good', 1000]],
      row.name,
    );
    // The junk sample did not reach the link either: both good samples, 0.5 s over 1000 bytes.
    assert.equal(view.links.length, 1, row.name);
    close(view.links[0].seconds_per_gib, (0.5 / 1000) * GIB, row.name);
  }
});

test('FlowTable: a cost that cannot be used is ignored, the bytes still count', () => {
  const table = new FlowTable({ node: NODE, halfLifeMs: H, now: () => 0 });
  const result = table.record(
    report('c', [
      sample('p', 1000, { producer_node: '', cost_bytes: 1000, transfer_seconds: 1 }),
      sample('q', 1000, { cost_bytes: 0, transfer_seconds: 1 }),
    ]),
  );
  assert.ok(result.ok);
  assert.equal(result.accepted.length, 2);
  assert.deepEqual(
    result.ignored.map((i) => [i.index, i.part]),
    [
      [0, 'cost'],
      [1, 'cost'],
    ],
  );
  assert.match(result.ignored[0].reason, /producer_node is empty/);
  assert.match(result.ignored[1].reason, /transfer_seconds without cost_bytes/);
  const view = table.view(0);
  assert.deepEqual(
    view.flows.map((f) => f.producer_function),
    ['p', 'q'],
  );
  assert.deepEqual(view.links, []);
});

test('FlowTable: a report without namespace or function is refused, and nothing of it is kept', () => {
  const rows: Array<{ report: unknown; reason: RegExp }> = [
    { report: { function: 'c', samples: [sample('p', 1)] }, reason: /namespace is required/ },
    { report: { namespace: '', function: 'c', samples: [sample('p', 1)] }, reason: /namespace is required/ },
    { report: { namespace: 'ns', samples: [sample('p', 1)] }, reason: /function is required/ },
    { report: { namespace: 'ns', function: '', samples: [sample('p', 1)] }, reason: /function is required/ },
    { report: { namespace: 'ns', function: 42, samples: [sample('p', 1)] }, reason: /function is required/ },
    { report: null, reason: /not a report/ },
  ];
  const table = new FlowTable({ node: NODE, now: () => 0 });
  for (const row of rows) {
    const result = table.record(row.report as FlowReportInput);
    assert.equal(result.ok, false, JSON.stringify(row.report));
    if (!result.ok) assert.match(result.reason, row.reason);
  }
  assert.deepEqual(table.view(0), { node: NODE, flows: [], links: [] });
  // No samples at all (or not an array) is a valid, empty report.
  assert.equal(table.record({ namespace: 'ns', function: 'c' }).ok, true);
  assert.equal(table.record({ namespace: 'ns', function: 'c', samples: 'x' as unknown as [] }).ok, true);
});

test('FlowTable: the path label of accepted samples is a fixed set', () => {
  const table = new FlowTable({ node: NODE, now: () => 0 });
  const result = table.record(
    report('c', [
      sample('p', 1, { path: 'TRANSFER_PATH_LOCAL' }),
      sample('p', 1, { path: 'TRANSFER_PATH_SHM' }),
      sample('p', 1, { path: 'TRANSFER_PATH_TCP' }),
      sample('p', 1, { path: 'TRANSFER_PATH_UNSPECIFIED' }),
      // An enum value this agent does not know arrives as its number.
      sample('p', 1, { path: 9 as unknown as 'TRANSFER_PATH_TCP' }),
    ]),
  );
  assert.ok(result.ok);
  assert.deepEqual(
    result.accepted.map((s) => s.path),
    ['local', 'shm', 'tcp', 'unspecified', 'unspecified'],
  );
});

test('FlowTable: edges are capped, the smallest current rates dropped', () => {
  const table = new FlowTable({ node: NODE, halfLifeMs: H, maxEdges: 3, now: () => 0 });
  assert.ok(table.record(report('c', [sample('a', 4000), sample('b', 1000), sample('c', 3000)]), 0).ok);
  assert.equal(table.size, 3);
  // d is new and larger than b: b goes.
  const full = table.record(report('c', [sample('d', 2000)]), 0);
  assert.ok(full.ok);
  assert.equal(full.edgesEvicted, 1);
  assert.deepEqual(
    table.view(0).flows.map((f) => f.producer_function),
    ['a', 'c', 'd'],
  );
  // A newcomer smaller than everything kept is the one dropped.
  const small = table.record(report('c', [sample('e', 10)]), 0);
  assert.ok(small.ok);
  assert.equal(small.edgesEvicted, 1);
  assert.deepEqual(
    table.view(0).flows.map((f) => f.producer_function),
    ['a', 'c', 'd'],
  );
  // Equal rates: the least recently reported goes. 2000 B at 0 has decayed to exactly 1000 B at H.
  const ties = new FlowTable({ node: NODE, halfLifeMs: H, maxEdges: 2, now: () => 0 });
  ties.record(report('c', [sample('old', 2000)]), 0);
  ties.record(report('c', [sample('mid', 1000)]), H);
  ties.record(report('c', [sample('new', 1000)]), H);
  assert.equal(ties.size, 2);
  assert.deepEqual(
    ties.view(H).flows.map((f) => f.producer_function),
    ['mid', 'new'],
  );
});

test('FlowTable: over the cap, stale edges go before a fresh edge with a smaller rate', () => {
  const table = new FlowTable({ node: NODE, halfLifeMs: 10_000, maxEdges: 2, now: () => 0 });
  // At 100 s (10 half-lives) 'stale' is at 0.095 B/s: under 1 B/s and unreported for 10 half-lives.
  table.record(report('c', [sample('stale', 1400)]), 0);
  // 'tiny' is fresh at 0.069 B/s, smaller than 'stale', yet it stays.
  table.record(report('c', [sample('tiny', 1)]), 100_000);
  const result = table.record(report('c', [sample('big', 1_000_000)]), 100_000);
  assert.ok(result.ok);
  assert.equal(result.edgesEvicted, 0);
  assert.deepEqual(
    table.view(100_000).flows.map((f) => f.producer_function),
    ['big', 'tiny'],
  );
});

test('FlowTable: many edges at once stay within the cap', () => {
  const table = new FlowTable({ node: NODE, halfLifeMs: H, maxEdges: 100, now: () => 0 });
  const samples = Array.from({ length: 1000 }, (_, i) => sample(`f${i}`, i + 1));
  const result = table.record(report('c', samples), 0);
  assert.ok(result.ok);
  assert.equal(result.edgesEvicted, 900);
  const kept = table.view(0).flows.map((f) => f.bytes_total).sort((a, b) => a - b);
  assert.equal(kept.length, 100);
  // The 100 largest: 901 … 1000 bytes.
  assert.equal(kept[0], 901);
  assert.equal(kept[99], 1000);
});

test('FlowTable: links are capped, the least recently measured dropped', () => {
  const table = new FlowTable({ node: NODE, maxLinks: 2, now: () => 0 });
  const cost = (node: string, seconds: number) => sample('p', GIB, { producer_node: node, cost_bytes: GIB, transfer_seconds: seconds });
  table.record(report('c', [cost('node-a', 1)]), 0);
  table.record(report('c', [cost('node-b', 2)]), 1);
  table.record(report('c', [cost('node-a', 1)]), 2);
  table.record(report('c', [cost('node-c', 3)]), 3);
  assert.deepEqual(
    table.links().map((l) => l.from_node),
    ['node-a', 'node-c'],
  );
});

test('FlowTable: the injected clock is the default time of record and view', () => {
  let now = 0;
  const table = new FlowTable({ node: NODE, halfLifeMs: H, now: () => now });
  table.record(report('c', [sample('p', 1000)]));
  now = H;
  close(table.view().flows[0].bytes_per_second, rateOf(1000, H) / 2, 'rate after one half-life');
});

test('FlowTable: options are checked', () => {
  assert.throws(() => new FlowTable({ node: NODE, halfLifeMs: 0 }), /halfLifeMs 0/);
  assert.throws(() => new FlowTable({ node: NODE, halfLifeMs: NaN }), /halfLifeMs NaN/);
  assert.throws(() => new FlowTable({ node: NODE, maxEdges: 0 }), /maxEdges 0/);
  assert.throws(() => new FlowTable({ node: NODE, maxLinks: 1.5 }), /maxLinks 1.5/);
});
