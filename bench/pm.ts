// The "pm" suite: the published PM-write experiment scaled to this machine. T tasks write a fixed volume to PM at once
// through a real one-node local cluster (activator → queue-proxy → examples/pm → the node's emulated device), with
// PM-write admission off (uncontrolled), on (the calibrated limit), and at each fixed limit (the oracle is the best of
// those); plus the overhead of the PM path where the device shows no contention (plain directory vs PM off). Each
// configuration also records the load on this host during its rounds (host_cpu_busy, other_cpu_seconds: the CPU that
// processes outside this benchmark's process tree used), and warns when that load may have disturbed the results.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DIST_DIR } from '../cli/components.js';
import { startLocalCluster, type LocalCluster } from '../cli/local-cluster.js';
import { parseFunctionDefinition } from '../lib/function-spec.js';
import { silentLogger } from '../lib/logger.js';
import { waitForHttpOk } from '../lib/net.js';
import { measureHostLoad, type HostLoad } from './host-load.js';
import { percentile } from './percentile.js';
import type { BenchTarget } from './record.js';
import type { Suite, SuiteContext } from './suite.js';

const BENCH = 'pm';
const DOMAIN = 'sluice.localhost';
const REPO_ROOT = path.resolve(DIST_DIR, '..');
const MIB = 2 ** 20;
const METRICS_PORT = 9095;
/** Other processes' CPU in a round above which the round may have been disturbed (a quiet host shows 0–0.05 s). */
const OTHER_LOAD_WARNING_SECONDS = 0.3;

export interface PmSettings {
  tasks: number;
  bytesPerTask: number;
  rounds: number;
  /** Fixed writer limits tried for the oracle. */
  oracleLimits: number[];
}

export function pmSettings(quick: boolean): PmSettings {
  return quick
    ? { tasks: 16, bytesPerTask: 8 * MIB, rounds: 2, oracleLimits: [2, 4, 8] }
    : { tasks: 24, bytesPerTask: 16 * MIB, rounds: 4, oracleLimits: [1, 2, 3, 4, 6, 8, 12] };
}

export const PM_TARGETS: readonly BenchTarget[] = [
  { bench: BENCH, case: 'write-only', metric: 'mean_jct_speedup_vs_uncontrolled', comparison: 'at-least', threshold: 1.8 },
  { bench: BENCH, case: 'write-only', metric: 'mean_jct_vs_oracle', comparison: 'at-most', threshold: 1.1 },
  { bench: BENCH, case: 'read-write', metric: 'mean_jct_speedup_vs_uncontrolled', comparison: 'at-least', threshold: 1.8 },
  { bench: BENCH, case: 'no-contention', metric: 'mean_jct_overhead', comparison: 'at-most', threshold: 1.03 },
];

interface RoundResult {
  jctMs: number[];
  makespanMs: number;
  /** The host's load over the round. */
  load: HostLoad;
}

interface CaseResult {
  meanMs: number;
  /** Mean JCT of the writing tasks and of the reading tasks (NaN when there are none). */
  writerMeanMs: number;
  readerMeanMs: number;
  p99Ms: number;
  throughputMBps: number;
  maxWaitMs: number;
  /** Mean over the rounds of the host's busy share (%), and of the CPU seconds this benchmark's tree used. */
  hostCpuBusy: number;
  benchCpuSeconds: number;
  /** Per round, the CPU seconds other processes on the host used. */
  otherCpuSeconds: number[];
}

