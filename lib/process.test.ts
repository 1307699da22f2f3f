// Owned processes: terminate() also kills what the child left in its process group.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawnOwned, terminate } from './process.js';

/** Running (a zombie waiting for a reaper counts as gone). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

test('terminate() kills a grandchild that ignores SIGTERM once the child has exited', async () => {
  const logFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'sluice-proc-')), 'child.log');
  // The child shell starts a grandchild that ignores SIGTERM, prints its pid, and waits.
  const child = spawnOwned('sh', ['-c', '(trap "" TERM; exec sleep 30) & echo $!; wait'], { env: process.env, logFile });
  let grandchild = 0;
  for (let i = 0; i < 50 && !grandchild; i++) {
    await sleep(20);
    grandchild = Number(readFileSync(logFile, 'utf8').trim()) || 0;
  }
  assert.ok(grandchild > 0 && alive(grandchild), 'grandchild did not start');
  await terminate(child, 2_000);
  let gone = false;
  for (let i = 0; i < 50 && !gone; i++) {
    gone = !alive(grandchild);
    if (!gone) await sleep(20);
  }
  assert.ok(gone, `grandchild ${grandchild} survived terminate()`);
});
