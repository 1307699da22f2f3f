// The node's shared-memory directory: which one a setting names, and that it starts empty and private.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { abandonedDirs, prepareShmDir, resolveShmDir } from './xdt-shm.js';

test('resolveShmDir: auto is per node and agent under /dev/shm when it exists; off and "" turn the fast path off; a path is taken as given', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'shm-root-'));
  try {
    const cases: Array<[string, string, string | undefined]> = [
      ['auto', root, path.join(root, 'sluice-xdt', 'node-1-4242')],
      ['auto', path.join(root, 'missing'), undefined],
      ['off', root, undefined],
      ['', root, undefined],
      ['/run/sluice/xdt', root, '/run/sluice/xdt'],
    ];
    for (const [setting, at, want] of cases) assert.equal(resolveShmDir(setting, 'node-1', 4242, at), want, `${setting} at ${at}`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('abandonedDirs: directories of agents no longer running; names without a pid are left alone', () => {
  const alive = (pid: number) => pid === 10;
  assert.deepEqual(abandonedDirs(['node-1-10', 'node-1-11', 'node-2-12', 'readme'], alive), ['node-1-11', 'node-2-12']);
});

test('prepareShmDir: the directory starts empty and 0700; abandoned siblings go, live ones stay', () => {
  const parent = path.join(mkdtempSync(path.join(os.tmpdir(), 'shm-')), 'sluice-xdt');
  const dir = path.join(parent, 'node-1-10');
  mkdirSync(path.join(parent, 'node-2-11'), { recursive: true });
  mkdirSync(path.join(parent, 'node-2-12'), { recursive: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'x-' + '0'.repeat(32)), 'stale');
  prepareShmDir(dir, (pid) => pid === 10 || pid === 12);
  assert.deepEqual(readdirSync(dir), []);
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  assert.equal(existsSync(path.join(parent, 'node-2-11')), false, 'an abandoned directory stayed');
  assert.equal(existsSync(path.join(parent, 'node-2-12')), true, "a running agent's directory went");
  rmSync(path.dirname(parent), { recursive: true, force: true });
});
