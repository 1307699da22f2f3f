// The pure parts of the locality benchmark: its settings (with SLUICE_BENCH_LOCALITY_* overrides), the modes (which
// clusters run, each one's environment, which modes run at which rate, the order of a round), the shuffle's plan
// (which mapper function runs where), the accounting of one round from the mappers' answers (which objects crossed
// nodes), the activator's locality decisions and the reducers' pulls by path from /metrics text, and the makespan
// summary.
import { percentile } from '../percentile.js';

const MiB = 2 ** 20;
/** invoke()'s default inline threshold: objects up to this size go as the HTTP body, without a reference to steer by. */
export const INLINE_THRESHOLD_BYTES = MiB;
/** The issue's link rate between the two nodes. */
export const DEFAULT_RATE_MBIT = 1000;

export const MAPPER_FUNCTIONS = ['loc-mapper-1', 'loc-mapper-2'] as const;
export const REDUCER_FUNCTION = 'loc-reducer';
export const NODES = ['node-1', 'node-2'] as const;

export interface LocalitySettings {
  /** Mapper invocations per round, alternating between the mapper pinned to node-1 and the one pinned to node-2. */
  mappers: number;
  /** Partitions per mapper: each is one invocation of the reducer function carrying one object by reference. */
  reducers: number;
  objectBytes: number;
  /** Measured rounds per case (after one unmeasured warm-up round). */
  rounds: number;
  /** Link rates (Mbit/s per direction) measured on the namespace topology, in order; the first is the headline. */
  ratesMbit: number[];
  /** The reducer's containerConcurrency (its slots per instance; locality routing only picks a local instance with a free slot). */
  reducerConcurrency: number;
  /** `loopback` skips the namespaces (as where they cannot be made); `auto` tries them first. */
  topology: 'auto' | 'loopback';
}

/** Reads "8388608", "8Mi", "512Ki" (bytes). */
export function parseBytes(text: string): number {
  const match = /^\s*(\d+)\s*(Ki|Mi|Gi)?\s*$/.exec(text);
  if (!match) throw new RangeError(`"${text}" is not a size (bytes, or a number with Ki, Mi or Gi)`);
  const unit = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30 }[match[2] as 'Ki' | 'Mi' | 'Gi'] ?? 1;
  return Number(match[1]) * unit;
}

function positiveInt(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`${name} = ${text}, must be a positive integer`);
  return value;
}

/**
 * Defaults (full: 8 mappers × 4 reducers × 8 MiB = 256 MiB a round, 10 rounds, 1000/500/250/100 Mbit/s; quick: 4 MiB
 * objects, 5 rounds, 1000 and 100 Mbit/s), each overridable by SLUICE_BENCH_LOCALITY_{MAPPERS, REDUCERS, OBJECT_BYTES,
 * ROUNDS, RATES_MBIT (comma-separated), REDUCER_CONCURRENCY, TOPOLOGY (auto | loopback)}. The reducer's slots default
 * to what one node's mappers send at once (⌈M/2⌉ × R), so with locality every partition can stay on its node.
 */
export function localitySettings(quick: boolean, env: NodeJS.ProcessEnv = process.env): LocalitySettings {
  const get = (name: string): string | undefined => {
    const value = env[`SLUICE_BENCH_LOCALITY_${name}`];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  };
  const int = (name: string, fallback: number): number => {
    const text = get(name);
    return text === undefined ? fallback : positiveInt(`SLUICE_BENCH_LOCALITY_${name}`, text);
  };
  const mappers = int('MAPPERS', 8);
  const reducers = int('REDUCERS', 4);
  const objectText = get('OBJECT_BYTES');
  const objectBytes = objectText === undefined ? (quick ? 4 : 8) * MiB : parseBytes(objectText);
  const ratesText = get('RATES_MBIT');
  const ratesMbit = ratesText === undefined ? (quick ? [DEFAULT_RATE_MBIT, 100] : [DEFAULT_RATE_MBIT, 500, 250, 100]) : ratesText.split(',').map((r) => positiveInt('SLUICE_BENCH_LOCALITY_RATES_MBIT', r.trim()));
  const topology = get('TOPOLOGY') ?? 'auto';
  if (topology !== 'auto' && topology !== 'loopback') throw new RangeError(`SLUICE_BENCH_LOCALITY_TOPOLOGY = ${topology}, must be auto or loopback`);
  if (mappers < 2) throw new RangeError(`SLUICE_BENCH_LOCALITY_MAPPERS = ${mappers}: the shuffle needs a mapper on each node (at least 2)`);
  if (objectBytes <= INLINE_THRESHOLD_BYTES) {
    throw new RangeError(`object size ${objectBytes} B goes inline (invoke() passes up to ${INLINE_THRESHOLD_BYTES} B as the body), without a reference to route by: use more than 1 MiB`);
  }
  return {
    mappers,
    reducers,
    objectBytes,
    rounds: int('ROUNDS', quick ? 5 : 10),
    ratesMbit,
    reducerConcurrency: int('REDUCER_CONCURRENCY', Math.ceil(mappers / 2) * reducers),
    topology,
  };
}

