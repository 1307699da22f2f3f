// The "xdt" suite: passing objects between functions on a two-node local cluster — XDT cut-through and
// store-and-forward, inline HTTP bodies, through Redis and through an S3 server (MinIO) — against two transport
// ceilings between two processes (grpc-js streaming, plain TCP), all measured in one run on this machine.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DIST_DIR } from '../cli/components.js';
import { startLocalCluster, type LocalCluster, type NodePlacement } from '../cli/local-cluster.js';
import type { CommandWrapper } from '../lib/process.js';
import { parseFunctionDefinition, type FunctionDefinition } from '../lib/function-spec.js';
import { silentLogger } from '../lib/logger.js';
import { waitForHttpOk } from '../lib/net.js';
import { percentile } from './percentile.js';
import type { BenchTarget } from './record.js';
import type { Suite, SuiteContext } from './suite.js';
import { measureCeilings } from './xdt/ceilings.js';
import { writeLineChart, type ChartSeries } from './xdt/chart.js';
import type { RunRequest, XdtBenchMethod, XdtBenchPattern } from './xdt/driver.js';
import { startMinio, type MinioServer } from './xdt/minio-server.js';
import { createTopology } from './xdt/netns.js';
import { startRedis, type RedisServer } from './xdt/redis-server.js';

const BENCH = 'xdt';
const HOST = '127.0.0.1';
const REPO_ROOT = path.resolve(DIST_DIR, '..');
const RESULTS_DIR = path.join(REPO_ROOT, 'bench', 'results');
const KiB = 1024;
const MiB = 1024 * KiB;
/** The default link rate between the shaped topology's nodes. */
const SHAPED_RATE_MBIT = 10_000;

export interface XdtSettings {
  sizes: number[];
  degrees: number[];
  degreeSizes: number[];
  broadcastSizes: number[];
  broadcastDegree: number;
  /** Repetitions for an object of `size` bytes (fewer for large ones). */
  repetitions(size: number, degree: number): number;
}

export function xdtSettings(quick: boolean): XdtSettings {
  const reps = (size: number, degree: number, small: number, medium: number, large: number): number => {
    const bytes = size * degree;
    return bytes >= 100 * MiB ? large : bytes >= 10 * MiB ? medium : small;
  };
  return quick
    ? { sizes: [10 * KiB, MiB, 10 * MiB, 100 * MiB], degrees: [1, 8, 32], degreeSizes: [10 * KiB, 10 * MiB], broadcastSizes: [10 * KiB, 10 * MiB], broadcastDegree: 4, repetitions: (s, d) => reps(s, d, 20, 5, 3) }
    : {
        sizes: [10 * KiB, 100 * KiB, MiB, 10 * MiB, 100 * MiB],
        degrees: [1, 2, 4, 8, 16, 32],
        degreeSizes: [10 * KiB, 10 * MiB],
        broadcastSizes: [10 * KiB, MiB, 10 * MiB, 100 * MiB],
        broadcastDegree: 4,
        repetitions: (s, d) => reps(s, d, 100, 15, 6),
      };
}

/** Goals from the issue, printed beside the numbers (informational, never asserted). */
export const XDT_TARGETS: readonly BenchTarget[] = [
  { bench: BENCH, case: '1-1/100MiB', metric: 'xdt_vs_grpc_bandwidth', comparison: 'at-least', threshold: 90 },
  { bench: BENCH, case: '1-1/100MiB', metric: 'xdt_vs_tcp_bandwidth', comparison: 'at-least', threshold: 50 },
  { bench: BENCH, case: '1-1/10MiB', metric: 'redis_over_xdt_latency', comparison: 'at-least', threshold: 2 },
  { bench: BENCH, case: '1-1/10MiB', metric: 's3_over_xdt_latency', comparison: 'at-least', threshold: 5 },
  { bench: BENCH, case: '1-1/100MiB', metric: 'redis_over_xdt_latency', comparison: 'at-least', threshold: 2 },
  { bench: BENCH, case: '1-1/100MiB', metric: 's3_over_xdt_latency', comparison: 'at-least', threshold: 5 },
  // invoke() as users call it: small objects go inline by themselves.
  { bench: BENCH, case: '1-1/10KiB', metric: 'xdt_auto_over_inline_latency', comparison: 'at-most', threshold: 1.2 },
  { bench: BENCH, case: 'scatter/10MiB/d32', metric: 's3_over_xdt_latency', comparison: 'at-least', threshold: 2 },
  { bench: BENCH, case: 'gather/10MiB/d32', metric: 's3_over_xdt_latency', comparison: 'at-least', threshold: 2 },
];

