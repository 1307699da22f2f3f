// The same-node fast path's decisions and segment handling (real files on the local file system).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createSegment, isSegmentName, openSegment, segmentBytes, useShm, type PullProgress } from './shm.js';
import type { IncomingEvent } from '../../lib/xdt/client.js';

const MiB = 2 ** 20;
const base = { requested: true, sizeBytes: 8 * MiB, inFlightBytes: 0, maxObjectBytes: 64 * MiB, budgetBytes: 256 * MiB };

test('useShm: only for a requested segment, an object not announced over the limit, within the budget', () => {
  const cases: Array<[string, Partial<typeof base>, boolean]> = [
    ['requested, sized, room', {}, true],
    ['not requested', { requested: false }, false],
    ['size unknown (streamed without one): starts in the segment', { sizeBytes: -1 }, true],
    ['size unknown, budget spent', { sizeBytes: -1, inFlightBytes: 256 * MiB }, false],
    ['empty object', { sizeBytes: 0 }, true],
    ['exactly the object limit', { sizeBytes: 64 * MiB }, true],
    ['over the object limit', { sizeBytes: 64 * MiB + 1 }, false],
    ['fills the budget exactly', { inFlightBytes: 248 * MiB }, true],
    ['over the budget', { inFlightBytes: 249 * MiB }, false],
    ['fast path off by a zero limit', { maxObjectBytes: 0 }, false],
  ];
  for (const [name, overrides, want] of cases) assert.equal(useShm({ ...base, ...overrides }), want, name);
});

test('segments: created 0600 with an unguessable name; a producer opens only fresh regular segment files of its directory', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'shm-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const segment = await createSegment(dir);
  try {
    assert.ok(isSegmentName(segment.name), segment.name);
    assert.equal(statSync(segment.path).mode & 0o777, 0o600);
    const producer = await openSegment(dir, segment.name);
    assert.ok(producer, 'a fresh segment was refused');
    await producer.close();

    writeFileSync(path.join(dir, 'x-' + 'a'.repeat(32)), 'old');
    symlinkSync(segment.path, path.join(dir, 'x-' + 'b'.repeat(32)));
    const refused: Array<[string, string]> = [
      ['a path, not a name', `../${path.basename(dir)}/${segment.name}`],
      ['not a segment name', 'passwd'],
      ['missing (another node, or gone)', 'x-' + 'c'.repeat(32)],
      ['not empty (someone wrote it before)', 'x-' + 'a'.repeat(32)],
      ['a symbolic link', 'x-' + 'b'.repeat(32)],
    ];
    for (const [why, name] of refused) assert.equal(await openSegment(dir, name), undefined, why);
  } finally {
    await segment.handle.close();
  }
});

async function* events(list: IncomingEvent[], before?: (e: IncomingEvent) => Promise<void>): AsyncGenerator<IncomingEvent> {
  for (const e of list) {
    await before?.(e);
    yield e;
  }
}

test('segmentBytes: reads announced extents, unlinks the file once the producer has it, and closes whatever happens', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'shm-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const segment = await createSegment(dir);
  const data = Buffer.alloc(3 * MiB + 5, 7);
  const producer = (await openSegment(dir, segment.name))!;
  const progress: PullProgress = { shm: false, sourceWaitMs: 0 };
  const writes: Record<number, [number, number]> = { 1: [0, MiB], 2: [MiB, data.length] };
  let step = 0;
  const parts: Buffer[] = [];
  const list: IncomingEvent[] = [
    { kind: 'control', control: { shm: true, shm_written: 0, source_wait_ms: 0 } },
    { kind: 'control', control: { shm: false, shm_written: MiB, source_wait_ms: 0 } },
    { kind: 'control', control: { shm: false, shm_written: data.length, source_wait_ms: 0 } },
    { kind: 'control', control: { shm: false, shm_written: 0, source_wait_ms: 12.5 } },
  ];
  for await (const part of segmentBytes(
    events(list, async () => {
      const w = writes[step++];
      if (w) await producer.write(data, w[0], w[1] - w[0], w[0]);
    }),
    segment,
    progress,
  )) {
    if (parts.length === 0) assert.deepEqual(readdirSync(dir), [], 'the segment was not unlinked after the producer opened it');
    parts.push(Buffer.from(part));
  }
  await producer.close();
  assert.ok(Buffer.concat(parts).equals(data));
  assert.deepEqual(progress, { shm: true, sourceWaitMs: 12.5 });

  // A producer that streams instead: data events pass through, and the unused segment goes.
  const unused = await createSegment(dir);
  const streamed: Buffer[] = [];
  for await (const part of segmentBytes(events([{ kind: 'data', bytes: Buffer.from('hello') }]), unused, { shm: false, sourceWaitMs: 0 })) streamed.push(part);
  assert.equal(Buffer.concat(streamed).toString(), 'hello');
  assert.deepEqual(readdirSync(dir), []);

  // A producer that announces more than it wrote: XDT_OBJECT_GONE, and still no file left.
  const short = await createSegment(dir);
  await assert.rejects(
    (async () => {
      for await (const _ of segmentBytes(events([{ kind: 'control', control: { shm: true, shm_written: 100, source_wait_ms: 0 } }]), short, { shm: false, sourceWaitMs: 0 }));
    })(),
    (err: Error & { code?: string }) => err.code === 'XDT_OBJECT_GONE',
  );
  assert.deepEqual(readdirSync(dir), []);
});