export interface MapperTask {
  /** 0-based mapper index. */
  index: number;
  /** The mapper function (one per node, pinned by nodeSelector). */
  fn: (typeof MAPPER_FUNCTIONS)[number];
  node: (typeof NODES)[number];
  /** Seed of its first object; its R objects use seed … seed + R − 1. */
  seed: number;
}

/** Mappers alternate between the nodes, so each node produces half the objects (node-1 the extra one when M is odd). */
export function shufflePlan(settings: Pick<LocalitySettings, 'mappers' | 'reducers'>, round: number): MapperTask[] {
  return Array.from({ length: settings.mappers }, (_, index) => ({
    index,
    fn: MAPPER_FUNCTIONS[index % 2],
    node: NODES[index % 2],
    seed: 1 + (round * settings.mappers + index) * settings.reducers,
  }));
}

/** What a mapper (examples/xdt GET /produce) answers: one result per object it passed to the reducer. */
export interface ProduceAnswer {
  results: Array<{ status: number; expected: unknown; got: unknown; instance?: string }>;
}

export interface RoundAccount {
  objects: number;
  /** Objects whose reducer instance ran on another node than their mapper. */
  crossNode: number;
  crossNodeBytes: number;
  /** Per reducer node, the objects it took. */
  perNode: Record<string, number>;
  /** What went wrong (a failed invocation, a wrong digest, an unknown instance); empty when all is well. */
  failures: string[];
}

/** Which objects crossed nodes in one round, from the mappers' answers and where each reducer instance runs. */
export function accountRound(plan: readonly MapperTask[], answers: readonly ProduceAnswer[], reducerNodes: ReadonlyMap<string, string>, objectBytes: number): RoundAccount {
  const account: RoundAccount = { objects: 0, crossNode: 0, crossNodeBytes: 0, perNode: {}, failures: [] };
  plan.forEach((task, i) => {
    const answer = answers[i];
    if (!answer || !Array.isArray(answer.results)) {
      account.failures.push(`mapper ${task.index} (${task.fn}): no results`);
      return;
    }
    answer.results.forEach((r, j) => {
      const what = `mapper ${task.index} partition ${j}`;
      if (r.status !== 200) return void account.failures.push(`${what}: status ${r.status} ${JSON.stringify(r.got).slice(0, 200)}`);
      if (JSON.stringify(r.got) !== JSON.stringify(r.expected)) return void account.failures.push(`${what}: the reducer got ${JSON.stringify(r.got)}, not ${JSON.stringify(r.expected)}`);
      const node = r.instance === undefined ? undefined : reducerNodes.get(r.instance);
      if (!node) return void account.failures.push(`${what}: answered by unknown reducer instance ${r.instance}`);
      account.objects++;
      account.perNode[node] = (account.perNode[node] ?? 0) + 1;
      if (node !== task.node) {
        account.crossNode++;
        account.crossNodeBytes += objectBytes;
      }
    });
  });
  return account;
}

export type LocalityDecisions = Record<'local' | 'remote' | 'no-preference', number>;

/** The samples of `metric` in Prometheus text, each with its labels (no histograms: a plain name{labels} value line). */
export function metricSamples(metricsText: string, metric: string): Array<{ labels: Record<string, string>; value: number }> {
  const out: Array<{ labels: Record<string, string>; value: number }> = [];
  for (const line of metricsText.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!match || match[1] !== metric) continue;
    const labels = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    out.push({ labels, value: Number(match[3]) });
  }
  return out;
}

/** sluice_activator_locality_decisions_total for `fn`, by outcome, from the activator's Prometheus text. */
export function localityDecisions(metricsText: string, fn: string): LocalityDecisions {
  const out: LocalityDecisions = { local: 0, remote: 0, 'no-preference': 0 };
  for (const { labels, value } of metricSamples(metricsText, 'sluice_activator_locality_decisions_total')) {
    if (labels.function !== fn || !(labels.outcome in out)) continue;
    out[labels.outcome as keyof LocalityDecisions] += value;
  }
  return out;
}

export function decisionsSince(before: LocalityDecisions, after: LocalityDecisions): LocalityDecisions {
  return { local: after.local - before.local, remote: after.remote - before.remote, 'no-preference': after['no-preference'] - before['no-preference'] };
}

/** How a queue-proxy pulled an object for its function: its own store, a shared-memory segment on its node, or TCP. */
export const XDT_PATHS = ['local', 'shm', 'tcp'] as const;
export type XdtPath = (typeof XDT_PATHS)[number];
export type PullsByPath = Record<XdtPath, number>;

const noPulls = (): PullsByPath => ({ local: 0, shm: 0, tcp: 0 });

