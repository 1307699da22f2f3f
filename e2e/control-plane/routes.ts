// The local routes that make the pod and service ranges bindable on this machine, like 127/8 (see the contract:
// Kubernetes rejects loopback addresses in Endpoints, so the apiserver and pods use 10.244/16 instead).
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { isAlive } from '../../lib/process.js';

const execFileP = promisify(execFile);

export const POD_RANGE = '10.244.0.0/16';
export const SERVICE_RANGE = '10.96.0.0/16';

// One file per harness process using the routes. Several harnesses may run at once (a developer's run.js and the
// e2e suite): the last one to stop removes the routes. Under /run, which is emptied at boot, as the routes are.
const HOLDERS = '/run/sluice-e2e/route-holders';

async function ip(args: string[]): Promise<void> {
  try {
    await execFileP('ip', args);
  } catch (err) {
    const e = err as Error & { stderr?: string };
    const hint = process.getuid?.() === 0 ? '' : ' (it needs root: CAP_NET_ADMIN)';
    throw new Error(`ip ${args.join(' ')} failed${hint}: ${e.stderr?.trim() || e.message}`);
  }
}

/** Adds the local routes (idempotent: `replace`) and registers this process as a user of them. */
export async function addLocalRoutes(): Promise<void> {
  for (const range of [POD_RANGE, SERVICE_RANGE]) await ip(['route', 'replace', 'local', range, 'dev', 'lo']);
  mkdirSync(HOLDERS, { recursive: true });
  writeFileSync(path.join(HOLDERS, String(process.pid)), '');
}

/** Unregisters this process; removes the routes unless another live harness still uses them. */
export async function removeLocalRoutes(): Promise<void> {
  rmSync(path.join(HOLDERS, String(process.pid)), { force: true });
  const others: number[] = [];
  try {
    for (const name of readdirSync(HOLDERS)) {
      if (isAlive(Number(name))) others.push(Number(name));
      else rmSync(path.join(HOLDERS, name), { force: true }); // left by a harness that was killed
    }
  } catch {
    // no holders directory: nobody else registered
  }
  if (others.length > 0) return;
  for (const range of [POD_RANGE, SERVICE_RANGE]) {
    await ip(['route', 'del', 'local', range, 'dev', 'lo']).catch(() => undefined); // already gone is fine
  }
}
