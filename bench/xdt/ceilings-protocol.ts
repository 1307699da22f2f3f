// What the transport-ceiling receiver (ceilings.ts) and sender (ceilings-sender.ts) agree on.

/** Both transports move 64 KiB at a time: XDT's default chunk (protos/xdt.proto), and a typical socket write. */
export const CHUNK_BYTES = 64 * 1024;

/** The sender's first IPC message: where it listens. */
export interface SenderReady {
  grpcPort: number;
  tcpPort: number;
}

/** The lengths of the chunks that make up `size` bytes: full chunks, then the remainder (none for size 0). */
export function chunkLengths(size: number, chunk: number): number[] {
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`size must be a non-negative integer, got ${size}`);
  if (!Number.isSafeInteger(chunk) || chunk <= 0) throw new RangeError(`chunk must be a positive integer, got ${chunk}`);
  const lengths = new Array<number>(Math.floor(size / chunk)).fill(chunk);
  if (size % chunk !== 0) lengths.push(size % chunk);
  return lengths;
}

/** A TCP request: the size wanted, as 8 bytes big-endian. */
export function encodeTcpRequest(size: number): Buffer {
  const request = Buffer.alloc(8);
  request.writeBigUInt64BE(BigInt(size));
  return request;
}

export function isSenderReady(message: unknown): message is SenderReady {
  const m = message as Partial<SenderReady> | null;
  return typeof m === 'object' && m !== null && Number.isInteger(m.grpcPort) && Number.isInteger(m.tcpPort);
}
