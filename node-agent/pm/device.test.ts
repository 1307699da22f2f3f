import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { aggregateWriteBandwidth, DEFAULT_CONTENTION, scaledParams } from './contention-model.js';
import { chooseMode, DEFAULT_PM_ROOT, isDaxMount, mountOf, openPmDevice, parseMounts } from './device.js';
import type { MountEntry, PmModeOption } from './device.js';

const MOUNTS = [
  'sysfs /sys sysfs rw,nosuid 0 0',
  '/dev/sda1 / ext4 rw,relatime 0 0',
  'tmpfs /dev/shm tmpfs rw,relatime,size=1000k 0 0',
  'tmpfs /dev/shm tmpfs rw,relatime,size=2000k 0 0',
  '/dev/pmem0 /mnt/pmem ext4 rw,relatime,dax=always 0 0',
  '/dev/pmem1 /mnt/pmem-old xfs rw,attr2,dax 0 0',
  '/dev/pmem2 /mnt/pmem-inode ext4 rw,dax=inode 0 0',
  '/dev/pmem3 /mnt/pmem-never ext4 rw,dax=never 0 0',
  '/dev/pmem4 /mnt/pm\\040space ext4 rw,dax 0 0',
  '/dev/sdb1 /mnt/pmem/nested ext4 rw 0 0',
  '',
].join('\n');

test('parseMounts', () => {
  const mounts = parseMounts(MOUNTS);
  assert.equal(mounts.length, 10);
  assert.deepEqual(mounts[4], { source: '/dev/pmem0', mountPoint: '/mnt/pmem', fsType: 'ext4', options: ['rw', 'relatime', 'dax=always'] });
  assert.equal(mounts[8].mountPoint, '/mnt/pm space', 'octal escapes undone');
});

test('mountOf and isDaxMount', () => {
  const mounts = parseMounts(MOUNTS);
  const rows: Array<{ path: string; mountPoint: string; dax: boolean; detail?: string }> = [
    { path: '/mnt/pmem', mountPoint: '/mnt/pmem', dax: true },
    { path: '/mnt/pmem/sluice/n1', mountPoint: '/mnt/pmem', dax: true },
    { path: '/mnt/pmemx/a', mountPoint: '/', dax: false, detail: 'a prefix of a name is not a parent' },
    { path: '/mnt/pmem/nested/a', mountPoint: '/mnt/pmem/nested', dax: false, detail: 'the innermost mount holds the path' },
    { path: '/mnt/pmem-old/a', mountPoint: '/mnt/pmem-old', dax: true, detail: 'the old `dax` option' },
    { path: '/mnt/pmem-inode/a', mountPoint: '/mnt/pmem-inode', dax: false, detail: 'dax=inode maps only flagged files' },
    { path: '/mnt/pmem-never/a', mountPoint: '/mnt/pmem-never', dax: false },
    { path: '/mnt/pm space/a', mountPoint: '/mnt/pm space', dax: true },
    { path: '/dev/shm/sluice-pm/n1', mountPoint: '/dev/shm', dax: false },
    { path: '/home/x', mountPoint: '/', dax: false },
  ];
  for (const row of rows) {
    const mount = mountOf(mounts, row.path);
    assert.equal(mount?.mountPoint, row.mountPoint, `${row.path} ${row.detail ?? ''}`);
    assert.equal(isDaxMount(mount), row.dax, `${row.path} ${row.detail ?? ''}`);
  }
  // Mounted over: the later line wins.
  assert.deepEqual(mountOf(mounts, '/dev/shm/x')?.options, ['rw', 'relatime', 'size=2000k']);
  assert.equal(mountOf([], '/x'), undefined);
  assert.equal(isDaxMount(undefined), false);
});

