// Tests for the CPU time of a process tree.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cpuMsByRole, cpuMsSince, descendants, parseStatPpid, processRole, processRoles, treeCpuMs } from './process-tree.js';

/** A map by pid (parents, CPU readings, roles) from an object literal. */
const byPid = <T>(entries: Record<number, T>): Map<number, T> => new Map(Object.entries(entries).map(([pid, value]) => [Number(pid), value]));

test('parseStatPpid: field 4, whatever the command name contains', () => {
  assert.equal(parseStatPpid('4242 (node) S 17 4242 4242 0 -1 4194560 100 0 0 0 250 37'), 17);
  assert.equal(parseStatPpid('4242 (my (odd) proc) R 1 2 3'), 1);
  assert.throws(() => parseStatPpid('garbage'), /not a \/proc/);
});

test('descendants: the root and every process below it, not its siblings', () => {
  const parents = byPid({ 10: 1, 11: 10, 12: 11, 13: 10, 20: 1 });
  assert.deepEqual(descendants(parents, 10).sort((a, b) => a - b), [10, 11, 12, 13]);
  assert.deepEqual(descendants(parents, 99), [99]);
});

test('cpuMsSince: growth per pid, new processes from zero, exited ones dropped', () => {
  assert.equal(cpuMsSince(byPid({ 1: 100, 2: 50 }), byPid({ 1: 130, 3: 5 })), 35);
});

test('processRole: components by their main script, functions by examples/<name>/main.js', () => {
  const rows: Array<[cmdline: string, role: string]> = [
    ['/usr/bin/node\0/work/main/dist/queue-proxy/main.js\0', 'queue-proxy'],
    ['/usr/bin/node\0/work/main/dist/node-agent/main.js', 'node-agent'],
    ['/usr/bin/node\0/work/main/dist/activator/main.js', 'activator'],
    ['node\0/work/main/dist/examples/xdt/main.js\0', 'function'],
    ['ip\0netns\0exec\0x\0/usr/bin/node', 'other'],
  ];
  for (const [cmdline, role] of rows) assert.equal(processRole(cmdline), role, JSON.stringify(cmdline));
});

test('cpuMsByRole: growth per role, unknown pids as other', () => {
  const roles = byPid({ 1: 'queue-proxy', 2: 'queue-proxy', 3: 'function' });
  assert.deepEqual(cpuMsByRole(byPid({ 1: 100, 2: 50 }), byPid({ 1: 130, 2: 60, 3: 5, 4: 1 }), roles), { 'queue-proxy': 40, function: 5, other: 1 });
  assert.equal(processRoles([process.pid]).get(process.pid), 'bench');
});

test('treeCpuMs: this process and a child it started', async () => {
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, ['-e', 'const t = Date.now(); while (Date.now() - t < 300); setTimeout(() => undefined, 5000)']);
  try {
    await new Promise((r) => setTimeout(r, 600));
    const tree = treeCpuMs();
    assert.ok(tree.has(process.pid));
    assert.ok(tree.has(child.pid!), 'the child is in the tree');
    assert.ok(tree.get(child.pid!)! >= 200, `the child used ${tree.get(child.pid!)} ms`);
  } finally {
    child.kill('SIGKILL');
  }
});
