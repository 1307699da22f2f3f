// The node's shared-memory directory: which one a setting names, and that it starts empty and private.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { prepareShmDir, resolveShmDir } from './xdt-shm.js';

test('resolveShmDir: auto is per node under /dev/shm when it exists; off and "" turn the fast path off; a path is taken as given', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'shm-root-'));
  try {
    const cases: Array<[string, string, string | undefined]> = [
      ['auto', root, path.join(root, 'sluice-xdt', 'node-1')],
      ['auto', path.join(root, 'missing'), undefined],
      ['off', root, undefined],
      ['', root, undefined],
      ['/run/sluice/xdt', root, '/run/sluice/xdt'],
    ];
    for (const [setting, at, want] of cases) assert.equal(resolveShmDir(setting, 'node-1', at), want, `${setting} at ${at}`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('prepareShmDir: segments left by a previous agent go, and the directory is 0700', () => {
  const dir = path.join(mkdtempSync(path.join(os.tmpdir(), 'shm-')), 'node-1');
  prepareShmDir(dir);
  writeFileSync(path.join(dir, 'x-' + '0'.repeat(32)), 'stale');
  prepareShmDir(dir);
  assert.deepEqual(readdirSync(dir), []);
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  rmSync(path.dirname(dir), { recursive: true, force: true });
});