/** One cluster configuration: started, warmed, measured `rounds` times with T concurrent tasks, stopped. */
/** `tasks`: per task, the function and path it calls (e.g. "pm-writer/write?bytes=N"). */
async function measure(ctx: SuiteContext, name: string, env: Record<string, string>, settings: PmSettings, tasks: readonly string[]): Promise<CaseResult> {
  const logDir = mkdtempSync(path.join(os.tmpdir(), `sluice-bench-pm-${name}-`));
  const subnetBase = 240 + (process.pid % 14);
  const functions = ['pm-writer', 'pm-reader'].map((fnName) =>
    parseFunctionDefinition(
      {
        apiVersion: 'sluice.dev/v1alpha1',
        kind: 'Function',
        metadata: { name: fnName },
        spec: {
          container: { image: 'sluice/example-pm', command: ['node', 'dist/examples/pm/main.js'], readinessPath: '/healthz' },
          scaling: { minScale: 1, initialScale: 1 },
        },
      },
      'bench',
    ),
  );
  let cluster: LocalCluster | undefined;
  const stop = ctx.cleanup.defer(`pm cluster ${name}`, async () => {
    await cluster?.stop();
    cluster = undefined;
  });
  try {
    cluster = await startLocalCluster({
      functions,
      workDir: REPO_ROOT,
      nodes: 1,
      port: 0,
      subnetBase,
      domain: DOMAIN,
      logDir,
      env: { SLUICE_NODE_AGENT_METRICS_PORT: String(METRICS_PORT), SLUICE_NODE_AGENT_PM_STATE_FILE: path.join(logDir, 'pm-profiles.json'), ...env },
      logger: silentLogger(),
      startTimeoutMs: 30_000,
    });
    const urls = tasks.map((t) => `${cluster!.ingressUrl}/fn/default/${t}`);
    for (const f of ['pm-writer', 'pm-reader']) {
      await waitForHttpOk(`${cluster.ingressUrl}/fn/default/${f}/write?bytes=0`, { timeoutMs: 30_000, intervalMs: 100, signal: ctx.signal });
    }
    // Teach the profiler which functions write, and let the queue-proxies learn the limit, before measuring. The
    // reader's first call writes its input file, so its written-bytes average needs ~25 calls (α 0.2) to fall below
    // the writer threshold: the profile converging, as it would in production.
    for (const url of new Set(urls)) for (let i = 0; i < (url.includes('/read?') ? 30 : 3); i++) await (await fetch(url)).text();
    const rounds: RoundResult[] = [];
    for (let r = 0; r < settings.rounds && !ctx.signal.aborted; r++) rounds.push(await round(urls));
    const jct = rounds.flatMap((x) => x.jctMs);
    const byClass = (reader: boolean): number => {
      const xs = rounds.flatMap((x) => x.jctMs.filter((_, i) => tasks[i].includes('/read?') === reader));
      return xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
    };
    const makespan = rounds.reduce((a, x) => a + x.makespanMs, 0) / rounds.length;
    const maxWaitMs = await scrapeMaxWait(`http://127.0.${subnetBase}.1:${METRICS_PORT}/metrics`);
    const meanOf = (f: (x: RoundResult) => number) => rounds.reduce((a, x) => a + f(x), 0) / rounds.length;
    return {
      meanMs: jct.reduce((a, b) => a + b, 0) / jct.length,
      writerMeanMs: byClass(false),
      readerMeanMs: byClass(true),
      p99Ms: percentile(jct, 99),
      throughputMBps: (tasks.length * settings.bytesPerTask) / 1e6 / (makespan / 1000),
      maxWaitMs,
      hostCpuBusy: meanOf((x) => x.load.hostCpuBusy),
      benchCpuSeconds: meanOf((x) => x.load.benchCpuMs) / 1000,
      otherCpuSeconds: rounds.map((x) => x.load.otherCpuSeconds),
    };
  } finally {
    await stop();
  }
}

async function round(urls: readonly string[]): Promise<RoundResult> {
  const endLoad = measureHostLoad();
  const started = performance.now();
  const jctMs = await Promise.all(
    urls.map(async (url) => {
      const t0 = performance.now();
      const res = await fetch(url);
      const body = await res.text();
      if (res.status !== 200) throw new Error(`task failed: ${res.status} ${body.slice(0, 200)}`);
      return performance.now() - t0;
    }),
  );
  const makespanMs = performance.now() - started;
  return { jctMs, makespanMs, load: endLoad() };
}

