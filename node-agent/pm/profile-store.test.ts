// Tests of the profile store on real temp files: round trip, missing and corrupt files, atomic saves, delayed saves, close.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { ProfileStore, writeFileAtomic } from './profile-store.js';
import { PmProfiler, type PmProfilerState } from './profiler.js';

interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

const WARN = 40;

function capture(): { logger: pino.Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) });
  return { logger, lines };
}

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sluice-pm-store-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function learnt(functions = 3): PmProfiler {
  const profiler = new PmProfiler();
  for (let f = 0; f < functions; f++) {
    for (let i = 0; i < 10; i++) {
      profiler.record(`ns/f${f}`, { readBytes: 1000 * f + i, writtenBytes: (1 << 20) * f + i });
      profiler.recordDuration(`ns/f${f}`, 50 + f * 10 + i, 1 + (i % 4));
    }
  }
  return profiler;
}

test('ProfileStore: round trip — what one agent saves at close, the next one restores', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'nested', 'node-1.json');
  const { logger } = capture();
  const before = learnt();
  const first = new ProfileStore(file, logger, { saveDelayMs: 3_600_000 });
  assert.equal(await first.load(), undefined);
  first.track(before);
  before.record('ns/late', { readBytes: 1, writtenBytes: 2 });
  await first.close(before);

  const after = new PmProfiler();
  const second = new ProfileStore(file, logger);
  after.restore(await second.load());
  assert.deepEqual([...after.entries()], [...before.entries()]);
  assert.equal(after.classify('ns/f2', 1 << 20), 'writer');
  const onDisk = JSON.parse(await readFile(file, 'utf8')) as PmProfilerState;
  assert.equal(onDisk.version, 1);
  assert.deepEqual(Object.keys(onDisk.functions).sort(), ['ns/f0', 'ns/f1', 'ns/f2', 'ns/late']);
});

test('ProfileStore: a missing file starts empty, logged, no throw', async (t) => {
  const dir = await tempDir(t);
  const { logger, lines } = capture();
  assert.equal(await new ProfileStore(path.join(dir, 'absent.json'), logger).load(), undefined);
  assert.ok(lines.some((l) => /no saved PM profiles/.test(l.msg)));
  // A directory that does not exist yet is not an error either.
  assert.equal(await new ProfileStore(path.join(dir, 'no', 'such', 'dir', 'x.json'), logger).load(), undefined);
});

const corrupt: Array<{ name: string; content: string }> = [
  { name: 'not JSON', content: 'garbage \u0000\u0001' },
  { name: 'truncated JSON (a torn write)', content: '{"version":1,"functions":{"ns/f":{"readBytes":1' },
  { name: 'empty file', content: '' },
  { name: 'JSON of another shape', content: '[1,2,3]' },
  { name: 'a future version', content: '{"version":9,"functions":{}}' },
];

for (const row of corrupt) {
  test(`ProfileStore: corrupt file (${row.name}) starts empty with a warning and is kept aside`, async (t) => {
    const dir = await tempDir(t);
    const file = path.join(dir, 'state.json');
    await writeFile(file, row.content);
    const { logger, lines } = capture();
    const store = new ProfileStore(file, logger);
    const profiler = new PmProfiler();
    profiler.restore(await store.load());
    assert.equal(profiler.size, 0);
    assert.ok(
      lines.some((l) => l.level === WARN && /corrupt/.test(l.msg)),
      JSON.stringify(lines),
    );
    assert.equal(await readFile(`${file}.corrupt`, 'utf8'), row.content);
    // The next save writes a good file in its place.
    store.track(profiler);
    profiler.record('ns/f', { readBytes: 1, writtenBytes: 1 });
    await store.close();
    assert.equal((await new ProfileStore(file, logger).load())?.functions['ns/f']?.usageSamples, 1);
  });
}

test('ProfileStore: a malformed entry costs only that function', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'state.json');
  const state = learnt(2).snapshot();
  (state.functions['ns/f1'] as unknown as Record<string, unknown>).readBytes = 'lots';
  await writeFile(file, JSON.stringify(state));
  const { logger, lines } = capture();
  const loaded = await new ProfileStore(file, logger).load();
  assert.deepEqual(Object.keys(loaded!.functions), ['ns/f0']);
  assert.ok(lines.some((l) => l.level === WARN && Array.isArray(l.skipped) && l.skipped[0] === 'ns/f1'));
});

test('ProfileStore: an unreadable path (a directory) starts empty with a warning', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'state.json');
  await mkdir(file);
  const { logger, lines } = capture();
  assert.equal(await new ProfileStore(file, logger).load(), undefined);
  assert.ok(lines.some((l) => l.level === WARN && /cannot read/.test(l.msg)));
});