/** sluice_queue_proxy_xdt_pulls_total for `fn`, by path, from a queue-proxy's Prometheus text (its metrics port). */
export function xdtPullsByPath(metricsText: string, fn: string): PullsByPath {
  const out = noPulls();
  for (const { labels, value } of metricSamples(metricsText, 'sluice_queue_proxy_xdt_pulls_total')) {
    if (labels.function !== fn || !(XDT_PATHS as readonly string[]).includes(labels.path)) continue;
    out[labels.path as XdtPath] += value;
  }
  return out;
}

export function pullsSince(before: PullsByPath, after: PullsByPath): PullsByPath {
  return { local: after.local - before.local, shm: after.shm - before.shm, tcp: after.tcp - before.tcp };
}

/** Pulls summed over instances (or rounds). */
export function sumPulls(counts: readonly PullsByPath[]): PullsByPath {
  return counts.reduce((sum, c) => ({ local: sum.local + c.local, shm: sum.shm + c.shm, tcp: sum.tcp + c.tcp }), noPulls());
}

/** Each path's share (%) of the pulls; undefined when there were none. */
export function pullShares(pulls: PullsByPath): PullsByPath | undefined {
  const total = pulls.local + pulls.shm + pulls.tcp;
  if (total <= 0) return undefined;
  return { local: (100 * pulls.local) / total, shm: (100 * pulls.shm) / total, tcp: (100 * pulls.tcp) / total };
}

/** "shm 100 %, tcp 0 %, local 0 % of 128 pulls" (or "no pulls"). */
export function describePulls(pulls: PullsByPath): string {
  const shares = pullShares(pulls);
  if (!shares) return 'no pulls';
  return `${(['shm', 'tcp', 'local'] as const).map((p) => `${p} ${shares[p].toFixed(0)} %`).join(', ')} of ${pulls.local + pulls.shm + pulls.tcp} pulls`;
}

export interface MakespanSummary {
  p50Ms: number;
  p95Ms: number;
  meanMs: number;
}

export function summarizeMakespans(ms: readonly number[]): MakespanSummary {
  if (ms.length === 0) throw new RangeError('no rounds to summarize');
  return { p50Ms: percentile(ms, 50), p95Ms: percentile(ms, 95), meanMs: ms.reduce((a, b) => a + b, 0) / ms.length };
}

/** Share (%) of a link at `rateMbit` that `bytes` in `ms` used. */
export function linkUtilization(bytes: number, ms: number, rateMbit: number): number {
  return (100 * bytes * 8) / ((ms / 1000) * rateMbit * 1e6);
}

/**
 * locality-on: the activator routes by reference (an object's invocation goes to an instance on its producer's node),
 * and a same-node pull goes through the node's shared memory (the node agents' default xdt-shm-dir `auto`);
 * locality-off: round-robin routing, shared memory for the same-node pulls it happens to make; locality-on-tcp:
 * routing as locality-on, but the node agents run with xdt-shm-dir `off`, so every pull, same node or not, is TCP.
 */
export type Mode = 'locality-on' | 'locality-off' | 'locality-on-tcp';
export const MODES: readonly Mode[] = ['locality-on', 'locality-off', 'locality-on-tcp'];

/**
 * The environment every component of `mode`'s cluster gets. Named in full for every mode, so settings in this
 * process's environment cannot change a mode: the activator's XDT key (`keyFile`, the one startLocalCluster writes;
 * "" turns locality routing off) and the node agents' shared-memory directory (`auto` or `off`). The queue-proxies'
 * own SLUICE_QUEUE_PROXY_XDT_SHM_DIR is emptied: the agents pass theirs on, and none when theirs is off.
 */
export function clusterEnv(mode: Mode, keyFile: string): Record<string, string> {
  return {
    SLUICE_NODE_AGENT_PM_MODE: 'off',
    SLUICE_ACTIVATOR_XDT_KEY_FILE: mode === 'locality-off' ? '' : keyFile,
    SLUICE_NODE_AGENT_XDT_SHM_DIR: mode === 'locality-on-tcp' ? 'off' : 'auto',
    SLUICE_QUEUE_PROXY_XDT_SHM_DIR: '',
  };
}

/**
 * The modes measured at the `rateIndex`-th rate: every mode at the first; in quick mode only locality-on and -off at
 * the others (locality-on-tcp compares the two same-node paths, which no link carries, so one rate shows it).
 */
export function modesAtRate(rateIndex: number, quick: boolean): Mode[] {
  return rateIndex === 0 || !quick ? [...MODES] : MODES.filter((m) => m !== 'locality-on-tcp');
}

/** The order of round `round` (from 1): as given in odd rounds, reversed in even ones, so every pair swaps each round. */
export function roundOrder<T>(items: readonly T[], round: number): T[] {
  return round % 2 === 1 ? [...items] : [...items].reverse();
}

/** Case names: `netns/1000Mbit/locality-on`, `loopback/locality-off`; without a mode, the rate's case (speedups). */
export function caseName(topology: 'netns' | 'loopback', rateMbit: number | undefined, mode?: Mode): string {
  const base = topology === 'netns' ? `netns/${rateMbit}Mbit` : 'loopback';
  return mode ? `${base}/${mode}` : base;
}