/** The node's longest admission wait so far (sluice_node_agent_pm_max_wait_seconds), in ms; 0 without admission. */
async function scrapeMaxWait(metricsUrl: string): Promise<number> {
  try {
    const text = await (await fetch(metricsUrl)).text();
    const line = text.split('\n').find((l) => l.startsWith('sluice_node_agent_pm_max_wait_seconds'));
    return line ? Number(line.split(' ').pop()) * 1000 : 0;
  } catch {
    return 0;
  }
}

function emitCase(ctx: SuiteContext, caseName: string, r: CaseResult): void {
  ctx.emit({ bench: BENCH, case: caseName, metric: 'mean_jct', value: r.meanMs, unit: 'ms' });
  ctx.emit({ bench: BENCH, case: caseName, metric: 'p99_jct', value: r.p99Ms, unit: 'ms' });
  ctx.emit({ bench: BENCH, case: caseName, metric: 'throughput', value: r.throughputMBps, unit: 'MB/s' });
  ctx.emit({ bench: BENCH, case: caseName, metric: 'max_writer_wait', value: r.maxWaitMs, unit: 'ms' });
  if (!Number.isNaN(r.readerMeanMs)) {
    ctx.emit({ bench: BENCH, case: caseName, metric: 'writer_mean_jct', value: r.writerMeanMs, unit: 'ms' });
    ctx.emit({ bench: BENCH, case: caseName, metric: 'reader_mean_jct', value: r.readerMeanMs, unit: 'ms' });
  }
  const other = r.otherCpuSeconds;
  const otherMean = other.reduce((a, b) => a + b, 0) / other.length;
  ctx.emit({ bench: BENCH, case: caseName, metric: 'host_cpu_busy', value: r.hostCpuBusy, unit: '%' });
  ctx.emit({ bench: BENCH, case: caseName, metric: 'other_cpu_seconds', value: otherMean, unit: 's/round' });
  const rounds = other.map((s) => s.toFixed(2)).join(', ');
  ctx.log(`${caseName}: host CPU ${r.hostCpuBusy.toFixed(0)} % busy, this benchmark ${r.benchCpuSeconds.toFixed(2)} s/round, other processes ${rounds} s by round`);
  if (other.some((s) => s > OTHER_LOAD_WARNING_SECONDS)) {
    ctx.log(`WARNING ${caseName}: other load on the host: results may be disturbed (other processes used ${rounds} s of CPU by round; over ${OTHER_LOAD_WARNING_SECONDS} s in a round)`);
  }
}

const EMULATED = { SLUICE_NODE_AGENT_PM_MODE: 'emulated' };

