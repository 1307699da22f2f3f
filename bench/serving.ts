// The "serving" suite: request overhead of the queue-proxy and the activator against a direct call, queue-proxy CPU per
// request, and cold start from zero through the whole local cluster. Servers run as processes; load comes from this one.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitForHttpOk } from '../lib/net.js';
import { DIST_DIR } from '../cli/components.js';
import { startLocalCluster, type LocalCluster } from '../cli/local-cluster.js';
import { parseFunctionDefinition, type FunctionDefinition } from '../lib/function-spec.js';
import { silentLogger } from '../lib/logger.js';
import { freePort } from '../lib/net.js';
import { runLoad, type LoadResult } from './load.js';
import { percentile } from './percentile.js';
import { metricsCpuMs, processCpuMs } from './proc-cpu.js';
import { startFunctionProcess, startQueueProxyProcess, type BenchProcess } from './processes.js';
import type { BenchTarget } from './record.js';
import type { Suite, SuiteContext } from './suite.js';

const BENCH = 'serving';
const HOST = '127.0.0.1';
const DOMAIN = 'sluice.localhost';
const CONCURRENCIES = [1, 50] as const;
const REPO_ROOT = path.resolve(DIST_DIR, '..');

export interface ServingSettings {
  /** Seconds of load per (path, concurrency). */
  loadSec: number;
  /** Seconds of load at the highest concurrency before a path's measurements (JIT, connection pools). */
  warmupSec: number;
  /** Requests per queue-proxy CPU measurement. */
  cpuRequests: number;
  /** Isolated cold starts, each of a distinct function, after `coldStartGapMs` of quiet. */
  coldStarts: number;
  /** Idle time before each isolated cold start, so the node is quiet (as STeLLAR's long inter-arrival times). */
  coldStartGapMs: number;
  /** Back-to-back cold starts (no gap): a burst of new functions. */
  burstColdStarts: number;
}

export function servingSettings(quick: boolean): ServingSettings {
  return quick
    ? { loadSec: 3, warmupSec: 1, cpuRequests: 3_000, coldStarts: 10, coldStartGapMs: 1_000, burstColdStarts: 5 }
    : { loadSec: 10, warmupSec: 3, cpuRequests: 20_000, coldStarts: 24, coldStartGapMs: 1_000, burstColdStarts: 12 };
}

/** The goals printed beside the numbers (informational, never asserted). */
export const SERVING_TARGETS: readonly BenchTarget[] = [
  { bench: BENCH, case: 'queue-proxy/c1', metric: 'p50_overhead', comparison: 'at-most', threshold: 1 },
  { bench: BENCH, case: 'activator/c50', metric: 'throughput_vs_direct', comparison: 'at-least', threshold: 50 },
  { bench: BENCH, case: 'queue-proxy/c1', metric: 'cpu_per_request', comparison: 'at-most', threshold: 0.2 },
  { bench: BENCH, case: 'queue-proxy/c50', metric: 'cpu_per_request', comparison: 'at-most', threshold: 0.2 },
  { bench: BENCH, case: 'cold-start', metric: 'latency_p50', comparison: 'at-most', threshold: 300 },
];

type PathName = 'direct' | 'queue-proxy' | 'activator';

interface Target {
  url: string;
  headers?: Record<string, string>;
}

/** CPU milliseconds of the processes on a path, read before and after a load run. */
type CpuProbe = Record<string, () => Promise<number> | number>;

class ServingRun {
  private readonly settings: ServingSettings;
  /** Results of the baseline (direct) by concurrency, for the ratios. */
  private readonly direct = new Map<number, LoadResult>();

  constructor(private readonly ctx: SuiteContext) {
    this.settings = servingSettings(ctx.quick);
  }

  private emit(caseName: string, metric: string, value: number, unit: string): void {
    this.ctx.emit({ bench: BENCH, case: caseName, metric, value, unit });
  }

  private checkAborted(): void {
    if (this.ctx.signal.aborted) throw new Error('interrupted');
  }

  /** Warm-up, then one timed run per concurrency; `cpu` processes are sampled around each run. */
  async measurePath(name: PathName, target: Target, cpu: CpuProbe = {}): Promise<void> {
    const { loadSec, warmupSec } = this.settings;
    this.ctx.log(`${name}: warm-up ${warmupSec}s`);
    await runLoad({ ...target, connections: Math.max(...CONCURRENCIES), durationSec: warmupSec, signal: this.ctx.signal });
    for (const connections of CONCURRENCIES) {
      this.checkAborted();
      const caseName = `${name}/c${connections}`;
      this.ctx.log(`${caseName}: ${loadSec}s`);
      const before = await sampleCpu(cpu);
      const result = await runLoad({ ...target, connections, durationSec: loadSec, signal: this.ctx.signal });
      const after = await sampleCpu(cpu);
      this.checkAborted();
      this.emit(caseName, 'throughput', result.requestsPerSec, 'req/s');
      if (result.ok > 0) {
        this.emit(caseName, 'latency_p50', result.p50Ms, 'ms');
        this.emit(caseName, 'latency_p99', result.p99Ms, 'ms');
      }
      this.emit(caseName, 'errors', result.errors, 'count');
      const baseline = this.direct.get(connections);
      if (name === 'direct') {
        this.direct.set(connections, result);
      } else if (baseline && result.ok > 0 && baseline.ok > 0) {
        this.emit(caseName, 'p50_overhead', result.p50Ms - baseline.p50Ms, 'ms');
        this.emit(caseName, 'throughput_vs_direct', (100 * result.requestsPerSec) / baseline.requestsPerSec, '%');
      }
      if (result.ok > 0) {
        for (const component of Object.keys(cpu)) {
          this.emit(caseName, `${component}_cpu_per_request`, (after[component] - before[component]) / result.ok, 'ms');
        }
      }
    }
  }

