// Tests of the `sluice` command as a user runs it: a real `sluice up` process, status, invoke, Ctrl-C, bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { readdirSync, readFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { promisify } from 'node:util';
import { REPO_ROOT, eventually, fn, writeTempFile } from './cluster-helpers.js';
import { isAlive } from '../../lib/process.js';

const SLUICE = path.join(REPO_ROOT, 'dist/cli/sluice.js');
const run = promisify(execFile);

/** Every live descendant of `pid`, from /proc. */
function descendants(pid: number): number[] {
  const parents = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = parents.get(ppid) ?? [];
      list.push(Number(entry));
      parents.set(ppid, list);
    } catch {
      // exited meanwhile
    }
  }
  const out: number[] = [];
  const walk = (p: number): void => {
    for (const child of parents.get(p) ?? []) {
      out.push(child);
      walk(child);
    }
  };
  walk(pid);
  return out;
}


test('sluice up rejects an invalid Functions file before starting anything, naming the file and the field', async () => {
  const file = writeTempFile('bad.yaml', fn('bad', 'hello', '  containerConcurrency: -2\n'));
  const result = await run(process.execPath, [SLUICE, 'up', '-f', file, '--port', '0']).then(
    () => ({ code: 0, stderr: '' }),
    (err: { code: number; stderr: string }) => err,
  );
  assert.equal(result.code, 2);
  assert.match(result.stderr, new RegExp(file.replaceAll('/', '\\/')));
  assert.match(result.stderr, /spec\.containerConcurrency: must be >= 0/);
});

test('sluice bench runs the benchmark runner and names the known suites for an unknown one', async () => {
  const result = await run(process.execPath, [SLUICE, 'bench', 'no-such-suite']).then(
    () => ({ code: 0, stderr: '' }),
    (err: { code: number; stderr: string }) => err,
  );
  assert.equal(result.code, 2);
  assert.match(result.stderr, /no-such-suite/);
  assert.match(result.stderr, /serving/);
});

test('sluice up rejects a Function without a command on the local platform', async () => {
  const yaml = 'apiVersion: sluice.dev/v1alpha1\nkind: Function\nmetadata:\n  name: img\nspec:\n  container:\n    image: example/img\n';
  const file = writeTempFile('img.yaml', yaml);
  const result = await run(process.execPath, [SLUICE, 'up', '-f', file, '--port', '0']).then(
    () => ({ code: 0, stderr: '' }),
    (err: { code: number; stderr: string }) => err,
  );
  assert.equal(result.code, 2);
  assert.match(result.stderr, /Function "img"\): spec\.container\.command is required on the local platform/);
});

test('sluice up serves, status and invoke see it, and Ctrl-C leaves no process behind', async () => {
  const home = mkdtempSync(path.join(os.tmpdir(), 'sluice-home-'));
  const env = { ...process.env, SLUICE_HOME: home };
  const file = writeTempFile('fns.yaml', fn('hello', 'hello', '  scaling:\n    minScale: 1\n'));
  const up = spawn(process.execPath, [SLUICE, 'up', '-f', file, '--port', '0', '--subnet-base', String(120 + (process.pid % 20))], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  up.stdout.on('data', (c: Buffer) => (stdout += String(c)));
  let stderr = '';
  up.stderr.on('data', (c: Buffer) => (stderr += String(c)));
  try {
    assert.ok(await eventually(() => /ready/.test(stdout), 30_000), `no ready line; stdout: ${stdout} stderr: ${stderr}`);
    const url = /(http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)?.[1];
    assert.ok(url, `no ingress URL in: ${stdout}`);
    const statusOk = await eventually(async () => {
      const { stdout: out } = await run(process.execPath, [SLUICE, 'status'], { env });
      return /default\s+hello\s+1\s+1/.test(out);
    }, 20_000);
    assert.ok(statusOk, 'status never showed hello with 1 desired and 1 ready');
    const { stdout: greeting } = await run(process.execPath, [SLUICE, 'invoke', 'hello', '-p', '/?name=cli'], { env });
    assert.match(greeting, /Hello, cli!/);
    const missing = await run(process.execPath, [SLUICE, 'invoke', 'nope'], { env }).then(
      () => ({ code: 0, stderr: '' }),
      (err: { code: number; stderr: string }) => err,
    );
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /HTTP 404: .*FUNCTION_NOT_FOUND/);

    const tree = descendants(up.pid!);
    assert.ok(tree.length >= 6, `expected components and instances under sluice up, found ${tree.length} processes`);
    up.kill('SIGINT');
    const [code] = (await once(up, 'exit')) as [number];
    assert.equal(code, 0);
    const leftovers = tree.filter(isAlive);
    assert.deepEqual(leftovers, [], 'processes outlived sluice up');
    const after = await run(process.execPath, [SLUICE, 'status'], { env }).then(
      () => ({ code: 0, stderr: '' }),
      (err: { code: number; stderr: string }) => err,
    );
    assert.equal(after.code, 2);
    assert.match(after.stderr, /no local Sluice cluster is running/);
  } finally {
    if (up.exitCode === null) up.kill('SIGKILL');
  }
});

test('killing sluice up with SIGKILL still leaves no process behind', async () => {
  const home = mkdtempSync(path.join(os.tmpdir(), 'sluice-home-'));
  const file = writeTempFile('fns.yaml', fn('hello', 'hello', '  scaling:\n    minScale: 1\n'));
  const up = spawn(process.execPath, [SLUICE, 'up', '-f', file, '--port', '0', '--subnet-base', String(140 + (process.pid % 20))], {
    cwd: REPO_ROOT,
    env: { ...process.env, SLUICE_HOME: home },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  let stdout = '';
  up.stdout.on('data', (c: Buffer) => (stdout += String(c)));
  assert.ok(await eventually(() => /ready/.test(stdout), 30_000), `no ready line: ${stdout}`);
  assert.ok(await eventually(() => descendants(up.pid!).length >= 6, 15_000), 'instance processes never appeared');
  const tree = descendants(up.pid!);
  up.kill('SIGKILL');
  await once(up, 'exit');
  const gone = await eventually(() => tree.filter(isAlive).length === 0, 5_000);
  assert.ok(gone, `orphans left: ${tree.filter(isAlive).join(', ')}`);
});
