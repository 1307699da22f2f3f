// A node's PM device: a real DAX file system when the directory is on one, otherwise tmpfs with the contention model's time cost (or a plain directory with none).
import { mkdir, readFile, realpath } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { aggregateReadBandwidth, aggregateWriteBandwidth, DEFAULT_BANDWIDTH_SCALE, scaledParams, validateContentionParams } from './contention-model.js';
import { realClock, SharedBandwidth } from './shared-bandwidth.js';
import type { Clock } from './shared-bandwidth.js';
import type { ContentionParams, PmDevice, PmMode } from './types.js';

/** Where emulated devices live by default: /dev/shm is tmpfs on Linux, so the real copy costs little next to the model. */
export const DEFAULT_PM_ROOT = '/dev/shm/sluice-pm';

export type PmModeOption = 'auto' | PmMode;

export interface PmDeviceOptions {
  /** auto (default): dax when the directory is on a DAX mount, else emulated. */
  mode?: PmModeOption;
  /** PM directory; default DEFAULT_PM_ROOT/<node>. Created when missing. */
  dir?: string;
  /** Node name for the default directory; default the host name. */
  node?: string;
  /** Emulated mode: the model; default the published curve at `scale`. */
  params?: ContentionParams;
  /** Emulated mode: the bandwidth scale applied to the published curve when `params` is not given; default DEFAULT_BANDWIDTH_SCALE. */
  scale?: number;
  /** Emulated mode: time source and timers (tests). */
  clock?: Clock;
  /** Mount table to detect DAX from; default /proc/mounts. */
  mountsPath?: string;
}

/** One line of /proc/mounts. */
export interface MountEntry {
  source: string;
  mountPoint: string;
  fsType: string;
  options: string[];
}

/** A PmDevice whose transfers can be cancelled, and which says how it came to its mode. */
export interface PmDeviceHandle extends PmDevice {
  /** An aborted write leaves the device at once, its share going to the other writers. */
  write(bytes: number, signal?: AbortSignal): Promise<void>;
  read(bytes: number, signal?: AbortSignal): Promise<void>;
  /** The emulated model; undefined in dax and plain modes. */
  readonly params: ContentionParams | undefined;
  /** The mount holding `dir` (undefined when the mount table could not be read). */
  readonly mount: MountEntry | undefined;
  /** Why this mode, for logs and the node's PM info. */
  readonly reason: string;
}

/** /proc/mounts escapes space, tab, newline and backslash as octal. */
function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

export function parseMounts(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 4) continue;
    entries.push({
      source: unescapeMountField(fields[0]),
      mountPoint: unescapeMountField(fields[1]),
      fsType: fields[2],
      options: fields[3].split(','),
    });
  }
  return entries;
}

/** The mount holding the absolute, symlink-free `path`: the longest mount point containing it; the later line when one is mounted over another. */
export function mountOf(mounts: readonly MountEntry[], path: string): MountEntry | undefined {
  let best: MountEntry | undefined;
  for (const entry of mounts) {
    const point = entry.mountPoint;
    const contains = point === '/' || path === point || path.startsWith(point.endsWith('/') ? point : `${point}/`);
    if (contains && (best === undefined || point.length >= best.mountPoint.length)) best = entry;
  }
  return best;
}

/**
 * DAX for the whole mount: ext4/xfs `dax` (the old spelling) or `dax=always`. `dax=inode` only maps
 * files that carry the per-inode flag and `dax=never` none, so neither counts: PM files created by
 * functions would silently go through the page cache.
 */
export function isDaxMount(entry: MountEntry | undefined): boolean {
  return entry !== undefined && entry.options.some((option) => option === 'dax' || option === 'dax=always');
}

/** The mode for a requested option and the directory's mount; throws when dax is asked for and the mount is not DAX. */
export function chooseMode(requested: PmModeOption, mount: MountEntry | undefined): { mode: PmMode; reason: string } {
  const where = mount === undefined ? 'an unknown mount' : `${mount.mountPoint} (${mount.fsType}, ${mount.options.join(',')})`;
  const dax = isDaxMount(mount);
  switch (requested) {
    case 'plain':
      return { mode: 'plain', reason: `plain requested: no time model on ${where}` };
    case 'dax':
      if (!dax) throw new Error(`PM mode dax requested but the directory is on ${where}, not a DAX mount`);
      return { mode: 'dax', reason: `dax requested and ${where} is a DAX mount` };
    case 'emulated':
      return { mode: 'emulated', reason: `emulated requested on ${where}${tmpfsNote(mount)}` };
    case 'auto':
      if (dax) return { mode: 'dax', reason: `auto: ${where} is a DAX mount` };
      return { mode: 'emulated', reason: `auto: ${where} is not a DAX mount, emulating${tmpfsNote(mount)}` };
  }
}

