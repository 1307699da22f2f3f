// The node's shared-memory directory for same-node XDT pulls (queue-proxy/xdt/shm.ts): one per node agent,
// on tmpfs, private to the agent's user, emptied at start (segments of queue-proxies that died with a previous agent).
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';

/** Where `auto` puts it: Linux's tmpfs for POSIX shared memory. */
export const SHM_ROOT = '/dev/shm';

/** The directory the setting names for node `node`: "auto" = /dev/shm/sluice-xdt/<node> when /dev/shm exists; "" / "off" = none. */
export function resolveShmDir(setting: string, node: string, root = SHM_ROOT): string | undefined {
  if (setting === '' || setting === 'off') return undefined;
  if (setting !== 'auto') return path.resolve(setting);
  const isDir = existsSync(root) && statSync(root).isDirectory();
  return isDir ? path.join(root, 'sluice-xdt', node) : undefined;
}

/** Makes the directory empty and 0700. Throws when it cannot be made (the caller decides whether that is fatal). */
export function prepareShmDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
}

export function removeShmDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
