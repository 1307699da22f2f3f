// The "locality" suite: a shuffle (M mapper invocations × R partitions, each partition one invocation of the reducer
// carrying its object by XDT reference) with the activator's locality-aware routing on vs off, on nodes in network
// namespaces whose links tc shapes (1 Gbit/s per direction by default; a sweep of rates in full mode). Falls back to
// loopback nodes, saying so, where namespaces cannot be made.
//
// Two clusters run side by side, identical but for the activator's cluster key (locality on / off): four namespaces
// on one bridge (bench/xdt/netns.ts), two nodes per cluster, control planes in the root namespace on the bridge, as in
// the XDT bench. Rounds alternate between the clusters (on/off, off/on, …), so drift and other load on this host fall
// on both alike. Placement, identical in both: mapper functions loc-mapper-1 / loc-mapper-2 pinned to node-1 / node-2,
// one instance each; the reducer loc-reducer with exactly one instance per node (minScale = maxScale = 2, the
// scheduler's spread plugin), containerConcurrency = one node's partitions in flight (⌈M/2⌉ × R). The function program
// is examples/xdt: a mapper is GET /produce?to=loc-reducer&count=R (R concurrent invokeStream by reference, each answer
// naming the reducer instance), a reducer is POST /digest (reads the object whole, sha256).
//
// Per case: makespan (first mapper request to last answer) p50/p95/mean, object bytes that crossed nodes (from which
// reducer instance answered), bytes out of the nodes onto their links (veth counters), the activator's locality
// decisions, CPU (this benchmark's process tree, also by role and net of both clusters' idle use measured first; and
// the host's busy share, which shows other load).
import { mkdtempSync, readFileSync } from 'node:fs';
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
  hostCpuBusy,
  linkUtilization,
  localityDecisions,
  localitySettings,
  MAPPER_FUNCTIONS,
  parseHostCpu,
  NODES,
  REDUCER_FUNCTION,
  shufflePlan,
  summarizeMakespans,
  type LocalityDecisions,
  type LocalitySettings,
  type MakespanSummary,
  type Mode,
  type ProduceAnswer,
} from './locality/shuffle.js';
import type { BenchTarget } from './record.js';
import type { Suite, SuiteContext } from './suite.js';
import { cpuMsByRole, cpuMsSince, processRoles, treeCpuMs } from './locality/process-tree.js';
import { writeLineChart } from './xdt/chart.js';
import { createTopology, type Topology } from './xdt/netns.js';

