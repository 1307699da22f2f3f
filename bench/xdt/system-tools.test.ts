// Tests for finding system binaries (the apt install path is exercised by the Redis and netns setups, not here).
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { findExecutable, lastLines, searchDirs } from './system-tools.js';

test('searchDirs: PATH first, then the sbin and bin folders, each once', () => {
  const dirs = searchDirs('/opt/x/bin:/usr/bin::');
  assert.equal(dirs[0], '/opt/x/bin');
  assert.equal(dirs[1], '/usr/bin');
  assert.ok(dirs.includes('/usr/sbin'));
  assert.equal(dirs.filter((d) => d === '/usr/bin').length, 1);
  assert.ok(!dirs.includes(''));
  assert.ok(searchDirs(undefined).includes('/sbin'));
});

test('findExecutable: finds an executable file, skips a non-executable one', (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-tools-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const other = mkdtempSync(path.join(os.tmpdir(), 'sluice-tools-'));
  t.after(() => rmSync(other, { recursive: true, force: true }));
  writeFileSync(path.join(dir, 'tool'), '#!/bin/sh\n');
  chmodSync(path.join(dir, 'tool'), 0o644);
  writeFileSync(path.join(other, 'tool'), '#!/bin/sh\n');
  chmodSync(path.join(other, 'tool'), 0o755);
  // As root, access(X_OK) still needs one execute bit.
  assert.equal(findExecutable('tool', [dir, other]), path.join(other, 'tool'));
  assert.equal(findExecutable('no-such-tool-here', [dir, other]), undefined);
});

test('lastLines: the last non-empty lines, trailing blanks dropped', () => {
  assert.equal(lastLines('a\nb\n\nc  \n\n', 2), 'b\nc');
  assert.equal(lastLines('', 3), '');
});
