// The XDT benchmark's function program, deployed twice by the bench: as producer (node-1), which runs a measurement
// when asked and times it from inside the platform, and as consumer (node-2), which receives objects every way the
// baselines need. Every method sends its control message through the activator; only where the bytes go differs.
//   producer: POST /run {method, pattern, sizeBytes, degree, repetitions, redisUrl?, s3?} → {latenciesMs: number[]}
//   consumer: POST /sink (object as body) · GET /redis?keys=a,b · GET /s3?keys=a,b · POST /get {references}
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { invoke, put, get, readBody, serve, queryParam } from '../../sdk/index.js';
import { sendJson } from '../../lib/metrics-server.js';
import { redisClient, s3Client, type BlobStoreClient, type S3Settings } from './store-clients.js';

/** xdt: always by reference; xdt-auto: as invoke() does by default (inline up to its threshold); inline: always the HTTP body. */
export type XdtBenchMethod = 'xdt' | 'xdt-auto' | 'inline' | 'redis' | 's3';
export type XdtBenchPattern = '1-1' | 'scatter' | 'gather' | 'broadcast';

export interface RunRequest {
  method: XdtBenchMethod;
  pattern: XdtBenchPattern;
  sizeBytes: number;
  /** Consumers (scatter, broadcast) or producers' objects (gather); 1 for 1-1. */
  degree: number;
  repetitions: number;
  redisUrl?: string;
  s3?: S3Settings;
}

const CONSUMER = 'bench-xdt-consumer';
let redis: BlobStoreClient | undefined;
let s3: BlobStoreClient | undefined;
let objects: Buffer[] = [];

function store(method: 'redis' | 's3', run: Partial<RunRequest>): BlobStoreClient {
  if (method === 'redis') {
    redis ??= redisClient(run.redisUrl ?? String(process.env.BENCH_REDIS_URL));
    return redis;
  }
  s3 ??= s3Client(run.s3 ?? (JSON.parse(String(process.env.BENCH_S3)) as S3Settings));
  return s3;
}

async function expectOk(answer: Promise<{ status: number; body: Buffer }>, what: string): Promise<void> {
  const { status, body } = await answer;
  if (status !== 200) throw new Error(`${what}: ${status} ${body.toString().slice(0, 300)}`);
}

/** The objects of one run: distinct random contents, made before timing starts. */
function prepare(run: RunRequest): void {
  const count = run.pattern === 'broadcast' ? 1 : run.degree;
  if (objects.length !== count || objects[0]?.length !== run.sizeBytes) objects = Array.from({ length: count }, () => randomBytes(run.sizeBytes));
}

let sequence = 0;

/** One timed transfer of the run's pattern with its method. */
async function once(run: RunRequest): Promise<void> {
  const id = `${process.pid}-${++sequence}`;
  const { method, pattern, degree } = run;
  const many = (n: number) => Array.from({ length: n }, (_, i) => i);
  if (method === 'xdt' || method === 'xdt-auto' || method === 'inline') {
    const inlineThresholdBytes = method === 'inline' ? Number.MAX_SAFE_INTEGER : method === 'xdt' ? 0 : undefined;
    if (pattern === '1-1' || pattern === 'scatter') {
      await Promise.all(objects.map((o, i) => expectOk(invoke(CONSUMER, o, { path: '/sink', inlineThresholdBytes }), `invoke ${i}`)));
      return;
    }
    if (pattern === 'gather') {
      const references = await Promise.all(objects.map((o) => put(o)));
      await expectOk(invoke(CONSUMER, JSON.stringify({ references }), { path: '/get', contentType: 'application/json' }), 'gather');
      return;
    }
    const reference = await put(objects[0], { retrievals: degree });
    await Promise.all(many(degree).map(() => expectOk(invoke(CONSUMER, JSON.stringify({ references: [reference] }), { path: '/get', contentType: 'application/json' }), 'broadcast')));
    return;
  }
  const blobs = store(method, run);
  const keys = objects.map((_, i) => `${id}-${i}`);
  await Promise.all(objects.map((o, i) => blobs.put(keys[i], o)));
  const ask = (k: string[]) => expectOk(invoke(CONSUMER, undefined, { path: `/${method}?keys=${k.join(',')}` }), `${method} get`);
  if (pattern === '1-1' || pattern === 'scatter') await Promise.all(keys.map((k) => ask([k])));
  else if (pattern === 'gather') await ask(keys);
  else await Promise.all(many(degree).map(() => ask(keys)));
  void Promise.all(keys.map((k) => blobs.delete(k))).catch(() => undefined);
}

async function runMeasurement(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const run = JSON.parse((await readBody(req)).toString()) as RunRequest;
  prepare(run);
  if (run.method === 'redis' || run.method === 's3') await store(run.method, run).connect();
  const latenciesMs: number[] = [];
  for (let i = 0; i < run.repetitions; i++) {
    const startedAt = performance.now();
    await once(run);
    latenciesMs.push(performance.now() - startedAt);
  }
  sendJson(res, 200, { latenciesMs });
}

/** Consumer side: reads every object whole, as a function that uses its input would. */
async function consume(req: IncomingMessage, res: ServerResponse, route: string): Promise<void> {
  let bytes = 0;
  if (route === '/sink') {
    for await (const part of req) bytes += (part as Buffer).length;
  } else if (route === '/get') {
    const { references } = JSON.parse((await readBody(req)).toString()) as { references: string[] };
    bytes = (await Promise.all(references.map((r) => get(r)))).reduce((n, b) => n + b.length, 0);
  } else {
    const method = route.slice(1) as 'redis' | 's3';
    const keys = (queryParam(req, 'keys') ?? '').split(',');
    bytes = (await Promise.all(keys.map((k) => store(method, {}).get(k)))).reduce((n, b) => n + b.length, 0);
  }
  sendJson(res, 200, { bytes });
}

await serve(async (req, res) => {
  const route = (req.url ?? '/').split('?')[0];
  try {
    if (route === '/run') await runMeasurement(req, res);
    else await consume(req, res, route);
  } catch (err) {
    if (res.headersSent) res.destroy();
    else sendJson(res, 500, { code: (err as { code?: string }).code ?? 'FUNCTION_ERROR', message: (err as Error).message });
  }
});