const BENCH = 'locality';
const HOST = '127.0.0.1';
const DOMAIN = 'sluice.localhost';
const REPO_ROOT = path.resolve(DIST_DIR, '..');
const RESULTS_DIR = path.join(REPO_ROOT, 'bench', 'results');
const MiB = 2 ** 20;
const SPEEDUP_TARGET = 1.5;
const MODES: readonly Mode[] = ['locality-on', 'locality-off'];
/** Each cluster's two nodes in the namespace topology, and their instance ranges (node agent subnets). */
const NS_NODES: Record<Mode, readonly string[]> = { 'locality-on': ['on1', 'on2'], 'locality-off': ['off1', 'off2'] };
const NODE_SUBNETS: Record<Mode, readonly string[]> = { 'locality-on': ['10.214.1', '10.214.2'], 'locality-off': ['10.214.3', '10.214.4'] };

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
 * Four namespaces on the shaped bridge (two nodes per cluster, so both clusters run side by side and their rounds
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
  ctx.log(`topology: netns — cluster ${MODES[0]}: ${describe(MODES[0])}; cluster ${MODES[1]}: ${describe(MODES[1])}; control planes on the bridge ${net.hostAddress}`);
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

/** One cluster: locality routing on or off, its reducer instances' nodes. */
interface Deployment {
  mode: Mode;
  cluster: LocalCluster;
  /** Reducer instance name → node. */
  reducerNodes: Map<string, string>;
  stop: () => Promise<void>;
}

/** Bytes out of each of the deployment's nodes onto its link, so far (netns only). */
function linkBytesOut(where: Where, mode: Mode): number[] {
  return where.net ? NS_NODES[mode].map((node) => where.net!.linkBytes(node).fromNode) : [0, 0];
}

/** The reducer's instance → node, once it has one ready instance per node and the activator routes to both. */
async function reducersReady(ctx: SuiteContext, cluster: LocalCluster): Promise<Map<string, string>> {
  const ready = () => cluster.controller.functionStatus().find((f) => f.record.name === REDUCER_FUNCTION)?.instances.filter((i) => i.phase === 'INSTANCE_PHASE_READY') ?? [];
  const deadline = Date.now() + 60_000;
  while (ready().length < 2) {
    if (Date.now() > deadline || ctx.signal.aborted) throw new Error(`${REDUCER_FUNCTION} did not get 2 ready instances (has ${ready().length})`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const nodes = new Map(ready().map((i) => [i.name, i.node]));
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
  return nodes;
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
  /** The same by role: queue-proxy, function, activator, node-agent, bench (this process), … */
  cpuMsByRole: Record<string, number>;
  decisions: LocalityDecisions;
}

/** One shuffle: every mapper at once, each passing R objects to the reducer; timed from the first request to the last answer. */
async function shuffleRound(ctx: SuiteContext, d: Deployment, where: Where, settings: LocalitySettings, round: number): Promise<RoundResult> {
  const { cluster } = d;
  const plan = shufflePlan(settings, round);
  const decisionsBefore = await activatorDecisions(cluster);
  const linkBefore = linkBytesOut(where, d.mode);
  const cpuBefore = parseHostCpu(readFileSync('/proc/stat', 'utf8'));
  const treeBefore = treeCpuMs();
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
  const cpuBusy = hostCpuBusy(cpuBefore, parseHostCpu(readFileSync('/proc/stat', 'utf8')));
  const treeAfter = treeCpuMs();
  const benchCpuMs = cpuMsSince(treeBefore, treeAfter);
  const byRole = cpuMsByRole(treeBefore, treeAfter, processRoles(treeAfter.keys()));
  const linkOut = linkBytesOut(where, d.mode).map((b, i) => b - linkBefore[i]);
  const account = accountRound(plan, answers, d.reducerNodes, settings.objectBytes);
  if (account.failures.length > 0) throw new Error(`${d.mode} shuffle round ${round} failed:\n${account.failures.slice(0, 10).join('\n')}`);
  const decisions = decisionsSince(decisionsBefore, await activatorDecisions(cluster));
  return { makespanMs, crossNodeBytes: account.crossNodeBytes, crossNode: account.crossNode, objects: account.objects, linkBytes: linkOut[0] + linkOut[1], busiestLinkBytes: Math.max(...linkOut), hostCpuBusy: cpuBusy, benchCpuMs, cpuMsByRole: byRole, decisions };
}

interface CaseResult {
  summary: MakespanSummary;
  makespansMs: number[];
}

class Results {
  /** rate (or 0 on loopback) → mode → result */
  readonly cases = new Map<number, Map<Mode, CaseResult>>();

  /** CPU milliseconds per second both clusters use when idle, by role (measured before the rounds). */
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
    // Net of what both clusters burn idle over the round's duration (a longer round carries more of it).
    const net = (r: RoundResult, role?: string): number => {
      const used = role === undefined ? r.benchCpuMs : (r.cpuMsByRole[role] ?? 0);
      const idle = role === undefined ? Object.values(this.background).reduce((a, b) => a + b, 0) : (this.background[role] ?? 0);
      return Math.max(0, used - (idle * r.makespanMs) / 1000);
    };
    emit('shuffle_cpu_seconds', mean((r) => net(r)) / 1000, 's/round');
    const roles = [...new Set(rounds.flatMap((r) => Object.keys(r.cpuMsByRole)))].sort();
    for (const role of roles) emit(`shuffle_cpu_seconds_${role.replaceAll('-', '_')}`, mean((r) => net(r, role)) / 1000, 's/round');
    emit('other_cpu_seconds', mean((r) => Math.max(0, (r.hostCpuBusy / 100) * (r.makespanMs / 1000) * os.availableParallelism() - r.benchCpuMs / 1000)), 's/round');
    emit('local_decisions', decided === 0 ? 0 : (100 * rounds.reduce((s, r) => s + r.decisions.local, 0)) / decided, '%');
    emit('decided_invocations', decided / rounds.length, 'per round');
    let modes = this.cases.get(rateMbit ?? 0);
    if (!modes) this.cases.set(rateMbit ?? 0, (modes = new Map()));
    modes.set(mode, { summary, makespansMs });
    this.ctx.log(`${name}: makespan p50 ${summary.p50Ms.toFixed(0)} ms, p95 ${summary.p95Ms.toFixed(0)} ms; ${(mean((r) => r.crossNodeBytes) / MiB).toFixed(0)} MiB/round across nodes`);
  }

  speedups(): void {
    for (const [rate, modes] of this.cases) {
      const on = modes.get('locality-on');
      const off = modes.get('locality-off');
      if (!on || !off) continue;
      const name = this.caseOf(rate || undefined);
      this.ctx.emit({ bench: BENCH, case: name, metric: 'speedup', value: off.summary.p50Ms / on.summary.p50Ms, unit: 'x' });
      this.ctx.emit({ bench: BENCH, case: name, metric: 'speedup_p95', value: off.summary.p95Ms / on.summary.p95Ms, unit: 'x' });
    }
  }

  async charts(): Promise<void> {
    const stamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
    const modes: Mode[] = ['locality-on', 'locality-off'];
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
  ctx.log(`starting a two-node local cluster, ${mode}; logs in ${logDir}`);
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
    env: {
      SLUICE_NODE_AGENT_PM_MODE: 'off',
      // On: the key startLocalCluster writes into logDir (named here, so an SLUICE_ACTIVATOR_XDT_KEY_FILE in this
      // process's environment cannot turn it off by accident); off: none.
      SLUICE_ACTIVATOR_XDT_KEY_FILE: mode === 'locality-on' ? path.join(logDir, 'xdt.key') : '',
    },
    logger: silentLogger(),
    startTimeoutMs: 30_000,
    host: where.host,
    nodePlacement: nodePlacement(where, mode),
  });
  const reducerNodes = await reducersReady(ctx, cluster);
  ctx.log(`${mode}: reducer instances ${[...reducerNodes].map(([i, n]) => `${i}@${n}`).join(', ')}; reducer containerConcurrency ${settings.reducerConcurrency}`);
  return { mode, cluster, reducerNodes, stop };
}

/**
 * Both clusters run side by side (idle but for the one measured); at each rate, one warm-up round each, then rounds
 * alternating on/off, off/on, … so drift and other load on this host fall on both alike.
 */
async function measureRate(ctx: SuiteContext, settings: LocalitySettings, where: Where, results: Results, deployments: readonly Deployment[], rate: number | undefined): Promise<void> {
  if (rate !== undefined) await where.net!.setRate(rate);
  for (const d of deployments) await shuffleRound(ctx, d, where, settings, 0);
  const rounds = new Map<Mode, RoundResult[]>(deployments.map((d) => [d.mode, []]));
  for (let round = 1; round <= settings.rounds; round++) {
    for (const d of round % 2 === 1 ? deployments : [...deployments].reverse()) {
      if (ctx.signal.aborted) return;
      const r = await shuffleRound(ctx, d, where, settings, round);
      ctx.log(
        `${results.caseOf(rate, d.mode)} round ${round}: ${r.makespanMs.toFixed(0)} ms, ${r.crossNode}/${r.objects} objects across nodes, host CPU ${r.hostCpuBusy.toFixed(0)} % busy, ours ${(r.benchCpuMs / 1000).toFixed(2)} s, decisions ${JSON.stringify(r.decisions)}${where.net ? `, ${(r.linkBytes / MiB).toFixed(1)} MiB out of the nodes` : ''}`,
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
  ctx.log(`idle: both clusters use ${(total / 1000).toFixed(3)} CPU-s per second (${Object.entries(byRole).map(([r, ms]) => `${r} ${(ms / 1000).toFixed(3)}`).join(', ')})`);
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

  // Away from the e2e tests' subnets (150–231) and the xdt and pm suites' (240–253): 232–235 or 236–239.
  const subnetBase = 232 + (process.pid % 2) * 4;
  const deployments: Deployment[] = [];
  try {
    for (const [i, mode] of MODES.entries()) {
      if (ctx.signal.aborted) return;
      deployments.push(await deploy(ctx, settings, where, mode, subnetBase + 2 * i));
    }
    results.background = await idleCpu(ctx);
    for (const rate of rates) {
      if (ctx.signal.aborted) return;
      await measureRate(ctx, settings, where, results, deployments, rate);
    }
  } catch (err) {
    // Ctrl-C aborts the requests in flight: not a failure of the suite.
    if (ctx.signal.aborted) return;
    throw err;
  }
  for (const d of deployments) await d.stop();
  if (ctx.signal.aborted) return;
  results.speedups();
  await results.charts();
}

export const localitySuite: Suite = {
  name: 'locality',
  description: 'a shuffle (8 mappers × 4 reducers by XDT) on two nodes in network namespaces with 1 Gbit/s links: locality-aware routing on vs off',
  run,
};
