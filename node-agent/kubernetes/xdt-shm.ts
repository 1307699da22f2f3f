// The node's XDT segment directory on Kubernetes (the same-node fast path, queue-proxy/xdt/shm.ts): <hostPath>/<node>,
// in the chart's xdt.shm.hostPath, which the operator mounts into every queue-proxy sidecar of the node (never into a
// user container) and names as its xdt-shm-dir. The agent makes it its own (mode 0700; the sidecars run as the same
// uid) and, unlike the local node agent, never empties it: the queue-proxies of the node outlive an agent restart,
// and their segments in flight with them.
//
// Producer and consumer each remove a segment's name (the consumer as soon as the producer holds the file open, the
// producer when it is done), so names do not outlive both. One window leaks: a consumer killed between creating its
// segment and its Pull reaching the producer leaves an empty file nobody will open. The sweeper removes segment files
// not written for `maxAgeMs` (10 min by default; a live one is named in its Pull within xdt-pull-timeout, 1 s, and an
// open one keeps its bytes when its name goes). Only names that are segment names are ever touched.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../lib/logger.js';
import { isSegmentName } from '../../lib/xdt/segment-name.js';

/** The sweeps run this often at most (and at least twice per age, so a leak lives under 1.5 × the age). */
const MAX_SWEEP_INTERVAL_MS = 60_000;

function errorCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException).code;
}

/**
 * Makes `dir` this process's own directory with mode 0700, keeping whatever it holds. Its parent (the hostPath) must
 * exist and be writable by this uid. Throws, saying why, when the directory cannot be used: missing parent, not a
 * directory (a symlink is not followed), owned by another uid.
 */
export async function prepareNodeShmDir(dir: string, uid: number = process.getuid?.() ?? -1): Promise<void> {
  try {
    await fs.mkdir(dir, { mode: 0o700 });
  } catch (err) {
    if (errorCode(err) !== 'EEXIST') {
      throw new Error(`cannot create ${dir}: ${(err as Error).message} (is its parent, the hostPath, mounted and writable by uid ${uid}?)`);
    }
  }
  const stat = await fs.lstat(dir);
  if (!stat.isDirectory()) throw new Error(`${dir} is not a directory`);
  if (stat.uid !== uid) throw new Error(`${dir} belongs to uid ${stat.uid}, not to this agent's ${uid} (the uid of the queue-proxies): remove it`);
  if ((stat.mode & 0o7777) !== 0o700) await fs.chmod(dir, 0o700);
}

/** Removes the segment files of `dir` not written for `maxAgeMs`; resolves to their names. A missing directory holds none. */
export async function sweepSegments(dir: string, maxAgeMs: number, now: number = Date.now()): Promise<string[]> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return [];
    throw err;
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!isSegmentName(name)) continue;
    const file = path.join(dir, name);
    const stat = await fs.lstat(file).catch(() => undefined);
    if (!stat?.isFile() || now - stat.mtimeMs < maxAgeMs) continue;
    try {
      await fs.unlink(file);
      removed.push(name);
    } catch (err) {
      // Its producer or consumer removed it meanwhile.
      if (errorCode(err) !== 'ENOENT') throw err;
    }
  }
  return removed;
}

export interface ShmSweeper {
  /** Resolves once the first sweep (at start) is done. */
  firstSweep: Promise<void>;
  stop(): Promise<void>;
}

/** Sweeps `dir` now and then every min(maxAgeMs / 2, 60 s), one sweep at a time, until stopped. */
export function startShmSweeper(options: { dir: string; maxAgeMs: number; logger: Logger; onSwept?: (count: number) => void }): ShmSweeper {
  const intervalMs = Math.min(MAX_SWEEP_INTERVAL_MS, Math.floor(options.maxAgeMs / 2));
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  const sweep = async (): Promise<void> => {
    try {
      const removed = await sweepSegments(options.dir, options.maxAgeMs);
      if (removed.length > 0) {
        options.onSwept?.(removed.length);
        options.logger.info({ xdtShmDir: options.dir, removed: removed.length, olderThanMs: options.maxAgeMs }, 'XDT segments leaked by dead consumers removed');
      }
    } catch (err) {
      options.logger.warn({ xdtShmDir: options.dir, err: (err as Error).message }, 'XDT segment sweep failed');
    }
  };
  const schedule = (): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = sweep().then(schedule);
    }, intervalMs);
    timer.unref();
  };
  running = sweep().then(schedule);
  const firstSweep = running;
  return {
    firstSweep,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
