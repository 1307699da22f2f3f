// The "locality" suite: a shuffle (M mapper invocations × R partitions, each partition one invocation of the reducer
// carrying its object by XDT reference) on nodes in network namespaces whose links tc shapes (1 Gbit/s per direction
// by default; a sweep of rates in full mode), in three modes: the activator's locality-aware routing on, off, and on
// with the queue-proxies' same-node fast path (a segment in the node agent's shared-memory directory instead of TCP)
// turned off. Falls back to loopback nodes, saying so, where namespaces cannot be made.
//
// Three clusters run side by side, identical but for their settings (bench/locality/shuffle.ts clusterEnv):
//   locality-on      the activator's cluster key set (routing by reference), node agents' xdt-shm-dir `auto`;
//   locality-off     no key for the activator (round-robin), xdt-shm-dir `auto`;
//   locality-on-tcp  as locality-on, but the node agents run with xdt-shm-dir `off`: every pull is TCP, same node too.
// Six namespaces on one bridge (bench/xdt/netns.ts), two nodes per cluster, control planes in the root namespace on
// the bridge, as in the XDT bench. Rounds alternate between the clusters (on/off/tcp, tcp/off/on, …), so drift and
// other load on this host fall on all alike; quick mode runs locality-on-tcp at the first rate only. Placement,
// identical in all: mapper functions loc-mapper-1 / loc-mapper-2 pinned to node-1 / node-2, one instance each; the
// reducer loc-reducer with exactly one instance per node (minScale = maxScale = 2, the scheduler's spread plugin),
// containerConcurrency = one node's partitions in flight (⌈M/2⌉ × R). The function program is examples/xdt: a mapper
// is GET /produce?to=loc-reducer&count=R (R concurrent invokeStream by reference, each answer naming the reducer
// instance), a reducer is POST /digest (reads the object whole, sha256).
//
// Per case: makespan (first mapper request to last answer) p50/p95/mean, object bytes that crossed nodes (from which
// reducer instance answered), bytes out of the nodes onto their links (veth counters), the activator's locality
// decisions, the reducers' pulls by path (local / shm / tcp, from sluice_queue_proxy_xdt_pulls_total on each reducer
// instance's queue-proxy metrics port, before and after each round), CPU (this benchmark's process tree, also by role
// and net of all clusters' idle use measured first; and the host's busy share, which shows other load). Per rate:
// `speedup` = makespan p50 off / on (the target), and `fast_path_speedup` = p50 on-tcp / on with `fast_path_cpu_ratio`
// = shuffle CPU on-tcp / on (informational: what the shared-memory path is worth once locality keeps objects on
// their node).
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DIST_DIR } from '../cli/components.js';
import { startLocalCluster, type LocalCluster, type NodePlacement } from '../cli/local-cluster.js';
import { parseFunctionDefinition, type FunctionDefinition } from '../lib/function-spec.js';
import { silentLogger } from '../lib/logger.js';
import { waitForHttpOk } from '../lib/net.js';
import {
  accountRound,
  caseName,
  decisionsSince,
  linkUtilization,
  localityDecisions,
  localitySettings,
  MAPPER_FUNCTIONS,
  clusterEnv,
  describePulls,
  modesAtRate,
  MODES,
  NODES,
  pullShares,
  pullsSince,
  REDUCER_FUNCTION,
  roundOrder,
  shufflePlan,
  sumPulls,
  summarizeMakespans,
  xdtPullsByPath,
  XDT_PATHS,
  type LocalityDecisions,
  type LocalitySettings,
  type MakespanSummary,
  type Mode,
  type ProduceAnswer,
  type PullsByPath,
} from './locality/shuffle.js';
import type { BenchTarget } from './record.js';
import type { Suite, SuiteContext } from './suite.js';
import { measureHostLoad } from './host-load.js';
import { cpuMsByRole, processRoles, treeCpuMs } from './process-tree.js';
import { writeLineChart } from './xdt/chart.js';
import { createTopology, type Topology } from './xdt/netns.js';

