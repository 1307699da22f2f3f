// The XDT data-plane contract (protos/xdt.proto) spoken as gRPC over node:http2 directly: the bulk
// `bytes` fields stream through without protobuf copies, which grpc-js cannot do (it measured ~4× slower
// than a plain stream for 100 MiB here). Small messages go through protobufjs; any gRPC client can talk to it.
import http2 from 'node:http2';
import type { Readable } from 'node:stream';
import path from 'node:path';
import protobuf from 'protobufjs';
import { ERROR_CODES, SluiceError, isSluiceError, type ErrorCode } from '../errors.js';
import { PROTOS_DIR } from '../protos-dir.js';

export const SERVICE_PATH = '/sluice.xdt.v1.XdtData';
export const PUT_PATH = `${SERVICE_PATH}/Put`;
export const PULL_PATH = `${SERVICE_PATH}/Pull`;
export const GET_PATH = `${SERVICE_PATH}/Get`;

/** Tags of the streamed bytes fields: Chunk.data (field 1) and PutMessage.data (field 2), wire type 2. */
export const CHUNK_DATA_TAG = (1 << 3) | 2;
export const PUT_DATA_TAG = (2 << 3) | 2;

/** Per-stream and per-connection HTTP/2 flow-control windows: large enough to fill a 10 Gbit/s link, small enough to bound memory. */
export const STREAM_WINDOW_BYTES = 2 * 2 ** 20;
export const SESSION_WINDOW_BYTES = 32 * 2 ** 20;
/** nghttp2's cap on a session's buffered data (MB): the default 10 refuses streams once a few large ones are in flight. */
export const MAX_SESSION_MEMORY_MB = 512;
export const H2_SETTINGS: http2.Settings = { initialWindowSize: STREAM_WINDOW_BYTES, maxFrameSize: 2 ** 20 - 1 };

// keepCase: the generated types and the rest of Sluice use the .proto's snake_case names.
const root = new protobuf.Root().loadSync(path.join(PROTOS_DIR, 'xdt.proto'), { keepCase: true });
const types = {
  PutMessage: root.lookupType('sluice.xdt.v1.PutMessage'),
  PutResponse: root.lookupType('sluice.xdt.v1.PutResponse'),
  PullRequest: root.lookupType('sluice.xdt.v1.PullRequest'),
  GetRequest: root.lookupType('sluice.xdt.v1.GetRequest'),
  Chunk: root.lookupType('sluice.xdt.v1.Chunk'),
};
const TO_OBJECT: protobuf.IConversionOptions = { longs: Number, defaults: true };

export interface PutHeader {
  retrievals: number;
  ttl_ms: number;
  size_bytes: number;
  content_type: string;
  for_invoke: boolean;
}
export interface PutResponse {
  reference: string;
  complete: boolean;
  size_bytes: number;
}
export interface PullRequest {
  reference: string;
  namespace: string;
  /** Same-node fast path: the segment file the consumer created in the node's shared-memory directory. */
  shm_segment?: string;
}
export interface GetRequest {
  reference: string;
}
/** The metadata part of a Chunk (the first message of Pull and Get streams). */
export interface ChunkMeta {
  total_size: number;
  content_type: string;
}
/** The control part of a Chunk: the shared-memory fast path's progress, and the producer's wait at the end. */
export interface ChunkControl {
  /** The producer writes the object into the consumer's segment file (first chunk). */
  shm: boolean;
  /** Bytes [0; shm_written) of the object are in the segment file. */
  shm_written: number;
  /** Last chunk: milliseconds the producer waited for its own function's bytes (cut-through). */
  source_wait_ms: number;
}

type TypeName = keyof typeof types;

/** One whole gRPC message: 5-byte prefix (uncompressed, big-endian length) ‖ protobuf. */
export function encodeMessage(type: TypeName, value: object): Buffer {
  const body = types[type].encode(types[type].fromObject(value)).finish();
  const out = Buffer.allocUnsafe(5 + body.length);
  out[0] = 0;
  out.writeUInt32BE(body.length, 1);
  out.set(body, 5);
  return out;
}

export function decodeMessage<T>(type: TypeName, bytes: Buffer): T {
  return types[type].toObject(types[type].decode(bytes), TO_OBJECT) as T;
}