function tmpfsNote(mount: MountEntry | undefined): string {
  // Off tmpfs the real file writes cost their own (disk) time on top of the model's.
  return mount?.fsType === 'tmpfs' ? '' : ' (not tmpfs: real writes add their own cost to the model)';
}

/**
 * Opens (creating when missing) the node's PM directory and picks its mode. The directory's files are
 * left in place on close: on tmpfs they last until reboot, like PM contents across a node-agent restart.
 */
export async function openPmDevice(options: PmDeviceOptions = {}): Promise<PmDeviceHandle> {
  const requested = options.mode ?? 'auto';
  if (options.dir === undefined && requested === 'dax') throw new Error('PM mode dax needs the directory of the DAX mount');
  const node = options.node ?? hostname();
  if (options.dir === undefined && (node === '' || node.includes('/') || node === '.' || node === '..')) throw new Error(`node name ${JSON.stringify(node)} cannot name a directory`);
  const wanted = options.dir ?? join(DEFAULT_PM_ROOT, node);
  await mkdir(wanted, { recursive: true });
  const dir = await realpath(wanted);
  let mount: MountEntry | undefined;
  try {
    mount = mountOf(parseMounts(await readFile(options.mountsPath ?? '/proc/mounts', 'utf8')), dir);
  } catch {
    mount = undefined; // no mount table (not Linux): nothing can be DAX
  }
  const { mode, reason } = chooseMode(requested, mount);
  if (mode !== 'emulated') return new UntimedDevice(mode, dir, mount, reason);
  const params = options.params ?? scaledParams(options.scale ?? DEFAULT_BANDWIDTH_SCALE);
  validateContentionParams(params);
  return new EmulatedDevice(dir, mount, reason, params, options.clock ?? realClock);
}

/**
 * tmpfs with the model's time cost. Writes and reads are two independent resources: a reader does not
 * slow writers nor the reverse (real DCPMM does interfere; see README "Where the model is weakest").
 */
class EmulatedDevice implements PmDeviceHandle {
  readonly mode = 'emulated';
  private readonly writes: SharedBandwidth;
  private readonly reads: SharedBandwidth;

  constructor(
    readonly dir: string,
    readonly mount: MountEntry | undefined,
    readonly reason: string,
    readonly params: ContentionParams,
    clock: Clock,
  ) {
    this.writes = new SharedBandwidth((n) => aggregateWriteBandwidth(n, params), clock);
    this.reads = new SharedBandwidth((n) => aggregateReadBandwidth(n, params), clock);
  }

  write(bytes: number, signal?: AbortSignal): Promise<void> {
    return this.writes.transfer(bytes, signal);
  }

  read(bytes: number, signal?: AbortSignal): Promise<void> {
    return this.reads.transfer(bytes, signal);
  }

  get activeWriters(): number {
    return this.writes.active;
  }

  get activeReaders(): number {
    return this.reads.active;
  }

  async close(): Promise<void> {
    const closed = new Error('PM device closed');
    this.writes.close(closed);
    this.reads.close(closed);
  }
}

/**
 * DAX and plain: the real device sets the pace (or nothing does), so write() and read() resolve at
 * once. Nothing is in flight inside the device, so active counts are 0; concurrency on a real device
 * is what admission counts.
 */
class UntimedDevice implements PmDeviceHandle {
  readonly params = undefined;
  readonly activeWriters = 0;
  readonly activeReaders = 0;
  private closed = false;

  constructor(
    readonly mode: PmMode,
    readonly dir: string,
    readonly mount: MountEntry | undefined,
    readonly reason: string,
  ) {}

  write(_bytes: number, signal?: AbortSignal): Promise<void> {
    return this.now(signal);
  }

  read(_bytes: number, signal?: AbortSignal): Promise<void> {
    return this.now(signal);
  }

  private now(signal?: AbortSignal): Promise<void> {
    if (this.closed) return Promise.reject(new Error('PM device closed'));
    if (signal?.aborted) return Promise.reject(signal.reason);
    return Promise.resolve();
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