const BENCH = 'locality';
const HOST = '127.0.0.1';
const DOMAIN = 'sluice.localhost';
const REPO_ROOT = path.resolve(DIST_DIR, '..');
const RESULTS_DIR = path.join(REPO_ROOT, 'bench', 'results');
const MiB = 2 ** 20;
const SPEEDUP_TARGET = 1.5;
/** The queue-proxy's metrics port (node-agent/launch-plan.ts QUEUE_PROXY_METRICS_PORT), at the instance's address. */
const QUEUE_PROXY_METRICS_PORT = 9091;
/**
 * Each cluster's two nodes in the namespace topology (bridge addresses 10.213.0.10–.15, in this order), and their
 * instance ranges (node agent subnets, routed to the node's namespace).
 */
const NS_NODES: Record<Mode, readonly string[]> = { 'locality-on': ['on1', 'on2'], 'locality-off': ['off1', 'off2'], 'locality-on-tcp': ['tcp1', 'tcp2'] };
const NODE_SUBNETS: Record<Mode, readonly string[]> = {
  'locality-on': ['10.214.1', '10.214.2'],
  'locality-off': ['10.214.3', '10.214.4'],
  'locality-on-tcp': ['10.214.5', '10.214.6'],
};

/** Where the nodes run. */
interface Where {
  topology: 'netns' | 'loopback';
  /** Address of the control planes (activator, autoscaler, …), reachable from every node. */
  host: string;
  net?: Topology;
}

function fnDefinition(name: string, spec: Record<string, unknown>): FunctionDefinition {
  return parseFunctionDefinition(
    {
      apiVersion: 'sluice.dev/v1alpha1',
      kind: 'Function',
      metadata: { name },
      spec: { container: { command: ['node', path.join(DIST_DIR, 'examples', 'xdt', 'main.js')], readinessPath: '/healthz' }, ...spec },
    },
    'bench',
  );
}

function shuffleFunctions(settings: LocalitySettings): FunctionDefinition[] {
  return [
    ...MAPPER_FUNCTIONS.map((name, i) =>
      fnDefinition(name, { scaling: { initialScale: 1, minScale: 1, maxScale: 1 }, placement: { nodeSelector: { 'sluice.dev/node': NODES[i] } } }),
    ),
    // No nodeSelector: the spread plugin puts one instance on each node (checked before measuring).
    fnDefinition(REDUCER_FUNCTION, { containerConcurrency: settings.reducerConcurrency, scaling: { initialScale: 2, minScale: 2, maxScale: 2 } }),
  ];
}

/**
 * Six namespaces on the shaped bridge (two nodes per cluster, so the clusters run side by side and their rounds
 * interleave), or loopback when they cannot be made (or SLUICE_BENCH_LOCALITY_TOPOLOGY=loopback).
 */
async function chooseTopology(ctx: SuiteContext, settings: LocalitySettings): Promise<Where> {
  const loopback = (why: string): Where => {
    ctx.log(`FALLBACK to loopback nodes (${why}): every node on 127.0.x of this host, no shaped link between them — cases are named loopback/…, not the issue's measurement`);
    return { topology: 'loopback', host: HOST };
  };
  if (settings.topology === 'loopback') return loopback('SLUICE_BENCH_LOCALITY_TOPOLOGY=loopback');
  const net = await createTopology({ nodes: MODES.flatMap((m) => NS_NODES[m]), rateMbit: settings.ratesMbit[0], log: ctx.log });
  if (!net.available) return loopback(`network namespaces cannot be created: ${net.reason}`);
  ctx.cleanup.defer('network namespaces', () => net.destroy());
  for (const mode of MODES) for (const [i, node] of NS_NODES[mode].entries()) await net.routeRange(node, NODE_SUBNETS[mode][i]);
  const describe = (mode: Mode) =>
    NS_NODES[mode].map((node, i) => `${NODES[i]} in ${net.namespaces[node]} (${net.addresses[node]}, instances ${NODE_SUBNETS[mode][i]}.0/24)`).join(', ');
  ctx.log(`topology: netns — ${MODES.map((m) => `cluster ${m}: ${describe(m)}`).join('; ')}; control planes on the bridge ${net.hostAddress}`);
  return { topology: 'netns', host: net.hostAddress, net };
}

