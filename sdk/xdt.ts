// XDT for TypeScript functions: invoke another function passing an object by reference, put/get objects, reply by
// reference. Bytes go to and from this instance's own queue-proxy (Unix socket); only references travel with requests.
import type { ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { Pool } from 'undici';
import { SluiceError } from '../lib/errors.js';
import { XdtClient, type XdtTarget } from '../lib/xdt/client.js';
import { instanceInfo } from './serve.js';
import { XDT_REF_HEADER } from '../lib/xdt/reference.js';
export { XDT_REF_HEADER };

/** What can be passed: bytes, text, or a stream of bytes (Node Readable, async iterable) that is never held whole. */
export type XdtBody = Buffer | Uint8Array | string | AsyncIterable<Uint8Array>;


/**
 * Objects up to this size go inline (as the HTTP body) instead of by reference: below it a second hop
 * costs more than it saves (bench: `npm run bench -- xdt`). SLUICE_XDT_INLINE_THRESHOLD overrides it.
 */
export const DEFAULT_INLINE_THRESHOLD_BYTES = 2 ** 20;

export interface PutOptions {
  /** Retrievals before the queue-proxy releases the object (default 1). */
  retrievals?: number;
  /** Milliseconds the reference stays valid; default: the queue-proxy's xdt-ttl. */
  ttlMs?: number;
  contentType?: string;
}

export interface InvokeOptions {
  /** Namespace of the function; default: this function's own. */
  namespace?: string;
  /** Path and query inside the function, default "/". */
  path?: string;
  method?: string;
  headers?: Record<string, string>;
  contentType?: string;
  /** Objects up to this many bytes go inline. */
  inlineThresholdBytes?: number;
  /** Time for the whole call; default 300 s. */
  timeoutMs?: number;
}

export interface InvokeResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface InvokeStreamResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The response body, pulled by reference when the function replied by reference. */
  body: Readable;
}

let client: XdtClient | undefined;
let activator: Pool | undefined;

function xdtClient(): XdtClient {
  client ??= new XdtClient();
  return client;
}

/** This instance's queue-proxy, or undefined when the function does not run with XDT. */
function localQueueProxy(): XdtTarget | undefined {
  const socketPath = process.env.SLUICE_XDT_SOCKET;
  if (socketPath) return { socketPath };
  const address = process.env.SLUICE_XDT_ADDRESS;
  if (address) return { address };
  return undefined;
}

function requireQueueProxy(): XdtTarget {
  const target = localQueueProxy();
  if (!target) {
    throw new SluiceError('BAD_REQUEST', 'XDT is not available here: SLUICE_XDT_SOCKET is not set (the function must run on Sluice with XDT enabled)');
  }
  return target;
}

function activatorPool(): Pool {
  const url = process.env.SLUICE_ACTIVATOR_URL;
  if (!url) throw new SluiceError('BAD_REQUEST', 'invoke needs SLUICE_ACTIVATOR_URL (set by the platform) to reach other functions');
  activator ??= new Pool(url, { connections: 64, keepAliveTimeout: 30_000, headersTimeout: 0, bodyTimeout: 0 });
  return activator;
}

function inlineThreshold(opts: InvokeOptions): number {
  if (opts.inlineThresholdBytes !== undefined) return opts.inlineThresholdBytes;
  const env = Number(process.env.SLUICE_XDT_INLINE_THRESHOLD);
  return Number.isFinite(env) && env >= 0 ? env : DEFAULT_INLINE_THRESHOLD_BYTES;
}

/** A body as bytes when it already is one; undefined for streams. */
function asBytes(body: XdtBody): Buffer | undefined {
  if (typeof body === 'string') return Buffer.from(body);
  if (Buffer.isBuffer(body)) return body;
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  return undefined;
}

/**
 * Reads a stream until it ends or exceeds `limit` bytes: small streams become bytes (inline), large ones
 * continue as a stream that replays what was read first.
 */
async function peek(source: AsyncIterable<Uint8Array>, limit: number): Promise<{ small: Buffer } | { large: AsyncIterable<Uint8Array> }> {
  const it = source[Symbol.asyncIterator]();
  const head: Uint8Array[] = [];
  let n = 0;
  for (;;) {
    const next = await it.next();
    if (next.done) return { small: Buffer.concat(head, n) };
    head.push(next.value);
    n += next.value.length;
    if (n > limit) break;
  }
  async function* replay(): AsyncGenerator<Uint8Array> {
    yield* head;
    for (;;) {
      const next = await it.next();
      if (next.done) return;
      yield next.value;
    }
  }
  return { large: replay() };
}

/**
 * How an object travels: inline (bytes, at most `threshold` of them, or anything without XDT) or by reference
 * (bytes or a stream, of which only the first `threshold` bytes were read).
 */
async function inlineOrStream(obj: XdtBody, threshold: number, xdt: boolean): Promise<{ bytes?: Buffer; stream?: AsyncIterable<Uint8Array>; inline: boolean }> {
  let bytes = asBytes(obj);
  let stream: AsyncIterable<Uint8Array> | undefined;
  if (!bytes) {
    const peeked = await peek(obj as AsyncIterable<Uint8Array>, xdt ? threshold : Infinity);
    if ('small' in peeked) bytes = peeked.small;
    else stream = peeked.large;
  }
  return { bytes, stream, inline: bytes !== undefined && (bytes.length <= threshold || !xdt) };
}

function ttlOf(opts: PutOptions): number {
  const ttl = opts.ttlMs ?? 0;
  if (!Number.isFinite(ttl) || ttl < 0) throw new SluiceError('BAD_REQUEST', `ttlMs = ${ttl}, must be ≥ 0`);
  return ttl;
}

