// Persistent memory for functions: files on the node's PM device, every read and write timed by the node's device
// (the emulated device's contention cost is real time) and counted per invocation for the node's profiler.
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import path from 'node:path';
import { SluiceError } from '../lib/errors.js';
import type { PmClient } from '../lib/pm/client.js';
import { instanceInfo } from './serve.js';

/** Bytes one invocation read from and wrote to PM. */
export interface PmUsage {
  readBytes: number;
  writtenBytes: number;
}

interface Invocation extends PmUsage {
  id: string;
}

const invocations = new AsyncLocalStorage<Invocation>();
let client: Promise<PmClient> | undefined;
/** Set by the first PM file opened: from then on every invocation reports, zeros included, so the profile follows a function that stops writing. */
let usedPm = false;

function pmDir(): string {
  const dir = process.env.SLUICE_PM_DIR;
  if (!dir) throw new SluiceError('BAD_REQUEST', 'PM is not available here: SLUICE_PM_DIR is not set (the function must run on a Sluice node with PM)');
  return dir;
}

/** Loaded on first use: functions that never touch PM do not pay for the gRPC client's imports. */
function pmClient(): Promise<PmClient> | undefined {
  const address = process.env.SLUICE_PM_ADDRESS;
  if (!address) return undefined;
  client ??= import('../lib/pm/client.js').then((m) => new m.PmClient(address));
  return client;
}

async function deviceTime(kind: 'read' | 'write', bytes: number): Promise<void> {
  const c = pmClient();
  if (c && bytes > 0) await (await c).io(kind, bytes);
}

/** Names are plain file names inside the PM directory: no path may leave it. */
function resolveName(name: string): string {
  if (name === '' || name !== path.basename(name) || name === '.' || name === '..') {
    throw new SluiceError('BAD_REQUEST', `PM file name "${name}" must be a plain file name (no "/")`);
  }
  return path.join(pmDir(), name);
}

export class PmFile {
  constructor(private readonly handle: FileHandle) {}

  /** Writes `data` at `position` (default: the current end of what was written); resolves when the device has taken it. */
  async write(data: Uint8Array, position?: number): Promise<number> {
    const { bytesWritten } = await this.handle.write(data, 0, data.length, position ?? null);
    await deviceTime('write', bytesWritten);
    const inv = invocations.getStore();
    if (inv) inv.writtenBytes += bytesWritten;
    return bytesWritten;
  }

  /** Reads up to `length` bytes at `position`. */
  async read(length: number, position = 0): Promise<Buffer> {
    const buffer = Buffer.allocUnsafe(length);
    const { bytesRead } = await this.handle.read(buffer, 0, length, position);
    await deviceTime('read', bytesRead);
    const inv = invocations.getStore();
    if (inv) inv.readBytes += bytesRead;
    return buffer.subarray(0, bytesRead);
  }

  /** Makes what was written durable (fsync; on DAX the data is persistent once flushed). */
  async flush(): Promise<void> {
    await this.handle.sync();
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

/** Opens (flags as fs.open: 'r', 'r+', 'w', 'a', …) a file on this node's PM. */
export async function openPm(name: string, flags = 'r+'): Promise<PmFile> {
  const file = new PmFile(await open(resolveName(name), flags));
  usedPm = true;
  return file;
}

/** What the current invocation has read and written so far (zeros outside an invocation). */
export function pmUsage(): PmUsage {
  const inv = invocations.getStore();
  return { readBytes: inv?.readBytes ?? 0, writtenBytes: inv?.writtenBytes ?? 0 };
}

/**
 * Runs one invocation's handler with its own PM account and reports the account to the node when
 * the response ends. A process that never opened a PM file reports nothing (and never loads the
 * gRPC client): the node treats a function it has no reports of as a reader.
 */
export function withPmAccount<T>(res: ServerResponse, run: () => T): T {
  const c = pmClient();
  if (!c) return run();
  const inv: Invocation = { id: randomUUID(), readBytes: 0, writtenBytes: 0 };
  res.once('close', () => {
    if (!usedPm) return;
    void c
      .then((pm) => pm.reportUsage(instanceInfo.namespace, instanceInfo.function, inv.id, inv.readBytes, inv.writtenBytes))
      .catch(() => undefined); // the profile misses one sample; the invocation itself succeeded
  });
  return invocations.run(inv, run);
}