function nodePlacement(where: Where, mode: Mode): ((i: number) => NodePlacement) | undefined {
  const net = where.net;
  if (!net) return undefined;
  return (i) => ({ subnet: NODE_SUBNETS[mode][i], wrap: (command, args) => net.exec(NS_NODES[mode][i], command, args) });
}

async function activatorDecisions(cluster: LocalCluster): Promise<LocalityDecisions> {
  return localityDecisions(await (await fetch(`${cluster.activatorAdminUrl}/metrics`)).text(), REDUCER_FUNCTION);
}

/** One cluster of a mode, its reducer instances' nodes and metrics endpoints. */
interface Deployment {
  mode: Mode;
  cluster: LocalCluster;
  /** Reducer instance name → node. */
  reducerNodes: Map<string, string>;
  /** Each reducer instance's queue-proxy /metrics URL. */
  reducerMetricsUrls: string[];
  stop: () => Promise<void>;
}

/** The reducer's pulls so far, by path, summed over its instances' queue-proxies. */
async function reducerPulls(ctx: SuiteContext, d: Deployment): Promise<PullsByPath> {
  const counts = await Promise.all(
    d.reducerMetricsUrls.map(async (url) => {
      const res = await fetch(url, { signal: ctx.signal });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`${d.mode}: ${url} answered ${res.status} ${text.slice(0, 200)}`);
      return xdtPullsByPath(text, REDUCER_FUNCTION);
    }),
  );
  return sumPulls(counts);
}

/** Bytes out of each of the deployment's nodes onto its link, so far (netns only). */
function linkBytesOut(where: Where, mode: Mode): number[] {
  return where.net ? NS_NODES[mode].map((node) => where.net!.linkBytes(node).fromNode) : [0, 0];
}

/**
 * The reducer's instance → node, and its instances' queue-proxy metrics URLs, once it has one ready instance per node
 * and the activator routes to both.
 */