function varintLength(n: number): number {
  let len = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

/** Prefix of a message holding only a bytes field of `length` bytes; the bytes follow as their own write (no copy). */
export function dataPrefix(tag: number, length: number): Buffer {
  const fieldHeader = 1 + varintLength(length);
  const out = Buffer.allocUnsafe(5 + fieldHeader);
  out[0] = 0;
  out.writeUInt32BE(fieldHeader + length, 1);
  out[5] = tag;
  let n = length;
  let i = 6;
  while (n >= 0x80) {
    out[i++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  out[i] = n;
  return out;
}

/** What a stream of gRPC messages is made of: whole small messages, and slices of streamed bytes fields. */
export type WireEvent = { kind: 'message'; bytes: Buffer } | { kind: 'data'; bytes: Buffer };

/**
 * Parses length-prefixed gRPC messages from HTTP/2 DATA. A message that holds only the bytes field
 * `dataTag` is streamed as 'data' slices of the received buffers (no reassembly); any other message
 * is reassembled and yielded whole (they are small: headers, metadata).
 */
export async function* readMessages(source: AsyncIterable<Buffer>, dataTag: number, maxMessageBytes = 16 * 2 ** 20): AsyncGenerator<WireEvent> {
  let pending: Buffer | undefined; // bytes of a prefix or a small message not complete yet
  let messageLeft = 0; // bytes of the current message still to come (0 = next is a prefix)
  let streaming = false; // current message is a bytes field being streamed
  let parts: Buffer[] = [];
  let partsBytes = 0;
  for await (const received of source) {
    const buf: Buffer = pending ? Buffer.concat([pending, received]) : received;
    pending = undefined;
    let offset = 0;
    while (offset < buf.length) {
      if (messageLeft === 0) {
        if (buf.length - offset < 5) {
          pending = buf.subarray(offset);
          break;
        }
        if (buf[offset] !== 0) throw new SluiceError('BAD_REQUEST', 'compressed XDT messages are not supported');
        const length = buf.readUInt32BE(offset + 1);
        offset += 5;
        if (length > 0 && buf[offset] === undefined) {
          // The field header is in the next buffer: keep the prefix and decide then.
          pending = buf.subarray(offset - 5);
          offset = buf.length;
          break;
        }
        if (length === 0) {
          yield { kind: 'message', bytes: Buffer.alloc(0) };
          continue;
        }
        // Is this message exactly one bytes field with the streamed tag? Needs the whole varint.
        if (buf[offset] === dataTag) {
          let n = 0;
          let scale = 1;
          let i = offset + 1;
          for (; i < buf.length && i < offset + 11; i++) {
            n += (buf[i] & 0x7f) * scale;
            scale *= 128;
            if (buf[i] < 0x80) break;
          }
          if (i >= buf.length) {
            pending = buf.subarray(offset - 5);
            offset = buf.length;
            break;
          }
          const headerBytes = i + 1 - offset;
          if (headerBytes + n === length) {
            streaming = true;
            messageLeft = n;
            offset += headerBytes;
            continue;
          }
        }
        if (length > maxMessageBytes) throw new SluiceError('BAD_REQUEST', `XDT message of ${length} bytes exceeds ${maxMessageBytes}`);
        streaming = false;
        messageLeft = length;
        continue;
      }
      const take = Math.min(messageLeft, buf.length - offset);
      const slice = buf.subarray(offset, offset + take);
      offset += take;
      messageLeft -= take;
      if (streaming) {
        if (slice.length > 0) yield { kind: 'data', bytes: slice };
        if (messageLeft === 0) streaming = false;
      } else {
        parts.push(slice);
        partsBytes += slice.length;
        if (messageLeft === 0) {
          const bytes = parts.length === 1 ? parts[0] : Buffer.concat(parts, partsBytes);
          parts = [];
          partsBytes = 0;
          yield { kind: 'message', bytes };
        }
      }
    }
  }
  if (pending || messageLeft > 0) throw new SluiceError('XDT_OBJECT_GONE', 'the XDT stream ended in the middle of a message');
}

/* gRPC status codes used by the data plane, and the stable Sluice code sent beside them. */
export const GRPC_STATUS = { OK: 0, CANCELLED: 1, INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, PERMISSION_DENIED: 7, RESOURCE_EXHAUSTED: 8, INTERNAL: 13, UNAVAILABLE: 14 } as const;

const GRPC_CODES: Partial<Record<ErrorCode, number>> = {
  XDT_REF_INVALID: GRPC_STATUS.INVALID_ARGUMENT,
  XDT_REF_FORBIDDEN: GRPC_STATUS.PERMISSION_DENIED,
  XDT_REF_EXPIRED: GRPC_STATUS.NOT_FOUND,
  XDT_OBJECT_GONE: GRPC_STATUS.NOT_FOUND,
  XDT_OBJECT_TOO_LARGE: GRPC_STATUS.RESOURCE_EXHAUSTED,
  QUEUE_FULL: GRPC_STATUS.RESOURCE_EXHAUSTED,
  BAD_REQUEST: GRPC_STATUS.INVALID_ARGUMENT,
  SHUTTING_DOWN: GRPC_STATUS.UNAVAILABLE,
};

export const ERROR_HEADER = 'x-sluice-error';

/** Trailers (or trailers-only headers) that carry `err` as a gRPC status with its stable Sluice code. */
export function statusTrailers(err: unknown): http2.OutgoingHttpHeaders {
  const error = isSluiceError(err) ? err : new SluiceError('INTERNAL', (err as Error)?.message ?? String(err));
  return {
    'grpc-status': String(GRPC_CODES[error.code] ?? GRPC_STATUS.INTERNAL),
    'grpc-message': encodeURIComponent(error.message),
    [ERROR_HEADER]: error.code,
  };
}

export const OK_TRAILERS: http2.OutgoingHttpHeaders = { 'grpc-status': '0' };

/** The SluiceError a peer's status stands for; undefined for OK. */
export function errorFromStatus(headers: http2.IncomingHttpHeaders, peer: string): SluiceError | undefined {
  const status = headers['grpc-status'];
  if (status === undefined || status === '0') return undefined;
  const code = headers[ERROR_HEADER];
  let message = String(headers['grpc-message'] ?? '');
  try {
    message = decodeURIComponent(message);
  } catch {
    // keep it as sent
  }
  if (typeof code === 'string' && code in ERROR_CODES) return new SluiceError(code as ErrorCode, message);
  const n = Number(status);
  if (n === GRPC_STATUS.UNAVAILABLE || n === GRPC_STATUS.CANCELLED || n === GRPC_STATUS.DEADLINE_EXCEEDED) {
    return new SluiceError('XDT_OBJECT_GONE', `XDT peer ${peer} is gone: ${message}`);
  }
  return new SluiceError('INTERNAL', `XDT peer ${peer} answered gRPC status ${status}: ${message}`);
}

/** Resolves once `stream` can take more writes, or is closed (the caller then notices and stops). One listener pair, removed after. */
export function drained(stream: NodeJS.EventEmitter): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
  });
}