export function sizeLabel(bytes: number): string {
  if (bytes >= MiB && bytes % MiB === 0) return `${bytes / MiB}MiB`;
  if (bytes >= KiB && bytes % KiB === 0) return `${bytes / KiB}KiB`;
  return `${bytes}B`;
}

export interface Summary {
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
  /** Bytes moved per second of end-to-end latency (p50), in MiB/s. */
  bandwidthMiBs: number;
}

export function summarize(latenciesMs: readonly number[], bytes: number): Summary {
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  const p50Ms = percentile(sorted, 50);
  return {
    meanMs: sorted.reduce((a, b) => a + b, 0) / sorted.length,
    p50Ms,
    p99Ms: percentile(sorted, 99),
    bandwidthMiBs: bytes / MiB / (p50Ms / 1000),
  };
}

function benchFunction(name: string, node: string, env: Record<string, string>): FunctionDefinition {
  return parseFunctionDefinition(
    {
      apiVersion: 'sluice.dev/v1alpha1',
      kind: 'Function',
      metadata: { name },
      spec: {
        container: {
          command: ['node', path.join(DIST_DIR, 'bench', 'xdt', 'driver.js')],
          readinessPath: '/healthz',
          env: Object.entries(env).map(([n, value]) => ({ name: n, value })),
        },
        scaling: { initialScale: 1, minScale: 1, maxScale: 1 },
        placement: { nodeSelector: { 'sluice.dev/node': node } },
      },
    },
    'bench',
  );
}

async function startBenchCluster(
  ctx: SuiteContext,
  label: string,
  env: Record<string, string>,
  functionEnv: Record<string, string>,
  subnet: number,
  placement: { host?: string; nodePlacement?: (i: number) => NodePlacement } = {},
): Promise<LocalCluster> {
  const logDir = mkdtempSync(path.join(os.tmpdir(), `sluice-bench-xdt-${label.replace('/', '-')}-`));
  ctx.log(`starting a two-node local cluster (${label}); logs in ${logDir}`);
  const cluster = await startLocalCluster({
    functions: [benchFunction('bench-xdt-producer', 'node-1', functionEnv), benchFunction('bench-xdt-consumer', 'node-2', functionEnv)],
    workDir: REPO_ROOT,
    nodes: 2,
    port: 0,
    subnetBase: subnet,
    domain: 'sluice.localhost',
    logDir,
    env: {
      // Inline 100 MiB bodies are a baseline here, beyond the activator's default limit.
      SLUICE_ACTIVATOR_MAX_BODY_BYTES: String(2 ** 31),
      // Gather holds up to 32 × 10 MiB put objects on one producer instance.
      SLUICE_QUEUE_PROXY_XDT_PUT_BUFFERS: '80',
      ...env,
    },
    logger: silentLogger(),
    startTimeoutMs: 30_000,
    ...placement,
  });
  ctx.cleanup.defer(`local cluster ${label}`, () => cluster.stop());
  for (const name of ['bench-xdt-producer', 'bench-xdt-consumer']) {
    await waitForHttpOk(`${cluster.ingressUrl}/fn/default/${name}/healthz`, { timeoutMs: 30_000, intervalMs: 100, requestTimeoutMs: 5_000, signal: ctx.signal });
  }
  return cluster;
}