async function reducersReady(ctx: SuiteContext, cluster: LocalCluster): Promise<{ nodes: Map<string, string>; metricsUrls: string[] }> {
  const ready = () => cluster.controller.functionStatus().find((f) => f.record.name === REDUCER_FUNCTION)?.instances.filter((i) => i.phase === 'INSTANCE_PHASE_READY') ?? [];
  const deadline = Date.now() + 60_000;
  while (ready().length < 2) {
    if (Date.now() > deadline || ctx.signal.aborted) throw new Error(`${REDUCER_FUNCTION} did not get 2 ready instances (has ${ready().length})`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const instances = ready();
  const nodes = new Map(instances.map((i) => [i.name, i.node]));
  const metricsUrls = instances.map((i) => `http://${i.ip}:${QUEUE_PROXY_METRICS_PORT}/metrics`);
  if (new Set(nodes.values()).size !== 2) throw new Error(`${REDUCER_FUNCTION} instances are not one per node: ${JSON.stringify([...nodes])}`);
  // The activator learns endpoints through its own watch: plain requests (no reference) until both instances answered.
  const seen = new Set<string>();
  while (seen.size < 2) {
    if (Date.now() > deadline || ctx.signal.aborted) throw new Error(`the activator does not route to both ${REDUCER_FUNCTION} instances (saw ${[...seen].join(', ')})`);
    const res = await fetch(`${cluster.ingressUrl}/fn/default/${REDUCER_FUNCTION}/digest`, { method: 'POST', body: 'hello', signal: ctx.signal });
    if (res.status === 200) seen.add(((await res.json()) as { instance: string }).instance);
    else await res.text();
  }
  for (const name of MAPPER_FUNCTIONS) {
    await waitForHttpOk(`${cluster.ingressUrl}/fn/default/${name}/healthz`, { timeoutMs: 30_000, intervalMs: 100, requestTimeoutMs: 5_000, signal: ctx.signal });
  }
  for (const url of metricsUrls) await waitForHttpOk(url, { timeoutMs: 10_000, intervalMs: 100, requestTimeoutMs: 5_000, signal: ctx.signal });
  return { nodes, metricsUrls };
}

interface RoundResult {
  makespanMs: number;
  crossNodeBytes: number;
  crossNode: number;
  objects: number;
  /** Bytes out of both nodes onto their links (objects across, requests and answers to the control plane). */
  linkBytes: number;
  /** Bytes out of the node that sent more: its link direction is the busiest. */
  busiestLinkBytes: number;
  /** Share of all this host's CPUs busy during the round (whatever ran: the cluster, this process, anything else). */
  hostCpuBusy: number;
  /** CPU this benchmark's processes used in the round (both clusters, the idle one's background included). */
  benchCpuMs: number;
  /** CPU seconds the host's other processes used in the round. */
  otherCpuSeconds: number;
  /** The same by role: queue-proxy, function, activator, node-agent, bench (this process), … */
  cpuMsByRole: Record<string, number>;
  decisions: LocalityDecisions;
  /** The reducer's pulls in the round, by path (both instances). */
  pulls: PullsByPath;
}

/** One shuffle: every mapper at once, each passing R objects to the reducer; timed from the first request to the last answer. */
async function shuffleRound(ctx: SuiteContext, d: Deployment, where: Where, settings: LocalitySettings, round: number): Promise<RoundResult> {
  const { cluster } = d;
  const plan = shufflePlan(settings, round);
  const decisionsBefore = await activatorDecisions(cluster);
  const pullsBefore = await reducerPulls(ctx, d);
  const linkBefore = linkBytesOut(where, d.mode);
  const endLoad = measureHostLoad();
  const startedAt = performance.now();
  const answers = await Promise.all(
    plan.map(async (task): Promise<ProduceAnswer> => {
      const url = `${cluster.ingressUrl}/fn/default/${task.fn}/produce?to=${REDUCER_FUNCTION}&bytes=${settings.objectBytes}&count=${settings.reducers}&seed=${task.seed}`;
      const res = await fetch(url, { signal: ctx.signal });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`mapper ${task.index} (${task.fn}): ${res.status} ${text.slice(0, 400)}`);
      return JSON.parse(text) as ProduceAnswer;
    }),
  );
  const makespanMs = performance.now() - startedAt;
  const load = endLoad();
  const byRole = cpuMsByRole(load.treeBefore, load.treeAfter, processRoles(load.treeAfter.keys()));
  const linkOut = linkBytesOut(where, d.mode).map((b, i) => b - linkBefore[i]);
  const account = accountRound(plan, answers, d.reducerNodes, settings.objectBytes);
  if (account.failures.length > 0) throw new Error(`${d.mode} shuffle round ${round} failed:\n${account.failures.slice(0, 10).join('\n')}`);
  const pulls = pullsSince(pullsBefore, await reducerPulls(ctx, d));
  const decisions = decisionsSince(decisionsBefore, await activatorDecisions(cluster));
  return {
    makespanMs,
    crossNodeBytes: account.crossNodeBytes,
    crossNode: account.crossNode,
    objects: account.objects,
    linkBytes: linkOut[0] + linkOut[1],
    busiestLinkBytes: Math.max(...linkOut),
    hostCpuBusy: load.hostCpuBusy,
    benchCpuMs: load.benchCpuMs,
    otherCpuSeconds: load.otherCpuSeconds,
    cpuMsByRole: byRole,
    decisions,
    pulls,
  };
}

interface CaseResult {
  summary: MakespanSummary;
  makespansMs: number[];
  /** Mean shuffle CPU seconds per round, net of idle: all roles, and the queue-proxies'. */
  shuffleCpuS: number;
  queueProxyCpuS: number;
  /** The reducer's pulls over the measured rounds, by path. */
  pulls: PullsByPath;
}

/** Objects that stayed on their mapper's node over the rounds (pulls that could take shared memory). */
function sameNodeObjects(rounds: readonly RoundResult[]): number {
  return rounds.reduce((s, r) => s + r.objects - r.crossNode, 0);
}

class Results {
  /** rate (or 0 on loopback) → mode → result */
  readonly cases = new Map<number, Map<Mode, CaseResult>>();

  /** CPU milliseconds per second all clusters use when idle, by role (measured before the rounds). */
  background: Record<string, number> = {};

  constructor(
    private readonly ctx: SuiteContext,
    private readonly where: Where,
    private readonly settings: LocalitySettings,
  ) {}

  caseOf(rateMbit: number | undefined, mode?: Mode): string {
    return caseName(this.where.topology, rateMbit, mode);
  }

  record(rateMbit: number | undefined, mode: Mode, rounds: readonly RoundResult[]): void {
    const name = this.caseOf(rateMbit, mode);
    const emit = (metric: string, value: number, unit: string) => this.ctx.emit({ bench: BENCH, case: name, metric, value, unit });
    const makespansMs = rounds.map((r) => r.makespanMs);
    const summary = summarizeMakespans(makespansMs);
    const mean = (f: (r: RoundResult) => number) => rounds.reduce((s, r) => s + f(r), 0) / rounds.length;
    const shuffleBytes = this.settings.mappers * this.settings.reducers * this.settings.objectBytes;
    const decided = rounds.reduce((s, r) => s + r.decisions.local + r.decisions.remote + r.decisions['no-preference'], 0);
    emit('makespan_p50', summary.p50Ms, 'ms');
    emit('makespan_p95', summary.p95Ms, 'ms');
    emit('makespan_mean', summary.meanMs, 'ms');
    emit('shuffle_throughput', shuffleBytes / MiB / (summary.p50Ms / 1000), 'MiB/s');
    emit('cross_node_bytes', mean((r) => r.crossNodeBytes) / MiB, 'MiB/round');
    emit('cross_node_share', (100 * rounds.reduce((s, r) => s + r.crossNode, 0)) / rounds.reduce((s, r) => s + r.objects, 0), '%');
    if (this.where.net && rateMbit !== undefined) {
      emit('link_bytes_out_of_nodes', mean((r) => r.linkBytes) / MiB, 'MiB/round');
      // Near 100 %: the link is the bottleneck; far below: something else (CPU) is.
      emit('busiest_link_utilization', mean((r) => linkUtilization(r.busiestLinkBytes, r.makespanMs, rateMbit)), '%');
    }
    // Near 100 %: CPU-bound (all nodes share this host's cores), by this benchmark or by other load on the host.
    emit('host_cpu_busy', mean((r) => r.hostCpuBusy), '%');
    emit('bench_cpu_seconds', mean((r) => r.benchCpuMs) / 1000, 's/round');
    // Net of what all clusters burn idle over the round's duration (a longer round carries more of it).
    const net = (r: RoundResult, role?: string): number => {
      const used = role === undefined ? r.benchCpuMs : (r.cpuMsByRole[role] ?? 0);
      const idle = role === undefined ? Object.values(this.background).reduce((a, b) => a + b, 0) : (this.background[role] ?? 0);
      return Math.max(0, used - (idle * r.makespanMs) / 1000);
    };
    emit('shuffle_cpu_seconds', mean((r) => net(r)) / 1000, 's/round');
    const roles = [...new Set(rounds.flatMap((r) => Object.keys(r.cpuMsByRole)))].sort();
    for (const role of roles) emit(`shuffle_cpu_seconds_${role.replaceAll('-', '_')}`, mean((r) => net(r, role)) / 1000, 's/round');
    emit('other_cpu_seconds', mean((r) => r.otherCpuSeconds), 's/round');
    emit('local_decisions', decided === 0 ? 0 : (100 * rounds.reduce((s, r) => s + r.decisions.local, 0)) / decided, '%');
    emit('decided_invocations', decided / rounds.length, 'per round');
    // Which path the reducers' pulls took: shm (same node, shared memory), tcp (over the network, or same node
    // without the fast path), local (the reducer's own store).
    const pulls = sumPulls(rounds.map((r) => r.pulls));
    const shares = pullShares(pulls);
    emit('reducer_pulls', (pulls.local + pulls.shm + pulls.tcp) / rounds.length, 'per round');
    for (const p of XDT_PATHS) emit(`reducer_pull_share_${p}`, shares?.[p] ?? 0, '%');
    let modes = this.cases.get(rateMbit ?? 0);
    if (!modes) this.cases.set(rateMbit ?? 0, (modes = new Map()));
    modes.set(mode, { summary, makespansMs, shuffleCpuS: mean((r) => net(r)) / 1000, queueProxyCpuS: mean((r) => net(r, 'queue-proxy')) / 1000, pulls });
    this.ctx.log(
      `${name}: makespan p50 ${summary.p50Ms.toFixed(0)} ms, p95 ${summary.p95Ms.toFixed(0)} ms; ${(mean((r) => r.crossNodeBytes) / MiB).toFixed(0)} MiB/round across nodes; shuffle CPU ${(mean((r) => net(r)) / 1000).toFixed(2)} s/round; reducer pulls ${describePulls(pulls)}`,
    );
    if (mode === 'locality-on-tcp' && pulls.shm > 0) this.ctx.log(`WARNING ${name}: ${pulls.shm} pulls took shared memory, though its node agents run with xdt-shm-dir off`);
    if (mode !== 'locality-on-tcp' && sameNodeObjects(rounds) > 0 && pulls.shm === 0) this.ctx.log(`WARNING ${name}: no pull took shared memory (is /dev/shm missing? see the node agents' logs)`);
  }

  /** Each rate's case name with its results in modes `a` and `b`, at the rates where both ran. */
  private *bothRan(a: Mode, b: Mode): Generator<{ name: string; a: CaseResult; b: CaseResult }> {
    for (const [rate, modes] of this.cases) {
      const resultA = modes.get(a);
      const resultB = modes.get(b);
      if (resultA && resultB) yield { name: this.caseOf(rate || undefined), a: resultA, b: resultB };
    }
  }

  speedups(): void {
    for (const { name, a: on, b: off } of this.bothRan('locality-on', 'locality-off')) {
      this.ctx.emit({ bench: BENCH, case: name, metric: 'speedup', value: off.summary.p50Ms / on.summary.p50Ms, unit: 'x' });
      this.ctx.emit({ bench: BENCH, case: name, metric: 'speedup_p95', value: off.summary.p95Ms / on.summary.p95Ms, unit: 'x' });
    }
  }

  /** Per rate with locality-on-tcp: what the same-node shared-memory path is worth (informational, no target). */
  fastPath(): void {
    for (const { name, a: on, b: tcp } of this.bothRan('locality-on', 'locality-on-tcp')) {
      const emit = (metric: string, value: number, unit: string) => this.ctx.emit({ bench: BENCH, case: name, metric, value, unit });
      const speedup = tcp.summary.p50Ms / on.summary.p50Ms;
      emit('fast_path_speedup', speedup, 'x');
      emit('fast_path_speedup_p95', tcp.summary.p95Ms / on.summary.p95Ms, 'x');
      if (on.shuffleCpuS > 0) emit('fast_path_cpu_ratio', tcp.shuffleCpuS / on.shuffleCpuS, 'x');
      this.ctx.log(
        `${name}: fast path: makespan p50 ${tcp.summary.p50Ms.toFixed(0)} ms over TCP vs ${on.summary.p50Ms.toFixed(0)} ms with shared memory = ${speedup.toFixed(2)}×; ` +
          `shuffle CPU ${tcp.shuffleCpuS.toFixed(2)} vs ${on.shuffleCpuS.toFixed(2)} s/round (queue-proxies ${tcp.queueProxyCpuS.toFixed(2)} vs ${on.queueProxyCpuS.toFixed(2)}); ` +
          `pulls on-tcp: ${describePulls(tcp.pulls)}; on: ${describePulls(on.pulls)}`,
      );
    }
  }

  async charts(): Promise<void> {
    const stamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
    const modes = MODES;
    const rates = [...this.cases.keys()];
    const where = this.where.topology === 'netns' ? `netns, ${this.settings.ratesMbit.join('/')} Mbit/s links` : 'loopback nodes (no shaped link)';
    const shape = `${this.settings.mappers} mappers × ${this.settings.reducers} reducers × ${this.settings.objectBytes / MiB} MiB`;
    if (this.where.topology === 'netns' && rates.length > 1) {
      const file = path.join(RESULTS_DIR, `locality-makespan-vs-rate-${stamp}.svg`);
      await writeLineChart(file, {
        title: `Shuffle makespan (p50) vs link rate: ${shape}`,
        xLabel: 'link rate per direction (Mbit/s)',
        yLabel: 'p50 makespan (ms)',
        logX: true,
        series: modes.map((mode) => ({ name: mode, points: rates.filter((r) => this.cases.get(r)!.has(mode)).map((r) => ({ x: r, y: this.cases.get(r)!.get(mode)!.summary.p50Ms })) })),
      });
      this.ctx.log(`chart ${file}`);
    }
    const file = path.join(RESULTS_DIR, `locality-rounds-${stamp}.svg`);
    await writeLineChart(file, {
      title: `Shuffle makespan per round: ${shape} (${where})`,
      xLabel: 'round',
      yLabel: 'makespan (ms)',
      series: rates.flatMap((r) =>
        modes
          .filter((mode) => this.cases.get(r)!.has(mode))
          .map((mode) => ({ name: r ? `${mode.replace('locality-', '')}, ${r} Mbit/s` : mode, points: this.cases.get(r)!.get(mode)!.makespansMs.map((y, i) => ({ x: i + 1, y })) })),
      ),
    });
    this.ctx.log(`chart ${file}`);
  }
}

/** Starts the cluster of `mode` and waits until its reducer has one ready instance per node, reachable. */
async function deploy(ctx: SuiteContext, settings: LocalitySettings, where: Where, mode: Mode, subnetBase: number): Promise<Deployment> {
  const logDir = mkdtempSync(path.join(os.tmpdir(), `sluice-bench-locality-${mode}-`));
  const env = clusterEnv(mode, path.join(logDir, 'xdt.key'));
  ctx.log(`starting a two-node local cluster, ${mode} (activator key ${env.SLUICE_ACTIVATOR_XDT_KEY_FILE === '' ? 'none: round-robin' : 'set: locality routing'}, node agents' xdt-shm-dir ${env.SLUICE_NODE_AGENT_XDT_SHM_DIR}); logs in ${logDir}`);
  let cluster: LocalCluster | undefined;
  const stop = ctx.cleanup.defer(`local cluster ${mode}`, async () => {
    await cluster?.stop();
    cluster = undefined;
  });
  cluster = await startLocalCluster({
    functions: shuffleFunctions(settings),
    workDir: REPO_ROOT,
    nodes: 2,
    port: 0,
    subnetBase,
    domain: DOMAIN,
    logDir,
    // The activator's key: the one startLocalCluster writes into logDir, or none (locality-off); the node agents'
    // shared-memory directory: auto, or off (locality-on-tcp). Named for every mode, so this process's environment
    // cannot change one by accident.
    env,
    logger: silentLogger(),
    startTimeoutMs: 30_000,
    host: where.host,
    nodePlacement: nodePlacement(where, mode),
  });
  const { nodes: reducerNodes, metricsUrls: reducerMetricsUrls } = await reducersReady(ctx, cluster);
  ctx.log(`${mode}: reducer instances ${[...reducerNodes].map(([i, n]) => `${i}@${n}`).join(', ')}; reducer containerConcurrency ${settings.reducerConcurrency}`);
  return { mode, cluster, reducerNodes, reducerMetricsUrls, stop };
}

/**
 * The clusters run side by side (idle but for the one measured); at each rate, one warm-up round for each of
 * `deployments` (the modes measured at this rate), then rounds alternating on/off/tcp, tcp/off/on, … so drift and
 * other load on this host fall on all alike.
 */
async function measureRate(ctx: SuiteContext, settings: LocalitySettings, where: Where, results: Results, deployments: readonly Deployment[], rate: number | undefined): Promise<void> {
  if (rate !== undefined) await where.net!.setRate(rate);
  for (const d of deployments) await shuffleRound(ctx, d, where, settings, 0);
  const rounds = new Map<Mode, RoundResult[]>(deployments.map((d) => [d.mode, []]));
  for (let round = 1; round <= settings.rounds; round++) {
    for (const d of roundOrder(deployments, round)) {
      if (ctx.signal.aborted) return;
      const r = await shuffleRound(ctx, d, where, settings, round);
      ctx.log(
        `${results.caseOf(rate, d.mode)} round ${round}: ${r.makespanMs.toFixed(0)} ms, ${r.crossNode}/${r.objects} objects across nodes, host CPU ${r.hostCpuBusy.toFixed(0)} % busy, ours ${(r.benchCpuMs / 1000).toFixed(2)} s, decisions ${JSON.stringify(r.decisions)}, pulls ${JSON.stringify(r.pulls)}${where.net ? `, ${(r.linkBytes / MiB).toFixed(1)} MiB out of the nodes` : ''}`,
      );
      rounds.get(d.mode)!.push(r);
    }
  }
  for (const d of deployments) results.record(rate, d.mode, rounds.get(d.mode)!);
}

/** CPU milliseconds per second this benchmark's processes use while no shuffle runs, by role. */
async function idleCpu(ctx: SuiteContext): Promise<Record<string, number>> {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  await sleep(2_000);
  const before = treeCpuMs();
  const startedAt = performance.now();
  await sleep(ctx.quick ? 3_000 : 5_000);
  const after = treeCpuMs();
  const seconds = (performance.now() - startedAt) / 1000;
  const byRole = Object.fromEntries(Object.entries(cpuMsByRole(before, after, processRoles(after.keys()))).map(([role, ms]) => [role, ms / seconds]));
  const total = Object.values(byRole).reduce((a, b) => a + b, 0);
  ctx.log(`idle: all clusters use ${(total / 1000).toFixed(3)} CPU-s per second (${Object.entries(byRole).map(([r, ms]) => `${r} ${(ms / 1000).toFixed(3)}`).join(', ')})`);
  ctx.emit({ bench: BENCH, case: 'idle', metric: 'bench_cpu', value: total / 1000, unit: 'CPU-s/s' });
  return byRole;
}

async function run(ctx: SuiteContext): Promise<void> {
  const settings = localitySettings(ctx.quick);
  const shuffleMiB = (settings.mappers * settings.reducers * settings.objectBytes) / MiB;
  ctx.log(
    `shuffle: ${settings.mappers} mappers × ${settings.reducers} reducers × ${settings.objectBytes / MiB} MiB = ${shuffleMiB} MiB a round, ${settings.rounds} rounds per case; reducer containerConcurrency ${settings.reducerConcurrency}`,
  );
  const where = await chooseTopology(ctx, settings);
  ctx.emit({ bench: BENCH, case: 'topology', metric: 'netns', value: where.topology === 'netns' ? 1 : 0, unit: 'bool' });
  if (where.net) for (const rate of settings.ratesMbit) ctx.emit({ bench: BENCH, case: 'topology', metric: `link_rate_${rate}`, value: rate, unit: 'Mbit/s' });
  ctx.emit({ bench: BENCH, case: 'topology', metric: 'shuffle_bytes', value: shuffleMiB, unit: 'MiB/round' });
  const results = new Results(ctx, where, settings);
  const rates = where.net ? settings.ratesMbit : [undefined];
  for (const rate of rates) ctx.target({ bench: BENCH, case: results.caseOf(rate), metric: 'speedup', comparison: 'at-least', threshold: SPEEDUP_TARGET } satisfies BenchTarget);

  // Loopback node ranges 127.0.232–237 (two per cluster), away from the e2e tests' subnets (150–231) and the xdt and
  // pm suites' (240–253). (With three clusters, two loopback runs of this suite at once no longer fit in 232–239; on
  // namespaces the node ranges are NODE_SUBNETS, and a second run finds the bridge subnet taken anyway.)
  const subnetBase = 232;
  const deployments: Deployment[] = [];
  try {
    for (const [i, mode] of MODES.entries()) {
      if (ctx.signal.aborted) return;
      deployments.push(await deploy(ctx, settings, where, mode, subnetBase + 2 * i));
    }
    results.background = await idleCpu(ctx);
    for (const [i, rate] of rates.entries()) {
      if (ctx.signal.aborted) return;
      const modes = modesAtRate(i, ctx.quick);
      await measureRate(ctx, settings, where, results, deployments.filter((d) => modes.includes(d.mode)), rate);
    }
  } catch (err) {
    // Ctrl-C aborts the requests in flight: not a failure of the suite.
    if (ctx.signal.aborted) return;
    throw err;
  }
  for (const d of deployments) await d.stop();
  if (ctx.signal.aborted) return;
  results.speedups();
  results.fastPath();
  await results.charts();
}

export const localitySuite: Suite = {
  name: 'locality',
  description:
    'a shuffle (8 mappers × 4 reducers by XDT) on two nodes in network namespaces with 1 Gbit/s links: locality-aware routing on vs off, and on without the same-node shared-memory path',
  run,
};