/**
 * The buffers of a readable as they arrive, one by one. A readable's own async iterator calls read(), which
 * concatenates whatever is buffered into a new Buffer — a copy of every byte; this hands the received buffers on
 * as they are, pausing the stream (so flow control holds the sender back) while the consumer is behind.
 */
export async function* streamChunks(stream: Readable, highWater = 16, destroyOnReturn = true): AsyncGenerator<Buffer> {
  const queue: Buffer[] = [];
  let head = 0;
  let ended = false;
  let error: unknown;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const onData = (chunk: Buffer): void => {
    queue.push(chunk);
    if (queue.length - head >= highWater) stream.pause();
    notify();
  };
  const onEnd = (): void => {
    ended = true;
    notify();
  };
  const onError = (err: unknown): void => {
    error ??= err;
    notify();
  };
  const onClose = (): void => {
    if (!ended) error ??= new Error('Premature close');
    notify();
  };
  stream.on('data', onData);
  stream.on('end', onEnd);
  stream.on('error', onError);
  stream.on('close', onClose);
  try {
    for (;;) {
      if (head < queue.length) {
        const chunk = queue[head];
        queue[head++] = undefined as unknown as Buffer;
        if (head > 64 && head * 2 > queue.length) {
          queue.splice(0, head);
          head = 0;
        }
        if (stream.isPaused() && queue.length - head < highWater / 2) stream.resume();
        yield chunk;
        continue;
      }
      if (ended) return;
      if (error) throw error;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    stream.off('data', onData);
    stream.off('end', onEnd);
    stream.off('error', onError);
    stream.off('close', onClose);
    if (!ended && !stream.destroyed && destroyOnReturn) stream.destroy();
  }
}