/** Buffers `obj` in this instance's queue-proxy for `retrievals` gets (or until the TTL); resolves with its reference once it is whole. */
export async function put(obj: XdtBody, opts: PutOptions = {}): Promise<string> {
  const retrievals = opts.retrievals ?? 1;
  if (!Number.isInteger(retrievals) || retrievals < 1) throw new SluiceError('BAD_REQUEST', `retrievals = ${retrievals}, must be an integer ≥ 1`);
  const bytes = asBytes(obj);
  const call = xdtClient().put(
    requireQueueProxy(),
    { retrievals, ttl_ms: ttlOf(opts), size_bytes: bytes?.length ?? -1, content_type: opts.contentType ?? 'application/octet-stream', for_invoke: false },
    bytes ?? (obj as AsyncIterable<Uint8Array>),
  );
  await call.complete;
  return call.reference;
}

/** The object behind `reference` as a stream, pulled through this instance's queue-proxy. */
export function getStream(reference: string): Readable {
  const incoming = xdtClient().get(requireQueueProxy(), { reference });
  const stream = Readable.from(incoming.body, { objectMode: false });
  stream.once('close', () => incoming.cancel());
  return stream;
}

/** The object behind `reference`, whole. Rejects with a SluiceError (XDT_OBJECT_GONE, XDT_REF_EXPIRED, …). */
export async function get(reference: string): Promise<Buffer> {
  return readBody(xdtClient().get(requireQueueProxy(), { reference }).body);
}

/** Reads a request (or any stream) whole: what a consumer handler does with an object passed by invoke. */
export async function readBody(req: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const part of req) {
    parts.push(Buffer.isBuffer(part) ? part : Buffer.from(part));
    n += part.length;
  }
  return Buffer.concat(parts, n);
}

/**
 * Calls function `fn` through the activator with `obj` as its request body. Small objects go inline;
 * larger ones stream to this instance's queue-proxy while only the reference travels with the request,
 * and the consumer's queue-proxy pulls the bytes straight from ours. A reply by reference is pulled too.
 */
export async function invokeStream(fn: string, obj: XdtBody | undefined, opts: InvokeOptions = {}): Promise<InvokeStreamResult> {
  const namespace = opts.namespace ?? instanceInfo.namespace;
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.contentType) headers['content-type'] = opts.contentType;
  const local = localQueueProxy();
  let body: Buffer | undefined;
  let upload: ReturnType<XdtClient['put']> | undefined;
  if (obj !== undefined) {
    const { bytes, stream, inline } = await inlineOrStream(obj, inlineThreshold(opts), local !== undefined);
    if (inline) {
      body = bytes;
    } else {
      upload = xdtClient().put(
        local!,
        { retrievals: 1, ttl_ms: 0, size_bytes: bytes?.length ?? -1, content_type: opts.contentType ?? 'application/octet-stream', for_invoke: true },
        bytes ?? stream!,
      );
      // Cut-through: the request leaves as soon as the queue-proxy has minted the reference.
      headers[XDT_REF_HEADER] = await upload.reference;
    }
  }
  const path = `/fn/${encodeURIComponent(namespace)}/${encodeURIComponent(fn)}${opts.path ?? '/'}`;
  let response;
  try {
    response = await activatorPool().request({
      method: (opts.method ?? (obj === undefined ? 'GET' : 'POST')) as 'POST',
      path,
      headers,
      body: body ?? null,
      headersTimeout: opts.timeoutMs ?? 300_000,
      bodyTimeout: opts.timeoutMs ?? 300_000,
    });
  } catch (err) {
    upload?.cancel();
    throw err;
  }
  // The consumer has its object by now, or never will: an upload still waiting for buffers is pointless.
  if (upload) response.body.once('end', () => upload.cancel());
  const refHeader = response.headers[XDT_REF_HEADER];
  if (typeof refHeader === 'string' && response.statusCode < 300) {
    response.body.resume();
    return { status: response.statusCode, headers: response.headers, body: getStream(refHeader) };
  }
  return { status: response.statusCode, headers: response.headers, body: response.body };
}

/** invoke with the whole response body. */
export async function invoke(fn: string, obj: XdtBody | undefined, opts: InvokeOptions = {}): Promise<InvokeResult> {
  const result = await invokeStream(fn, obj, opts);
  return { status: result.status, headers: result.headers, body: await readBody(result.body) };
}

export interface ReplyOptions {
  status?: number;
  contentType?: string;
  /** Objects up to this many bytes are sent inline. */
  inlineThresholdBytes?: number;
}

/**
 * Answers a request with `obj`: inline when small (or without XDT), otherwise by reference — the caller's
 * SDK pulls it from this instance's queue-proxy, so a large response never crosses the activator.
 */
export async function reply(res: ServerResponse, obj: XdtBody, opts: ReplyOptions = {}): Promise<void> {
  const local = localQueueProxy();
  const { bytes, stream, inline } = await inlineOrStream(obj, opts.inlineThresholdBytes ?? inlineThreshold({}), local !== undefined);
  const contentType = opts.contentType ?? 'application/octet-stream';
  if (inline && bytes) {
    res.writeHead(opts.status ?? 200, { 'content-type': contentType, 'content-length': bytes.length });
    res.end(bytes);
    return;
  }
  const upload = xdtClient().put(local!, { retrievals: 1, ttl_ms: 0, size_bytes: bytes?.length ?? -1, content_type: contentType, for_invoke: true }, bytes ?? stream!);
  const reference = await upload.reference;
  res.writeHead(opts.status ?? 200, { [XDT_REF_HEADER]: reference, 'content-length': 0 });
  res.end();
  // The upload continues after the answer (cut-through); its failure reaches the caller as XDT_OBJECT_GONE.
}