test('writeFileAtomic: readers racing many saves only ever see a whole file', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'state.json');
  // Large enough (~1 MB) that a non-atomic write would be seen half-done.
  const big = (n: number) => JSON.stringify({ n, pad: 'x'.repeat(1 << 20) });
  await writeFileAtomic(file, big(0));
  let writing = true;
  let reads = 0;
  const reader = (async () => {
    while (writing) {
      const parsed = JSON.parse(await readFile(file, 'utf8')) as { n: number; pad: string };
      assert.equal(parsed.pad.length, 1 << 20);
      reads++;
    }
  })();
  for (let n = 1; n <= 30; n++) await writeFileAtomic(file, big(n));
  writing = false;
  await reader;
  assert.ok(reads > 0);
  assert.equal((JSON.parse(await readFile(file, 'utf8')) as { n: number }).n, 30);
  assert.deepEqual(await readdir(dir), ['state.json'], 'no temp file left behind');
});

test('writeFileAtomic: a save that fails leaves the old file and no temp file', async (t) => {
  const dir = await tempDir(t);
  // The rename fails after the temp file is fully written: the target is a non-empty directory.
  const target = path.join(dir, 'state.json');
  await mkdir(target);
  await writeFile(path.join(target, 'keep'), 'old');
  await assert.rejects(writeFileAtomic(target, '{"version":1,"functions":{}}'));
  assert.deepEqual((await readdir(dir)).sort(), ['state.json']);
  assert.equal(await readFile(path.join(target, 'keep'), 'utf8'), 'old');
  // A save into a path under a regular file fails before writing anything.
  await writeFile(path.join(dir, 'plain'), 'x');
  await assert.rejects(writeFileAtomic(path.join(dir, 'plain', 'state.json'), '{}'));
});

test('ProfileStore: the temp file of an interrupted save is ignored and removed at load', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'state.json');
  const good = learnt(1).snapshot();
  await writeFile(file, JSON.stringify(good));
  // What a crash between write and rename leaves behind: a partial temp file.
  await writeFile(`${file}.4242.0a1b2c3d4e5f.tmp`, '{"version":1,"functions":{"ns/f0":{"readB');
  await writeFile(path.join(dir, 'other.json.1.ab.tmp'), 'not ours');
  const { logger } = capture();
  assert.deepEqual(await new ProfileStore(file, logger).load(), good);
  assert.deepEqual((await readdir(dir)).sort(), ['other.json.1.ab.tmp', 'state.json']);
});

test('ProfileStore: changes are saved after the delay, once for a burst, not synchronously', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'state.json');
  const { logger } = capture();
  const store = new ProfileStore(file, logger, { saveDelayMs: 50 });
  const profiler = new PmProfiler();
  store.track(profiler);
  for (let i = 0; i < 100; i++) profiler.record('ns/f', { readBytes: i, writtenBytes: i });
  await sleep(10);
  await assert.rejects(readFile(file), { code: 'ENOENT' });
  const deadline = Date.now() + 5_000;
  let saved: PmProfilerState | undefined;
  while (Date.now() < deadline) {
    saved = await readFile(file, 'utf8').then((text) => JSON.parse(text) as PmProfilerState, () => undefined);
    if (saved) break;
    await sleep(10);
  }
  assert.equal(saved?.functions['ns/f'].usageSamples, 100);
  // Another change after the save is saved again.
  profiler.record('ns/g', { readBytes: 1, writtenBytes: 1 });
  await store.close();
  const final = JSON.parse(await readFile(file, 'utf8')) as PmProfilerState;
  assert.deepEqual(Object.keys(final.functions).sort(), ['ns/f', 'ns/g']);
});

test('ProfileStore: close saves pending changes at once; nothing changed means no write', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'state.json');
  const { logger } = capture();
  const idle = new ProfileStore(file, logger, { saveDelayMs: 3_600_000 });
  idle.track(new PmProfiler());
  await idle.close();
  await assert.rejects(readFile(file), { code: 'ENOENT' });

  const store = new ProfileStore(file, logger, { saveDelayMs: 3_600_000 });
  const profiler = new PmProfiler();
  store.track(profiler);
  profiler.record('ns/f', { readBytes: 1, writtenBytes: 2 });
  const started = Date.now();
  await store.close(profiler);
  assert.ok(Date.now() - started < 1_000);
  assert.equal((JSON.parse(await readFile(file, 'utf8')) as PmProfilerState).functions['ns/f'].writtenBytes, 2);
});

test('ProfileStore: a failing save is logged, never thrown, and retried on the next change', async (t) => {
  const dir = await tempDir(t);
  const blocker = path.join(dir, 'blocker');
  await writeFile(blocker, 'a file where a directory should be');
  const file = path.join(blocker, 'state.json');
  const { logger, lines } = capture();
  const store = new ProfileStore(file, logger, { saveDelayMs: 3_600_000 });
  const profiler = new PmProfiler();
  store.track(profiler);
  profiler.record('ns/f', { readBytes: 1, writtenBytes: 2 });
  await store.flush();
  assert.ok(lines.some((l) => l.level === WARN && /saving the PM profiles failed/.test(l.msg)));
  // Once the path is usable again, the change not yet saved is saved at close.
  await rm(blocker);
  await store.close();
  assert.equal((JSON.parse(await readFile(file, 'utf8')) as PmProfilerState).functions['ns/f'].writtenBytes, 2);
  assert.equal(await readdir(dir).then((names) => names.filter((n) => n.endsWith('.tmp')).length), 0);
});