test('chooseMode', () => {
  const tmpfs: MountEntry = { source: 'tmpfs', mountPoint: '/dev/shm', fsType: 'tmpfs', options: ['rw'] };
  const dax: MountEntry = { source: '/dev/pmem0', mountPoint: '/mnt/pmem', fsType: 'ext4', options: ['rw', 'dax=always'] };
  const disk: MountEntry = { source: '/dev/sda1', mountPoint: '/', fsType: 'ext4', options: ['rw'] };
  const rows: Array<{ requested: PmModeOption; mount: MountEntry | undefined; want: string | RegExp; reason?: RegExp }> = [
    { requested: 'auto', mount: dax, want: 'dax', reason: /auto: \/mnt\/pmem \(ext4, rw,dax=always\) is a DAX mount/ },
    { requested: 'auto', mount: tmpfs, want: 'emulated', reason: /^auto: \/dev\/shm \(tmpfs, rw\) is not a DAX mount, emulating$/ },
    { requested: 'auto', mount: disk, want: 'emulated', reason: /not tmpfs: real writes add their own cost/ },
    { requested: 'auto', mount: undefined, want: 'emulated', reason: /an unknown mount/ },
    { requested: 'dax', mount: dax, want: 'dax' },
    { requested: 'dax', mount: tmpfs, want: /PM mode dax requested but the directory is on \/dev\/shm \(tmpfs, rw\), not a DAX mount/ },
    { requested: 'emulated', mount: dax, want: 'emulated' },
    { requested: 'emulated', mount: tmpfs, want: 'emulated', reason: /^emulated requested on \/dev\/shm \(tmpfs, rw\)$/ },
    { requested: 'plain', mount: dax, want: 'plain' },
    { requested: 'plain', mount: tmpfs, want: 'plain', reason: /no time model/ },
  ];
  for (const row of rows) {
    const name = `${row.requested} on ${row.mount?.mountPoint}`;
    if (row.want instanceof RegExp) {
      assert.throws(() => chooseMode(row.requested, row.mount), row.want, name);
      continue;
    }
    const got = chooseMode(row.requested, row.mount);
    assert.equal(got.mode, row.want, name);
    if (row.reason) assert.match(got.reason, row.reason, name);
  }
});

async function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp('/dev/shm/sluice-pm-test-');
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** An upper bound for a model time: a starved CPU delays timers and the test, never the model's clock. */
const late = (modelMs: number): number => modelMs * 1.5 + 20;

async function elapsed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