  /** CPU per request of the queue-proxy (and of the function behind it) over a fixed number of requests. */
  async measureQueueProxyCpu(target: Target, queueProxy: BenchProcess, fn: BenchProcess): Promise<void> {
    for (const connections of CONCURRENCIES) {
      this.checkAborted();
      const caseName = `queue-proxy/c${connections}`;
      this.ctx.log(`${caseName}: CPU over ${this.settings.cpuRequests} requests`);
      const qpBefore = processCpuMs(queueProxy.pid);
      const fnBefore = processCpuMs(fn.pid);
      const result = await runLoad({ ...target, connections, amount: this.settings.cpuRequests, signal: this.ctx.signal });
      const qpAfter = processCpuMs(queueProxy.pid);
      const fnAfter = processCpuMs(fn.pid);
      this.checkAborted();
      if (result.ok === 0) throw new Error(`${caseName}: no request succeeded (${result.errors} errors)`);
      this.emit(caseName, 'cpu_per_request', (qpAfter - qpBefore) / result.ok, 'ms');
      this.emit(caseName, 'function_cpu_per_request', (fnAfter - fnBefore) / result.ok, 'ms');
    }
  }

  /** Times the first request to each of `names` (all at zero instances), one after the other, `gapMs` apart. */
  async measureColdStarts(cluster: LocalCluster, names: readonly string[], caseName: string, gapMs: number): Promise<void> {
    const totals: number[] = [];
    const toCreated: number[] = [];
    const instanceStart: number[] = [];
    const readyToResponse: number[] = [];
    for (const name of names) {
      if (gapMs > 0) await sleep(gapMs);
      this.checkAborted();
      const status = cluster.controller.functionStatus().find((f) => f.record.name === name);
      if (!status || status.instances.length > 0) throw new Error(`cold start of ${name}: expected 0 instances, found ${status?.instances.length ?? 'no function'}`);
      const sentAtMs = Date.now();
      const started = performance.now();
      const res = await fetch(`${cluster.ingressUrl}/fn/default/${name}/`, { signal: AbortSignal.any([this.ctx.signal, AbortSignal.timeout(60_000)]) });
      await res.text();
      const elapsedMs = performance.now() - started;
      if (res.status !== 200) throw new Error(`cold start of ${name}: status ${res.status}`);
      totals.push(elapsedMs);
      // The node agent's timestamps split the time: request → instance created (autoscaler + scheduler),
      // created → ready (process spawn + readiness), ready → response (endpoints reach the activator, dispatch).
      const instance = cluster.controller.functionStatus().find((f) => f.record.name === name)?.instances[0];
      let split = '';
      if (instance && instance.created_at_ms > 0 && instance.ready_at_ms > 0) {
        toCreated.push(instance.created_at_ms - sentAtMs);
        instanceStart.push(instance.ready_at_ms - instance.created_at_ms);
        readyToResponse.push(sentAtMs + elapsedMs - instance.ready_at_ms);
        split = ` (to created ${instance.created_at_ms - sentAtMs} ms, start ${instance.ready_at_ms - instance.created_at_ms} ms)`;
      }
      this.ctx.log(`cold start ${name}: ${elapsedMs.toFixed(1)} ms${split}`);
    }
    this.emit(caseName, 'count', totals.length, 'count');
    this.emit(caseName, 'latency_p50', percentile(totals, 50), 'ms');
    this.emit(caseName, 'latency_p99', percentile(totals, 99), 'ms');
    this.emit(caseName, 'latency_max', Math.max(...totals), 'ms');
    if (toCreated.length > 0) {
      this.emit(caseName, 'to_instance_created_p50', percentile(toCreated, 50), 'ms');
      this.emit(caseName, 'instance_start_p50', percentile(instanceStart, 50), 'ms');
      this.emit(caseName, 'ready_to_response_p50', percentile(readyToResponse, 50), 'ms');
    }
  }
}

async function sampleCpu(probe: CpuProbe): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const [name, read] of Object.entries(probe)) out[name] = await read();
  return out;
}