export const pmSuite: Suite = {
  name: BENCH,
  description: 'PM-write admission: T concurrent writers on the emulated device, uncontrolled vs admission vs the best fixed limit; overhead without contention',
  async run(ctx) {
    const settings = pmSettings(ctx.quick);
    for (const t of PM_TARGETS) ctx.target(t);
    const write = `pm-writer/write?bytes=${settings.bytesPerTask}`;
    const read = `pm-reader/read?bytes=${settings.bytesPerTask}`;
    // write-only: every task writes; read-write: half the tasks write, half read (readers are never admitted against the limit).
    const mixes: Array<[string, string[]]> = [
      ['write-only', Array.from({ length: settings.tasks }, () => write)],
      ['read-write', Array.from({ length: settings.tasks }, (_, i) => (i % 2 === 0 ? write : read))],
    ];
    for (const [mix, query] of mixes) {
      ctx.log(`${mix}: ${settings.tasks} tasks × ${settings.bytesPerTask / MIB} MiB, ${settings.rounds} rounds per configuration`);
      const uncontrolled = await measure(ctx, `${mix}-uncontrolled`, { ...EMULATED, SLUICE_NODE_AGENT_PM_WRITER_LIMIT: 'unbounded' }, settings, query);
      emitCase(ctx, `${mix}/uncontrolled`, uncontrolled);
      const admission = await measure(ctx, `${mix}-admission`, { ...EMULATED, SLUICE_NODE_AGENT_PM_WRITER_LIMIT: 'auto' }, settings, query);
      emitCase(ctx, `${mix}/admission`, admission);
      let oracle: CaseResult | undefined;
      let oracleLimit = 0;
      for (const limit of mix === 'write-only' ? settings.oracleLimits : [Math.min(...settings.oracleLimits.filter((l) => l >= 4))]) {
        if (ctx.signal.aborted) return;
        const r = await measure(ctx, `${mix}-limit-${limit}`, { ...EMULATED, SLUICE_NODE_AGENT_PM_WRITER_LIMIT: String(limit) }, settings, query);
        emitCase(ctx, `${mix}/limit-${limit}`, r);
        if (!oracle || r.meanMs < oracle.meanMs) [oracle, oracleLimit] = [r, limit];
      }
      ctx.emit({ bench: BENCH, case: mix, metric: 'mean_jct_speedup_vs_uncontrolled', value: uncontrolled.meanMs / admission.meanMs, unit: 'x' });
      ctx.emit({ bench: BENCH, case: mix, metric: 'mean_jct_vs_oracle', value: admission.meanMs / oracle!.meanMs, unit: 'x' });
      ctx.emit({ bench: BENCH, case: mix, metric: 'oracle_limit', value: oracleLimit, unit: 'writers' });
      if (!Number.isNaN(admission.readerMeanMs)) {
        // Read-prefer: the writers gain, the readers must not lose.
        ctx.emit({ bench: BENCH, case: mix, metric: 'writer_speedup_vs_uncontrolled', value: uncontrolled.writerMeanMs / admission.writerMeanMs, unit: 'x' });
        ctx.emit({ bench: BENCH, case: mix, metric: 'reader_slowdown_vs_uncontrolled', value: admission.readerMeanMs / uncontrolled.readerMeanMs, unit: 'x' });
      }
    }
    // No contention: a plain directory (no time model). Baseline: admission disabled by configuration. Candidate:
    // the default (calibrated: no collapse, so unbounded and the queue-proxy never asks). Gate-on forces a limit no
    // one reaches, so every invocation pays the Acquire/Release round trip: the per-request cost of the gate itself.
    ctx.log('no contention: plain directory, admission off vs calibrated (unbounded) vs gate forced on');
    const query = Array.from({ length: settings.tasks }, () => write);
    const baseline = await measure(ctx, 'no-contention-off', { SLUICE_NODE_AGENT_PM_MODE: 'plain', SLUICE_NODE_AGENT_PM_WRITER_LIMIT: 'unbounded' }, settings, query);
    emitCase(ctx, 'no-contention/admission-off', baseline);
    const calibrated = await measure(ctx, 'no-contention-auto', { SLUICE_NODE_AGENT_PM_MODE: 'plain', SLUICE_NODE_AGENT_PM_WRITER_LIMIT: 'auto' }, settings, query);
    emitCase(ctx, 'no-contention/calibrated', calibrated);
    const gateOn = await measure(ctx, 'no-contention-gate', { SLUICE_NODE_AGENT_PM_MODE: 'plain', SLUICE_NODE_AGENT_PM_WRITER_LIMIT: '10000' }, settings, query);
    emitCase(ctx, 'no-contention/gate-on', gateOn);
    ctx.emit({ bench: BENCH, case: 'no-contention', metric: 'mean_jct_overhead', value: calibrated.meanMs / baseline.meanMs, unit: 'x' });
    ctx.emit({ bench: BENCH, case: 'no-contention', metric: 'gate_on_overhead', value: gateOn.meanMs / baseline.meanMs, unit: 'x' });
  },
};
