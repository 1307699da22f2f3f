// The same-node fast path of XDT: when producer and consumer queue-proxies share a node, the object moves
// through a segment file in the node's shared-memory directory (tmpfs) instead of TCP. The gRPC Pull stays
// the control channel (who, what, how far written, errors); only the bytes take the shortcut.
//
// Protocol (protos/xdt.proto PullRequest.shm_segment, Chunk.shm / shm_written):
//   1. The consumer creates an empty segment file (random name, mode 0600, O_EXCL) and names it in its Pull.
//   2. A producer that can use it opens it (no create, no symlinks, must be an empty regular file) and answers
//      with a first Chunk {shm: true}; then it writes the object into the file as it arrives and sends
//      Chunk {shm_written} after each write. Bytes beyond the per-object limit or its budget (an object of
//      unknown size may turn out large) follow as data on the stream. A producer that cannot use the segment
//      at all (another node's directory, announced too large, its budget spent) streams the data as usual:
//      the consumer takes either, in order.
//   3. The consumer unlinks the file as soon as it sees {shm: true} (the producer holds it open by then), and
//      the producer when it is done, so the name outlives neither of them (an open file stays readable); the
//      consumer reads each announced extent with large reads.
// The directory is the node agent's (0700, emptied when the agent starts): user containers never see it.
import { randomBytes } from 'node:crypto';
import { constants, promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { SluiceError } from '../../lib/errors.js';
import type { IncomingEvent } from '../../lib/xdt/client.js';
import { isSegmentName, segmentName } from '../../lib/xdt/segment-name.js';
export { isSegmentName };

export interface ShmOptions {
  /** The node's shared-memory directory (the node agent creates it); every queue-proxy of the node uses the same. */
  dir: string;
  /** Objects announced larger than this (or of unknown size) go over TCP: a segment holds its object whole. */
  maxObjectBytes: number;
  /** Segment bytes this producer may have written and not yet seen finished, summed over its pulls. */
  budgetBytes: number;
}

export const DEFAULT_SHM_MAX_OBJECT_BYTES = 64 * 2 ** 20;
export const DEFAULT_SHM_BUDGET_BYTES = 256 * 2 ** 20;

/** Bytes per read of a segment: large reads, few syscalls (tmpfs copies at memory speed). */
const SEGMENT_READ_BYTES = 2 ** 20;


export interface ShmChoice {
  /** The consumer named a segment. */
  requested: boolean;
  /** The object's announced size, -1 when streamed without one (it may then overflow onto the stream). */
  sizeBytes: number;
  /** Segment bytes this producer has in flight now. */
  inFlightBytes: number;
  maxObjectBytes: number;
  budgetBytes: number;
}

/**
 * Whether the producer starts this object in the consumer's segment (else it streams it all over the Pull). An
 * object announced larger than the per-object limit, or than the budget left, streams whole; one of unknown size
 * starts in the segment while the budget has room, and whatever exceeds the limits follows on the stream.
 */
export function useShm(c: ShmChoice): boolean {
  if (!c.requested || c.maxObjectBytes <= 0 || c.sizeBytes > c.maxObjectBytes) return false;
  const left = c.budgetBytes - c.inFlightBytes;
  return c.sizeBytes < 0 ? left > 0 : c.sizeBytes <= left;
}

export interface ConsumerSegment {
  name: string;
  path: string;
  handle: FileHandle;
}

/** Consumer: a new empty segment file, only its owner may open it. */
export async function createSegment(dir: string): Promise<ConsumerSegment> {
  const name = segmentName(randomBytes(16));
  const file = path.join(dir, name);
  const handle = await fs.open(file, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  return { name, path: file, handle };
}

/**
 * Producer: opens the consumer's segment for writing, or undefined when it cannot be used here (not in this
 * node's directory, not a fresh regular file, not a segment name): the producer then streams over TCP.
 */
export async function openSegment(dir: string, name: string): Promise<FileHandle | undefined> {
  if (!isSegmentName(name)) return undefined;
  let handle: FileHandle;
  try {
    handle = await fs.open(path.join(dir, name), constants.O_WRONLY | constants.O_NOFOLLOW);
  } catch {
    return undefined;
  }
  const stat = await handle.stat().catch(() => undefined);
  if (!stat || !stat.isFile() || stat.size !== 0) {
    await handle.close().catch(() => undefined);
    return undefined;
  }
  return handle;
}

/** Producer: removes the segment's name once it is done with it (the consumer may already have). */
export async function unlinkSegment(dir: string, name: string): Promise<void> {
  if (isSegmentName(name)) await fs.unlink(path.join(dir, name)).catch(() => undefined);
}

/** How a consumer's pull went, filled in as it proceeds. */
export interface PullProgress {
  /** The producer wrote into the segment. */
  shm: boolean;
  /** The producer's wait for its own bytes, from its last Chunk. */
  sourceWaitMs: number;
}

/** Consumer: removes a segment no producer will write (a pull cancelled before it asked). */
export async function discardSegment(segment: ConsumerSegment): Promise<void> {
  await fs.unlink(segment.path).catch(() => undefined);
  await segment.handle.close().catch(() => undefined);
}

/** Consumer: the bytes of a pull over TCP (no segment), noting the producer's wait. */
export async function* segmentless(events: AsyncIterable<IncomingEvent>, progress: PullProgress): AsyncGenerator<Buffer> {
  for await (const event of events) {
    if (event.kind === 'data') yield event.bytes;
    else if (event.control.source_wait_ms > 0) progress.sourceWaitMs = event.control.source_wait_ms;
  }
}

/**
 * Consumer: the object's bytes from a pull that named `segment` — read from the file as the producer
 * announces extents, or taken from the stream when the producer streamed instead. Closes and unlinks the
 * segment whatever happens.
 */
export async function* segmentBytes(events: AsyncIterable<IncomingEvent>, segment: ConsumerSegment, progress: PullProgress): AsyncGenerator<Buffer> {
  let unlinked = false;
  const unlink = async (): Promise<void> => {
    if (unlinked) return;
    unlinked = true;
    await fs.unlink(segment.path).catch(() => undefined);
  };
  let read = 0;
  try {
    for await (const event of events) {
      if (event.kind === 'data') {
        yield event.bytes;
        continue;
      }
      const { control } = event;
      if (control.source_wait_ms > 0) progress.sourceWaitMs = control.source_wait_ms;
      if (control.shm && !progress.shm) {
        progress.shm = true;
        await unlink();
      }
      while (read < control.shm_written) {
        const buffer = Buffer.allocUnsafe(Math.min(SEGMENT_READ_BYTES, control.shm_written - read));
        const { bytesRead } = await segment.handle.read(buffer, 0, buffer.length, read);
        if (bytesRead === 0) throw new SluiceError('XDT_OBJECT_GONE', `XDT segment ${segment.name} holds ${read} bytes, the producer announced ${control.shm_written}`);
        read += bytesRead;
        yield bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead);
      }
    }
  } finally {
    await unlink();
    await segment.handle.close().catch(() => undefined);
  }
}