/** An example function as the local platform runs it; `scaling` is merged into the spec. */
function exampleFunction(name: string, scaling: NonNullable<FunctionDefinition['spec']['scaling']>): FunctionDefinition {
  return parseFunctionDefinition(
    {
      apiVersion: 'sluice.dev/v1alpha1',
      kind: 'Function',
      metadata: { name },
      spec: {
        container: {
          command: ['node', 'dist/examples/hello/main.js'],
          readinessPath: '/healthz',
          // Small requests so a few dozen instances fit on one local node.
          resources: { cpu: '10m', memory: '32Mi' },
        },
        scaling,
      },
    },
    'bench/serving',
  );
}

async function run(ctx: SuiteContext): Promise<void> {
  for (const target of SERVING_TARGETS) ctx.target(target);
  const settings = servingSettings(ctx.quick);
  const bench = new ServingRun(ctx);
  const logDir = mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-'));
  ctx.log(`logs in ${logDir}`);

  // 1–2. Direct, then the same function server behind a real queue-proxy process.
  const fnPort = await freePort(HOST);
  const fn = await startFunctionProcess({ example: 'hello', host: HOST, port: fnPort, logDir });
  const stopFn = ctx.cleanup.defer('function server', () => fn.stop());
  await bench.measurePath('direct', { url: `http://${HOST}:${fnPort}/` }, { function: () => processCpuMs(fn.pid) });

  const [trafficPort, adminPort, metricsPort] = await Promise.all([freePort(HOST), freePort(HOST), freePort(HOST)]);
  const qp = await startQueueProxyProcess({ function: 'hello', host: HOST, trafficPort, adminPort, metricsPort, userPort: fnPort, logDir });
  const stopQp = ctx.cleanup.defer('queue-proxy', () => qp.stop());
  const qpTarget = { url: `http://${HOST}:${trafficPort}/` };
  await bench.measurePath('queue-proxy', qpTarget);
  await bench.measureQueueProxyCpu(qpTarget, qp, fn);
  await stopQp();
  await stopFn();

  // 3–4. The whole local cluster: a warm hello behind activator + queue-proxy, and functions at zero for cold starts.
  const coldNames = Array.from({ length: settings.coldStarts }, (_, i) => `cold-${String(i).padStart(2, '0')}`);
  const burstNames = Array.from({ length: settings.burstColdStarts }, (_, i) => `burst-${String(i).padStart(2, '0')}`);
  const functions = [
    exampleFunction('hello', { initialScale: 1, minScale: 1, maxScale: 1 }),
    ...[...coldNames, ...burstNames].map((name) => exampleFunction(name, { initialScale: 0, minScale: 0, maxScale: 1 })),
  ];
  ctx.log(`starting a local cluster (1 node, ${functions.length} functions)`);
  const cluster = await startLocalCluster({
    functions,
    workDir: REPO_ROOT,
    nodes: 1,
    port: 0,
    // Away from the e2e tests' subnets (150–231) so a bench can run beside them.
    subnetBase: 240 + (process.pid % 14),
    domain: DOMAIN,
    logDir: path.join(logDir, 'cluster'),
    env: { SLUICE_AUTOSCALER_ALLOW_ZERO_INITIAL_SCALE: 'true' },
    logger: silentLogger(),
    startTimeoutMs: 30_000,
  });
  const stopCluster = ctx.cleanup.defer('local cluster', () => cluster.stop());
  const componentFailed = cluster.componentExit.then((why) => {
    throw new Error(why);
  });
  componentFailed.catch(() => undefined);

  const clusterPhase = async (): Promise<void> => {
    // fetch cannot set Host, so this routes by path.
    await waitForHttpOk(`${cluster.ingressUrl}/fn/default/hello/`, { timeoutMs: 30_000, intervalMs: 100, requestTimeoutMs: 5_000, signal: ctx.signal });
    const instance = cluster.controller.functionStatus().find((f) => f.record.name === 'hello')?.instances.find((i) => i.phase === 'INSTANCE_PHASE_READY');
    if (!instance) throw new Error('hello has no ready instance');
    await bench.measurePath(
      'activator',
      // Host routing, as a client of a real cluster would call (autocannon sends the Host header given).
      { url: `${cluster.ingressUrl}/`, headers: { host: `hello.default.${DOMAIN}` } },
      {
        activator: () => metricsCpuMs(`${cluster.activatorAdminUrl}/metrics`),
        'queue-proxy': () => metricsCpuMs(`http://${instance.ip}:9091/metrics`),
      },
    );
    ctx.log(`cold starts: ${coldNames.length} functions, one at a time after ${settings.coldStartGapMs} ms of quiet`);
    await bench.measureColdStarts(cluster, coldNames, 'cold-start', settings.coldStartGapMs);
    ctx.log(`cold starts in a burst: ${burstNames.length} functions back to back`);
    await bench.measureColdStarts(cluster, burstNames, 'cold-start-burst', 0);
  };
  await Promise.race([clusterPhase(), componentFailed]);
  ctx.log('stopping the local cluster');
  await stopCluster();
}

export const servingSuite: Suite = {
  name: 'serving',
  description: 'direct vs queue-proxy vs activator+queue-proxy (throughput, p50/p99 at c=1 and c=50), queue-proxy CPU per request, cold start from zero',
  run,
};