async function runOnProducer(cluster: LocalCluster, run: RunRequest): Promise<number[]> {
  const res = await fetch(`${cluster.ingressUrl}/fn/default/bench-xdt-producer/run`, { method: 'POST', body: JSON.stringify(run), headers: { 'content-type': 'application/json' } });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${run.method} ${run.pattern} ${sizeLabel(run.sizeBytes)} d${run.degree}: ${res.status} ${text.slice(0, 400)}`);
  return (JSON.parse(text) as { latenciesMs: number[] }).latenciesMs;
}

type MethodLabel = XdtBenchMethod | 'xdt-saf' | 'grpc-js' | 'tcp';

class Results {
  /** pattern → method → x (size or degree) → summary */
  readonly byPattern = new Map<string, Map<MethodLabel, Map<number, Summary>>>();

  constructor(private readonly ctx: SuiteContext) {}

  record(pattern: string, caseName: string, method: MethodLabel, x: number, summary: Summary): void {
    const emit = (metric: string, value: number, unit: string) => this.ctx.emit({ bench: BENCH, case: `${caseName}/${method}`, metric, value, unit });
    emit('latency_mean', summary.meanMs, 'ms');
    emit('latency_p50', summary.p50Ms, 'ms');
    emit('latency_p99', summary.p99Ms, 'ms');
    emit('bandwidth', summary.bandwidthMiBs, 'MiB/s');
    let methods = this.byPattern.get(pattern);
    if (!methods) this.byPattern.set(pattern, (methods = new Map()));
    let points = methods.get(method);
    if (!points) methods.set(method, (points = new Map()));
    points.set(x, summary);
  }

  get(pattern: string, method: MethodLabel, x: number): Summary | undefined {
    return this.byPattern.get(pattern)?.get(method)?.get(x);
  }

  /** Ratio records: `numerator` over `denominator` of p50 latency (or of bandwidth, in %). */
  /** `denominatorPattern`: where the denominator was measured, when elsewhere (the loopback ceilings). */
  ratio(pattern: string, caseName: string, x: number, metric: string, numerator: MethodLabel, denominator: MethodLabel, kind: 'latency' | 'bandwidth', denominatorPattern = pattern): void {
    const a = this.get(pattern, numerator, x);
    const b = this.get(denominatorPattern, denominator, x);
    if (!a || !b) return;
    if (kind === 'latency') this.ctx.emit({ bench: BENCH, case: caseName, metric, value: a.p50Ms / b.p50Ms, unit: 'x' });
    else this.ctx.emit({ bench: BENCH, case: caseName, metric, value: (100 * a.bandwidthMiBs) / b.bandwidthMiBs, unit: '%' });
  }

  async charts(log: (m: string) => void, stamp: string): Promise<void> {
    for (const [pattern, methods] of this.byPattern) {
      const base = pattern.replace(/^shaped\//, '');
      const bySize = base.startsWith('1-1') || base.startsWith('broadcast');
      const series: ChartSeries[] = [...methods].map(([name, points]) => ({ name, points: [...points].map(([x, s]) => ({ x: bySize ? x / KiB : x, y: s.p50Ms })) }));
      const file = path.join(RESULTS_DIR, `xdt-${pattern.replaceAll('/', '-')}-${stamp}.svg`);
      await writeLineChart(file, {
        title: `XDT ${pattern}: p50 end-to-end latency`,
        xLabel: bySize ? 'object size (KiB)' : 'degree',
        yLabel: 'p50 latency (ms)',
        logX: true,
        logY: true,
        series,
      });
      log(`chart ${file}`);
    }
  }
}

/** Where the nodes and the stores run: loopback, or network namespaces joined by shaped links. */
interface Placement {
  /** Prefix of every case name ("" for loopback, "shaped/" for the namespaces). */
  prefix: string;
  /** Address of the control plane (activator, autoscaler, …), reachable from every node. */
  host: string;
  /** Where Redis and MinIO listen, and how to run them there. */
  storageHost: string;
  storageWrap?: CommandWrapper;
  nodePlacement?: (i: number) => NodePlacement;
}

async function startStores(ctx: SuiteContext, where: Placement): Promise<{ env: Record<string, string>; methods: XdtBenchMethod[] }> {
  let redis: RedisServer | undefined;
  let minio: MinioServer | undefined;
  const ports = where.storageWrap ? { redis: 6379, minio: 9000 } : { redis: undefined, minio: undefined };
  try {
    redis = await startRedis({ host: where.storageHost, port: ports.redis, wrap: where.storageWrap, log: ctx.log });
    ctx.cleanup.defer(`redis ${where.prefix}`, () => redis!.stop());
  } catch (err) {
    ctx.log(`Redis baseline skipped: ${(err as Error).message}`);
  }
  try {
    minio = await startMinio({ host: where.storageHost, port: ports.minio, wrap: where.storageWrap, log: ctx.log });
    ctx.cleanup.defer(`minio ${where.prefix}`, () => minio!.stop());
  } catch (err) {
    ctx.log(`S3 (MinIO) baseline skipped: ${(err as Error).message}`);
  }
  const env: Record<string, string> = { AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: '1', NODE_NO_WARNINGS: '1' };
  if (redis) env.BENCH_REDIS_URL = redis.url;
  if (minio) env.BENCH_S3 = JSON.stringify({ endpoint: minio.endpoint, accessKey: minio.accessKey, secretKey: minio.secretKey, bucket: minio.bucket });
  const methods: XdtBenchMethod[] = ['xdt', 'inline', ...(redis ? (['redis'] as const) : []), ...(minio ? (['s3'] as const) : [])];
  return { env, methods };
}

/** Every pattern and method on one placement. */
async function measurePlacement(ctx: SuiteContext, settings: XdtSettings, results: Results, where: Placement, subnet: number): Promise<void> {
  const { env: storeEnv, methods } = await startStores(ctx, where);
  const p = where.prefix;
  const clusterOptions = { host: where.host, nodePlacement: where.nodePlacement };
  const cluster = await startBenchCluster(ctx, `${p}cut-through`, {}, storeEnv, subnet, clusterOptions);

  const measure = async (c: LocalCluster, method: XdtBenchMethod, pattern: XdtBenchPattern, sizeBytes: number, degree: number): Promise<Summary> => {
    const repetitions = settings.repetitions(sizeBytes, degree);
    // One unmeasured round first: connections, JIT, pool pages.
    await runOnProducer(c, { method, pattern, sizeBytes, degree, repetitions: 1 });
    const latencies = await runOnProducer(c, { method, pattern, sizeBytes, degree, repetitions });
    return summarize(latencies, sizeBytes * degree);
  };

  // 1-1 over sizes; xdt-auto is invoke() with its default inline threshold.
  for (const size of settings.sizes) {
    for (const method of [...methods.slice(0, 1), 'xdt-auto' as const, ...methods.slice(1)]) {
      if (ctx.signal.aborted) return;
      ctx.log(`${p}1-1 ${sizeLabel(size)} ${method}`);
      results.record(`${p}1-1`, `${p}1-1/${sizeLabel(size)}`, method, size, await measure(cluster, method, '1-1', size, 1));
    }
  }
  // Scatter and gather over degrees (inline has no gather form: one request cannot carry N bodies).
  for (const pattern of ['scatter', 'gather'] as const) {
    for (const size of settings.degreeSizes) {
      for (const degree of settings.degrees) {
        for (const method of methods.filter((m) => !(pattern === 'gather' && m === 'inline'))) {
          if (ctx.signal.aborted) return;
          ctx.log(`${p}${pattern} ${sizeLabel(size)} d${degree} ${method}`);
          results.record(`${p}${pattern}/${sizeLabel(size)}`, `${p}${pattern}/${sizeLabel(size)}/d${degree}`, method, degree, await measure(cluster, method, pattern, size, degree));
        }
      }
    }
  }
  // Broadcast over sizes: one object, N consumers.
  for (const size of settings.broadcastSizes) {
    for (const method of methods.filter((m) => m !== 'inline')) {
      if (ctx.signal.aborted) return;
      ctx.log(`${p}broadcast ${sizeLabel(size)} d${settings.broadcastDegree} ${method}`);
      results.record(`${p}broadcast`, `${p}broadcast/${sizeLabel(size)}/d${settings.broadcastDegree}`, method, size, await measure(cluster, method, 'broadcast', size, settings.broadcastDegree));
    }
  }
  ctx.log(`stopping the ${p}cut-through cluster`);
  await cluster.stop();

  // Store-and-forward: every hop holds the whole object first (pools sized to hold 100 MiB).
  const saf = await startBenchCluster(
    ctx,
    `${p}store-and-forward`,
    { SLUICE_QUEUE_PROXY_XDT_MODE: 'store-and-forward', SLUICE_QUEUE_PROXY_XDT_INVOKE_BUFFERS: '128', SLUICE_QUEUE_PROXY_XDT_INBOUND_SIZE: '128Mi' },
    storeEnv,
    subnet + 2,
    clusterOptions,
  );
  for (const size of settings.sizes) {
    if (ctx.signal.aborted) return;
    ctx.log(`${p}1-1 ${sizeLabel(size)} xdt store-and-forward`);
    results.record(`${p}1-1`, `${p}1-1/${sizeLabel(size)}`, 'xdt-saf', size, await measure(saf, 'xdt', '1-1', size, 1));
  }
  await saf.stop();
}

function emitRatios(results: Results, settings: XdtSettings, p: string): void {
  for (const size of settings.sizes) {
    const caseName = `${p}1-1/${sizeLabel(size)}`;
    // The ceilings are measured once, on loopback (a 10 Gbit/s shaped link carries about what loopback TCP does here).
    results.ratio(`${p}1-1`, caseName, size, 'xdt_vs_grpc_bandwidth', 'xdt', 'grpc-js', 'bandwidth', '1-1');
    results.ratio(`${p}1-1`, caseName, size, 'xdt_vs_tcp_bandwidth', 'xdt', 'tcp', 'bandwidth', '1-1');
    results.ratio(`${p}1-1`, caseName, size, 'redis_over_xdt_latency', 'redis', 'xdt', 'latency');
    results.ratio(`${p}1-1`, caseName, size, 's3_over_xdt_latency', 's3', 'xdt', 'latency');
    results.ratio(`${p}1-1`, caseName, size, 'xdt_over_inline_latency', 'xdt', 'inline', 'latency');
    results.ratio(`${p}1-1`, caseName, size, 'xdt_auto_over_inline_latency', 'xdt-auto', 'inline', 'latency');
    results.ratio(`${p}1-1`, caseName, size, 'saf_over_cut_through_latency', 'xdt-saf', 'xdt', 'latency');
  }
  for (const pattern of ['scatter', 'gather'] as const) {
    for (const size of settings.degreeSizes) {
      for (const degree of settings.degrees) {
        const key = `${p}${pattern}/${sizeLabel(size)}`;
        results.ratio(key, `${key}/d${degree}`, degree, 's3_over_xdt_latency', 's3', 'xdt', 'latency');
        results.ratio(key, `${key}/d${degree}`, degree, 'redis_over_xdt_latency', 'redis', 'xdt', 'latency');
      }
    }
  }
}

/** The topology: producer, consumer and storage nodes in network namespaces joined by shaped veth links. */
async function shapedPlacement(ctx: SuiteContext, rateMbit: number): Promise<Placement | undefined> {
  const net = await createTopology({ nodes: ['producer', 'consumer', 'storage'], rateMbit, log: ctx.log });
  if (!net.available) {
    ctx.log(`shaped topology unavailable (${net.reason}): loopback only`);
    return undefined;
  }
  ctx.cleanup.defer('network namespaces', () => net.destroy());
  // Instance ranges: node 1 → 10.214.1.0/24 in the producer namespace, node 2 → 10.214.2.0/24 in the consumer's.
  const ranges = [
    { node: 'producer', subnet: '10.214.1' },
    { node: 'consumer', subnet: '10.214.2' },
  ];
  for (const r of ranges) await net.routeRange(r.node, r.subnet);
  ctx.log(`shaped topology: producer ${net.addresses.producer}, consumer ${net.addresses.consumer}, storage ${net.addresses.storage}, control plane ${net.hostAddress}; every link ${rateMbit} Mbit/s`);
  return {
    prefix: 'shaped/',
    host: net.hostAddress,
    storageHost: net.addresses.storage,
    storageWrap: (command, args) => net.exec('storage', command, args),
    nodePlacement: (i) => ({ subnet: ranges[i].subnet, wrap: (command, args) => net.exec(ranges[i].node, command, args) }),
  };
}

async function run(ctx: SuiteContext): Promise<void> {
  const settings = xdtSettings(ctx.quick);
  for (const target of XDT_TARGETS) ctx.target(target);
  for (const target of XDT_TARGETS) ctx.target({ ...target, case: `shaped/${target.case}` });
  const results = new Results(ctx);
  // Away from the e2e tests' subnets (150–231); two clusters of two nodes each.
  const subnet = 240 + (process.pid % 3) * 4;

  ctx.log('topology 1: loopback (nodes, Redis and MinIO all on this host)');
  await measurePlacement(ctx, settings, results, { prefix: '', host: HOST, storageHost: HOST }, subnet);

  // Transport ceilings between two processes.
  ctx.log('ceilings: grpc-js streaming and plain TCP between two processes');
  const ceilings = await measureCeilings({ host: HOST, sizes: settings.sizes, repetitions: Math.max(5, settings.repetitions(MiB, 1) / 2), log: ctx.log });
  for (const c of ceilings) results.record('1-1', `1-1/${sizeLabel(c.sizeBytes)}`, c.method, c.sizeBytes, summarize(c.latenciesMs.slice(1), c.sizeBytes));
  emitRatios(results, settings, '');

  ctx.log(`topology 2: producer, consumer and storage nodes in network namespaces, links shaped to ${SHAPED_RATE_MBIT} Mbit/s`);
  const shaped = await shapedPlacement(ctx, SHAPED_RATE_MBIT);
  if (shaped && !ctx.signal.aborted) {
    await measurePlacement(ctx, settings, results, shaped, subnet);
    emitRatios(results, settings, 'shaped/');
  }

  const stamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
  await results.charts(ctx.log, stamp);
}

export const xdtSuite: Suite = {
  name: 'xdt',
  description: 'objects between functions: XDT (cut-through, store-and-forward) vs inline, Redis, S3 (MinIO), and grpc-js / TCP ceilings; 1-1, scatter, gather, broadcast',
  run,
};