test('emulated device on tmpfs: writes take the model time, shared between writers', async () => {
  await withDir(async (root) => {
    const device = await openPmDevice({ dir: join(root, 'pm') });
    try {
      assert.equal(device.mode, 'emulated');
      assert.equal((await stat(device.dir)).isDirectory(), true, 'the directory is created');
      assert.equal(device.mount?.fsType, 'tmpfs');
      assert.match(device.reason, /^auto: \/dev\/shm \(tmpfs/);
      assert.deepEqual(device.params, DEFAULT_CONTENTION);

      // One writer: 2 MiB at 131 MB/s = 16 ms.
      const bytes = 2 * 1024 * 1024;
      const one = await elapsed(() => device.write(bytes));
      const oneModel = (bytes / aggregateWriteBandwidth(1, DEFAULT_CONTENTION)) * 1000;
      assert.ok(one > oneModel - 1 && one < late(oneModel), `one writer: ${one} ms, model ${oneModel}`);

      // Eight writers past the peak: 16 MiB at 455 MB/s = 36.9 ms, all finishing together.
      const writes = Array.from({ length: 8 }, () => device.write(bytes));
      assert.equal(device.activeWriters, 8);
      assert.equal(device.activeReaders, 0);
      const eight = await elapsed(() => Promise.all(writes));
      const eightModel = ((8 * bytes) / aggregateWriteBandwidth(8, DEFAULT_CONTENTION)) * 1000;
      assert.ok(eight > eightModel - 2 && eight < late(eightModel), `eight writers: ${eight} ms, model ${eightModel}`);
      assert.equal(device.activeWriters, 0);

      // Reads are a resource of their own: a read next to eight writers takes its single-reader time.
      const readBytes = 1024 * 1024;
      const background = Array.from({ length: 8 }, () => device.write(bytes));
      const read = await elapsed(() => device.read(readBytes));
      const readModel = (readBytes / (DEFAULT_CONTENTION.readPeakBytesPerSecond * DEFAULT_CONTENTION.readSingleFraction)) * 1000;
      assert.ok(read > readModel - 1 && read < late(readModel), `read: ${read} ms, model ${readModel}`);
      await Promise.all(background);

      // An aborted write leaves at once.
      const controller = new AbortController();
      const aborted = device.write(100 * bytes, controller.signal);
      assert.equal(device.activeWriters, 1);
      controller.abort(new Error('invocation cancelled'));
      await assert.rejects(aborted, /invocation cancelled/);
      assert.equal(device.activeWriters, 0);

      // Close rejects what is in flight and what comes after.
      const pending = device.write(bytes);
      await device.close();
      await assert.rejects(pending, /PM device closed/);
      await assert.rejects(device.write(1), /PM device closed/);
    } finally {
      await device.close();
    }
  });
});

test('emulated device: scale and params options', async () => {
  await withDir(async (dir) => {
    const scaled = await openPmDevice({ dir, mode: 'emulated', scale: 0.5 });
    assert.deepEqual(scaled.params, scaledParams(0.5));
    await scaled.close();
    const custom = { ...DEFAULT_CONTENTION, writePeakWriters: 2 };
    const configured = await openPmDevice({ dir, mode: 'emulated', params: custom, scale: 0.5 });
    assert.deepEqual(configured.params, custom, 'params win over scale');
    await configured.close();
    await assert.rejects(openPmDevice({ dir, mode: 'emulated', params: { ...DEFAULT_CONTENTION, writeFloorWriters: 1 } }), /writeFloorWriters/);
  });
});

test('plain device: no time model', async () => {
  await withDir(async (dir) => {
    const device = await openPmDevice({ dir, mode: 'plain' });
    assert.equal(device.mode, 'plain');
    assert.equal(device.params, undefined);
    const ms = await elapsed(() => Promise.all(Array.from({ length: 16 }, () => device.write(64 * 1024 * 1024))));
    assert.ok(ms < 50, `plain writes resolve at once (${ms} ms)`);
    assert.equal(device.activeWriters, 0);
    await assert.rejects(device.read(1, AbortSignal.abort(new Error('gone'))), /gone/);
    await device.close();
    await assert.rejects(device.write(1), /PM device closed/);
  });
});

test('dax mode follows the mount table', async () => {
  await withDir(async (dir) => {
    await assert.rejects(openPmDevice({ dir, mode: 'dax' }), /PM mode dax requested but the directory is on \/dev\/shm \(tmpfs/);
    await assert.rejects(openPmDevice({ mode: 'dax' }), /PM mode dax needs the directory/);
    // A mount table in which the test directory is a DAX mount (this machine has no PM).
    const mounts = join(dir, 'mounts');
    await writeFile(mounts, `tmpfs /dev/shm tmpfs rw 0 0\n/dev/pmem0 ${dir} ext4 rw,dax=always 0 0\n`);
    for (const mode of ['auto', 'dax'] as const) {
      const device = await openPmDevice({ dir: join(dir, 'pm'), mode, mountsPath: mounts });
      assert.equal(device.mode, 'dax', mode);
      assert.equal(device.mount?.source, '/dev/pmem0');
      assert.equal(device.params, undefined);
      await device.write(1 << 30); // the hardware sets the pace: at once
      await device.close();
    }
    // No mount table: nothing is DAX, auto emulates.
    const none = await openPmDevice({ dir, mountsPath: join(dir, 'missing') });
    assert.equal(none.mode, 'emulated');
    assert.match(none.reason, /unknown mount/);
    await none.close();
  });
});

test('default directory per node', async () => {
  const node = `test-${process.pid}`;
  try {
    const device = await openPmDevice({ node });
    assert.equal(device.dir, join(DEFAULT_PM_ROOT, node));
    assert.equal(device.mode, 'emulated');
    await writeFile(join(device.dir, 'kept'), 'x');
    await device.close();
    assert.deepEqual(await readdir(device.dir), ['kept'], 'close leaves the files in place');
  } finally {
    await rm(join(DEFAULT_PM_ROOT, node), { recursive: true, force: true });
  }
  for (const bad of ['', '..', 'a/b']) await assert.rejects(openPmDevice({ node: bad }), /cannot name a directory/);
});
