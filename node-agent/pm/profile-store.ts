// The PM profiler's state on disk, so the profiles survive a node-agent restart (issue 5).
//
// One JSON file per node. Saves are atomic (temp file in the same directory, fsync, rename), so a
// crash or a full disk mid-save leaves the previous file whole, never a torn one. Saves follow the
// profiler's changes with a delay (at most one save per delay however busy the node is) and happen
// on close. Loading never fails the agent: a missing, unreadable or corrupt file means starting with
// empty profiles, which only costs re-learning — a worse outcome than that would be refusing to start.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../../lib/logger.js';
import { parseProfilerState, type PmProfiler, type PmProfilerState } from './profiler.js';

/** Delay from a change to its save: a crash loses at most this much learning. */
export const DEFAULT_SAVE_DELAY_MS = 5_000;

export interface ProfileStoreOptions {
  saveDelayMs?: number;
}

export class ProfileStore {
  private readonly saveDelayMs: number;
  private tracked: PmProfiler | undefined;
  private untrack: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private dirty = false;
  private closed = false;
  /** Saves run one after another, so a later snapshot never lands before an earlier one. */
  private writing: Promise<void> = Promise.resolve();

  constructor(
    readonly file: string,
    private readonly logger: Logger,
    options: ProfileStoreOptions = {},
  ) {
    this.saveDelayMs = options.saveDelayMs ?? DEFAULT_SAVE_DELAY_MS;
    if (!(this.saveDelayMs >= 0)) throw new RangeError(`saveDelayMs ${this.saveDelayMs} must be >= 0`);
  }

  /** The saved state, or undefined (logged) when there is none to use. Never throws. */
  async load(): Promise<PmProfilerState | undefined> {
    await this.removeLeftovers();
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        // The first start of a node: expected, so not a warning.
        this.logger.info({ file: this.file }, 'no saved PM profiles; starting with none');
      } else {
        this.logger.warn({ file: this.file, err: (err as Error).message }, 'cannot read the saved PM profiles; starting with none');
      }
      return undefined;
    }
    let parsed: ReturnType<typeof parseProfilerState>;
    try {
      parsed = parseProfilerState(JSON.parse(text));
    } catch (err) {
      const aside = `${this.file}.corrupt`;
      // Kept aside for a post-mortem; the next save writes a fresh file in its place.
      const moved = await rename(this.file, aside).then(
        () => true,
        () => false,
      );
      this.logger.warn({ file: this.file, err: (err as Error).message, ...(moved ? { keptAs: aside } : {}) }, 'saved PM profiles are corrupt; starting with none');
      return undefined;
    }
    if (parsed.skipped.length > 0) {
      this.logger.warn({ file: this.file, skipped: parsed.skipped }, 'saved PM profiles: malformed entries left out');
    }
    this.logger.info({ file: this.file, functions: Object.keys(parsed.state.functions).length }, 'PM profiles restored');
    return parsed.state;
  }

  /** Saves `profiler` a delay after it changes (and on close). Replaces any profiler tracked before. */
  track(profiler: PmProfiler): void {
    this.untrack?.();
    this.tracked = profiler;
    this.untrack = profiler.onChange(() => {
      this.dirty = true;
      if (this.timer || this.closed) return;
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.flush();
      }, this.saveDelayMs);
      // A pending save must not keep the process alive; close() saves what is left.
      this.timer.unref();
    });
  }

  /** Saves the tracked profiler now if it changed since its last save. A failure is logged, not thrown (the next change retries). */
  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const profiler = this.tracked;
    if (!profiler || !this.dirty) return this.writing;
    this.dirty = false;
    return this.enqueue(() => profiler.snapshot()).catch((err: unknown) => {
      this.dirty = true;
      this.logger.warn({ file: this.file, err: (err as Error).message }, 'saving the PM profiles failed; will retry on the next change');
    });
  }

  /** Writes `state` now (atomically). Throws when the write fails. */
  save(state: PmProfilerState): Promise<void> {
    return this.enqueue(() => state);
  }

  /**
   * Stops tracking and saves what is not saved yet: the tracked profiler's changes, or `profiler`
   * when it is another one. Never throws (the agent is stopping; a failure is logged).
   */
  async close(profiler?: PmProfiler): Promise<void> {
    this.closed = true;
    const other = profiler !== undefined && profiler !== this.tracked;
    await this.flush();
    this.untrack?.();
    this.untrack = undefined;
    if (other) {
      await this.save(profiler.snapshot()).catch((err: unknown) => {
        this.logger.warn({ file: this.file, err: (err as Error).message }, 'saving the PM profiles at close failed');
      });
    }
  }

  private enqueue(state: () => PmProfilerState): Promise<void> {
    // The snapshot is taken when the write starts, not when it was asked for: the newest state wins.
    const write = this.writing.then(() => writeFileAtomic(this.file, `${JSON.stringify(state())}\n`));
    this.writing = write.catch(() => undefined);
    return write;
  }

  // A crash mid-save leaves a temp file next to the state file; it was never the state (the rename
  // did not happen), so it goes.
  private async removeLeftovers(): Promise<void> {
    const dir = path.dirname(this.file);
    const prefix = `${path.basename(this.file)}.`;
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      return;
    }
    for (const name of names) {
      if (!name.startsWith(prefix) || !TEMP_SUFFIX.test(name.slice(prefix.length))) continue;
      await rm(path.join(dir, name), { force: true }).catch(() => undefined);
      this.logger.info({ file: path.join(dir, name) }, 'removed the temp file of an interrupted PM profile save');
    }
  }
}

/** The part of a temp file's name after "<state file name>.": "<pid>.<random hex>.tmp". */
const TEMP_SUFFIX = /^\d+\.[0-9a-f]+\.tmp$/;

/**
 * Replaces `file` with `data` atomically: readers see the old content or the new, never a part.
 * The data is fsynced before the rename and the directory after it, so the rename survives a power
 * cut too (where the file system allows syncing a directory).
 */
export async function writeFileAtomic(file: string, data: string): Promise<void> {
  const dir = path.dirname(file);
  await mkdir(dir, { recursive: true });
  const temp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    const handle = await open(temp, 'wx', 0o644);
    try {
      await handle.writeFile(data, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (err) {
    await rm(temp, { force: true }).catch(() => undefined);
    throw err;
  }
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Some file systems cannot fsync a directory; the rename itself is still atomic.
  }
}
