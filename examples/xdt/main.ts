// Example function for XDT: one program that plays producer and consumer, so any pattern can be tried from curl.
//   GET  /produce?to=FN&bytes=N&count=M&seed=S   scatter: M concurrent invokes of FN's /digest, each with its own object
//                                                 (each result names the consumer instance that answered)
//   POST /digest                                  the object arrives as the body: answers its size, sha256 and the instance that answered
//   GET  /put?bytes=N&retrievals=K&seed=S&ttlMs=T  puts an object for K retrievals: answers its reference and sha256
//   POST /gather   {"references": [...]}          gets every object (gather, broadcast): answers their digests
//   GET  /reply?bytes=N&seed=S                    answers with the object itself (by reference when it is large)
//   GET  /fetch?from=FN&bytes=N&seed=S            invokes FN's /reply and digests the answer (a large response by reference)
// Objects are generated from a seed as a stream (never held whole), so sizes up to many GiB work.
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { getStream, instanceInfo, invokeStream, put, queryParam, readBody, reply, serve } from '../../sdk/index.js';

const BLOCK = 2 ** 20;

/** A deterministic object of `size` bytes: 1 MiB blocks derived from the seed. */
export function* generate(size: number, seed: number): Generator<Buffer> {
  const block = Buffer.allocUnsafe(Math.min(BLOCK, Math.max(size, 1)));
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < block.length; i++) {
    if ((i & 3) === 0) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
    }
    block[i] = (x >>> ((i & 3) * 8)) & 0xff;
  }
  for (let sent = 0; sent < size; sent += block.length) yield block.subarray(0, Math.min(block.length, size - sent));
}

interface Digest {
  bytes: number;
  sha256: string;
}

async function digest(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<Digest> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const part of source) {
    hash.update(part);
    bytes += part.length;
  }
  return { bytes, sha256: hash.digest('hex') };
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function intParam(req: IncomingMessage, name: string, fallback: number): number {
  const value = Number(queryParam(req, name) ?? fallback);
  if (!Number.isSafeInteger(value) || value < 0) throw Object.assign(new Error(`${name} must be a non-negative integer`), { status: 400 });
  return value;
}

async function produce(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const to = queryParam(req, 'to') ?? 'xdt-consumer';
  const bytes = intParam(req, 'bytes', 1024);
  const count = intParam(req, 'count', 1);
  const seed = intParam(req, 'seed', 1);
  const results = await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const expected = await digest(generate(bytes, seed + i));
      const startedAt = performance.now();
      const answer = await invokeStream(to, Readable.from(generate(bytes, seed + i)), { path: '/digest' });
      const text = (await readBody(answer.body)).toString();
      const ms = performance.now() - startedAt;
      const answered = answer.status === 200 ? (JSON.parse(text) as Digest & { instance: string }) : undefined;
      // The consumer instance that answered goes beside the digest, so `got` compares equal to `expected`.
      const got = answered ? { bytes: answered.bytes, sha256: answered.sha256 } : text;
      return { status: answer.status, expected, got, instance: answered?.instance, ms, byReference: answer.headers['x-sluice-xdt-ref'] !== undefined };
    }),
  );
  sendJson(res, 200, { results });
}

async function gather(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { references } = JSON.parse((await readBody(req)).toString()) as { references: string[] };
  const results = await Promise.all(
    references.map(async (reference) => {
      try {
        return await digest(getStream(reference));
      } catch (err) {
        return { error: (err as { code?: string }).code ?? 'INTERNAL', message: (err as Error).message };
      }
    }),
  );
  sendJson(res, 200, { results });
}

async function fetchReply(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const from = queryParam(req, 'from') ?? 'xdt-consumer';
  const answer = await invokeStream(from, undefined, { path: `/reply?bytes=${intParam(req, 'bytes', 1024)}&seed=${intParam(req, 'seed', 1)}` });
  sendJson(res, 200, { status: answer.status, got: await digest(answer.body) });
}

await serve(async (req, res) => {
  const route = (req.url ?? '/').split('?')[0];
  try {
    if (route === '/digest') return sendJson(res, 200, { ...(await digest(req)), instance: instanceInfo.instance });
    if (route === '/produce') return await produce(req, res);
    if (route === '/put') {
      const bytes = intParam(req, 'bytes', 1024);
      const seed = intParam(req, 'seed', 1);
      const reference = await put(Readable.from(generate(bytes, seed)), { retrievals: intParam(req, 'retrievals', 1), ttlMs: intParam(req, 'ttlMs', 0) || undefined });
      return sendJson(res, 200, { reference, ...(await digest(generate(bytes, seed))) });
    }
    if (route === '/gather') return await gather(req, res);
    if (route === '/reply') return await reply(res, Readable.from(generate(intParam(req, 'bytes', 1024), intParam(req, 'seed', 1))));
    if (route === '/fetch') return await fetchReply(req, res);
    sendJson(res, 404, { code: 'NOT_FOUND', message: `no route ${route}` });
  } catch (err) {
    const e = err as { status?: number; code?: string; message?: string };
    if (!res.headersSent) sendJson(res, e.status ?? 500, { code: e.code ?? 'FUNCTION_ERROR', message: e.message });
    else res.destroy();
  }
});

