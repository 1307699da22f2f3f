// The node's shared-memory directory for same-node XDT pulls (queue-proxy/xdt/shm.ts): one per node agent,
// on tmpfs, private to the agent's user, new at every start. Several local clusters may run on one machine with
// the same node names (benchmarks do), so `auto` names the directory by node and agent pid, and sweeps the
// directories of agents that are gone (with the segments of queue-proxies that died with them).
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { isAlive } from '../lib/process.js';

/** Where `auto` puts it: Linux's tmpfs for POSIX shared memory. */
export const SHM_ROOT = '/dev/shm';
const AUTO_PARENT = 'sluice-xdt';

/**
 * The directory the setting names: "auto" = /dev/shm/sluice-xdt/<node>-<pid> when /dev/shm exists; "" / "off" =
 * none; anything else is a path taken as given (emptied at start: it must be this agent's alone).
 */
export function resolveShmDir(setting: string, node: string, pid: number, root = SHM_ROOT): string | undefined {
  if (setting === '' || setting === 'off') return undefined;
  if (setting !== 'auto') return path.resolve(setting);
  const isDir = existsSync(root) && statSync(root).isDirectory();
  return isDir ? path.join(root, AUTO_PARENT, `${node}-${pid}`) : undefined;
}

/** Under `parent`, the `<node>-<pid>` directories whose agent is no longer running. */
export function abandonedDirs(names: readonly string[], alive: (pid: number) => boolean): string[] {
  return names.filter((name) => {
    const m = /-(\d+)$/.exec(name);
    return m !== null && !alive(Number(m[1]));
  });
}

/** Makes the directory empty and 0700, after sweeping abandoned siblings of an `auto` one. Throws when it cannot be made. */
export function prepareShmDir(dir: string, alive: (pid: number) => boolean = isAlive): void {
  const parent = path.dirname(dir);
  if (path.basename(parent) === AUTO_PARENT && existsSync(parent)) {
    for (const name of abandonedDirs(readdirSync(parent), alive)) rmSync(path.join(parent, name), { recursive: true, force: true });
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
}

export function removeShmDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
