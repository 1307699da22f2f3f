import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { silentLogger } from '../../lib/logger.js';
import { createSegment, discardSegment, isSegmentName } from '../../queue-proxy/xdt/shm.js';
import { prepareNodeShmDir, startShmSweeper, sweepSegments } from './xdt-shm.js';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-xdt-shm-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const SEGMENT = `x-${'0123456789abcdef'.repeat(2)}`;
const MINUTE = 60_000;

test('prepareNodeShmDir makes <hostPath>/<node> the agent\'s own, 0700, and keeps what it holds across restarts', async (t) => {
  const hostPath = tempDir(t);
  const dir = path.join(hostPath, 'node-1');
  await prepareNodeShmDir(dir);
  assert.equal(statSync(dir).mode & 0o7777, 0o700);
  assert.equal(statSync(dir).uid, process.getuid!());
  // A queue-proxy's segment in flight survives an agent restart (the local agent empties its directory; this one must not).
  writeFileSync(path.join(dir, SEGMENT), 'bytes');
  chmodSync(dir, 0o755);
  await prepareNodeShmDir(dir);
  assert.deepEqual(readdirSync(dir), [SEGMENT]);
  assert.equal(statSync(dir).mode & 0o7777, 0o700, 'a loosened mode is tightened again');
});

test('prepareNodeShmDir refuses what it cannot make its own, saying why', async (t) => {
  const hostPath = tempDir(t);
  await assert.rejects(prepareNodeShmDir(path.join(hostPath, 'missing', 'node-1')), /cannot create .*missing\/node-1.*is its parent, the hostPath, mounted and writable by uid/);
  writeFileSync(path.join(hostPath, 'file'), '');
  await assert.rejects(prepareNodeShmDir(path.join(hostPath, 'file')), /file is not a directory/);
  mkdirSync(path.join(hostPath, 'elsewhere'));
  symlinkSync(path.join(hostPath, 'elsewhere'), path.join(hostPath, 'link'));
  await assert.rejects(prepareNodeShmDir(path.join(hostPath, 'link')), /link is not a directory/, 'a symlink is not followed');
  const uid = process.getuid!();
  await assert.rejects(prepareNodeShmDir(path.join(hostPath, 'elsewhere'), uid + 1), new RegExp(`belongs to uid ${uid}, not to this agent's ${uid + 1}`));
});

test('sweepSegments removes only segment files not written for the age: never other names, directories or fresh segments', async (t) => {
  const dir = tempDir(t);
  const fresh = await createSegment(dir);
  t.after(() => discardSegment(fresh));
  const leaked = await createSegment(dir);
  await leaked.handle.close();
  const old = Date.now() / 1000 - 3600;
  utimesSync(leaked.path, old, old);
  for (const name of ['x-abc', 'notes', `x-${'A'.repeat(32)}`]) {
    writeFileSync(path.join(dir, name), '');
    utimesSync(path.join(dir, name), old, old);
  }
  mkdirSync(path.join(dir, SEGMENT));
  utimesSync(path.join(dir, SEGMENT), old, old);

  assert.deepEqual(await sweepSegments(dir, 10 * MINUTE), [leaked.name]);
  assert.deepEqual(readdirSync(dir).sort(), [SEGMENT, `x-${'A'.repeat(32)}`, 'notes', 'x-abc', fresh.name].sort());
  assert.ok(isSegmentName(fresh.name));
  // The fresh one goes too once it is that old (its consumer died before naming it in a Pull).
  assert.deepEqual(await sweepSegments(dir, 10 * MINUTE, Date.now() + 11 * MINUTE), [fresh.name]);
  assert.deepEqual(await sweepSegments(path.join(dir, 'gone'), MINUTE), [], 'a directory not made yet holds nothing');
});

test('a segment being written is never old: each write moves its mtime', async (t) => {
  const dir = tempDir(t);
  const segment = await createSegment(dir);
  t.after(() => discardSegment(segment));
  const old = Date.now() / 1000 - 3600;
  utimesSync(segment.path, old, old);
  await segment.handle.write(Buffer.from('extent'), 0, 6, 0);
  assert.deepEqual(await sweepSegments(dir, 10 * MINUTE), []);
});

test('startShmSweeper sweeps at start and reports the count; stop ends it', async (t) => {
  const dir = tempDir(t);
  const old = Date.now() / 1000 - 3600;
  for (let i = 0; i < 3; i++) {
    const s = await createSegment(dir);
    await s.handle.close();
    utimesSync(s.path, old, old);
  }
  const counts: number[] = [];
  const sweeper = startShmSweeper({ dir, maxAgeMs: 10 * MINUTE, logger: silentLogger(), onSwept: (n) => counts.push(n) });
  await sweeper.firstSweep;
  assert.deepEqual(counts, [3]);
  assert.deepEqual(readdirSync(dir), []);
  await sweeper.stop();
  assert.ok(existsSync(dir), 'the directory itself stays');
});
