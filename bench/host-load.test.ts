// Tests for the host's load: busy share from /proc/stat, and the CPU others than this benchmark used.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hostCpuBusy, measureHostLoad, otherCpuSeconds, parseHostCpu } from './host-load.js';

test('parseHostCpu / hostCpuBusy: busy and idle ticks of all CPUs, and the busy share between two readings', () => {
  const before = parseHostCpu('cpu  100 5 50 1000 20 3 2 0 0 0\ncpu0 50 2 25 500 10 1 1 0 0 0\nintr 1 2\n');
  assert.deepEqual(before, { busy: 160, idle: 1020 });
  const after = { busy: before.busy + 150, idle: before.idle + 50 };
  assert.equal(hostCpuBusy(before, after), 75);
  assert.equal(hostCpuBusy(before, before), 0);
  assert.throws(() => parseHostCpu('intr 1 2'), /no "cpu" line/);
});

test('otherCpuSeconds: the host busy time less the benchmark tree, never below zero', () => {
  const before = { busy: 1000, idle: 5000 };
  const after = { busy: 1250, idle: 5150 };
  const rows: Array<{ name: string; benchCpuMs: number; hz: number; want: number }> = [
    { name: 'others used 0.5 s of 2.5 s busy', benchCpuMs: 2000, hz: 100, want: 0.5 },
    { name: 'the benchmark used all of it', benchCpuMs: 2500, hz: 100, want: 0 },
    { name: 'rounding puts the tree above the host', benchCpuMs: 2530, hz: 100, want: 0 },
    { name: 'another tick rate', benchCpuMs: 0, hz: 250, want: 1 },
  ];
  for (const row of rows) {
    const got = otherCpuSeconds(before, after, row.benchCpuMs, row.hz);
    assert.ok(Math.abs(got - row.want) < 1e-9, `${row.name}: want ${row.want}, got ${got}`);
  }
});

test('measureHostLoad: this process is in the tree and its work is not counted as other load', { skip: process.platform !== 'linux' }, () => {
  const end = measureHostLoad();
  const t = Date.now();
  while (Date.now() - t < 300);
  const load = end();
  assert.ok(load.treeAfter.has(process.pid));
  assert.ok(load.benchCpuMs >= 200, `the benchmark used ${load.benchCpuMs} ms`);
  assert.ok(load.hostCpuBusy > 0 && load.hostCpuBusy <= 100, `host ${load.hostCpuBusy} % busy`);
  assert.ok(load.otherCpuSeconds >= 0, `other ${load.otherCpuSeconds} s`);
});
