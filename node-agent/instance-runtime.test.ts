import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { InstanceRuntime } from './instance-runtime.js';
import type { InstanceEvent } from './instance-runtime.js';
import { silentLogger } from '../lib/logger.js';
import { SluiceError } from '../lib/errors.js';
import { functionSpecJson, instancePids, isAlive, testConfig, waitFor } from './fixtures.js';
import type { NodeAgentConfig } from './config.js';

const INDEX = 201;

function request(name: string, spec = functionSpecJson()) {
  return { instance_name: name, namespace: 'default', function: 'hello', function_spec_json: spec, generation: 1 };
}

function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}

function setup(t: { after: (fn: () => Promise<void>) => void }, overrides: Partial<NodeAgentConfig> = {}) {
  const { config, cleanup } = testConfig(INDEX, overrides);
  const runtime = new InstanceRuntime(config, {
    logger: silentLogger(),
    probeIntervals: { startingMs: 10, readyMs: 50 },
    env: { PATH: process.env.PATH },
  });
  const events: InstanceEvent[] = [];
  runtime.subscribe((e) => events.push(e));
  const history = (name: string): string[] => events.filter((e) => e.instance.name === name).map((e) => `${e.type}/${e.instance.phase}`);
  const waitEvent = (what: string, name: string, match: (e: InstanceEvent) => boolean) =>
    waitFor(what, () => events.find((e) => e.instance.name === name && match(e)));
  t.after(async () => {
    await runtime.stopAll(500);
    cleanup();
  });
  return { runtime, config, events, history, waitEvent };
}

test('queue-proxy exiting on its own fails the instance and kills the function server', async (t) => {
  const { runtime, history, waitEvent } = setup(t);
  const name = uniqueName('qp-dies');
  runtime.start(request(name));
  await waitEvent('READY', name, (e) => e.instance.phase === 'READY');
  const pids = instancePids(name);
  process.kill(pids.queueProxy!, 'SIGTERM');
  const deleted = await waitEvent('DELETED', name, (e) => e.type === 'DELETED');
  assert.match(deleted.instance.message, /^queue-proxy exited with code 0 \(log: .*\.queue-proxy\.log\)$/);
  // A draining queue-proxy answers /ready with 503, so a probe that lands before it exits may report STARTING first.
  const seen = history(name).filter((e, i, all) => !(e === 'MODIFIED/STARTING' && all[i - 1] === 'MODIFIED/READY'));
  assert.deepEqual(seen, ['ADDED/STARTING', 'MODIFIED/READY', 'MODIFIED/FAILED', 'DELETED/FAILED'], history(name).join(', '));
  assert.equal(isAlive(pids.functionServer!), false);
  assert.equal(runtime.get(name), undefined);
});

test('a command that does not exist fails the instance with the exit code', async (t) => {
  const { runtime, waitEvent } = setup(t);
  const name = uniqueName('no-binary');
  runtime.start(request(name, functionSpecJson({ command: ['./no-such-binary'] })));
  const deleted = await waitEvent('DELETED', name, (e) => e.type === 'DELETED');
  assert.equal(deleted.instance.phase, 'FAILED');
  assert.match(deleted.instance.message, /^function server exited with code 127 /);
});

test('readiness is followed after READY: a failing probe goes back to STARTING, then READY again', async (t) => {
  const { runtime, history, waitEvent } = setup(t);
  const name = uniqueName('flap');
  const started = runtime.start(request(name));
  const ready = await waitEvent('READY', name, (e) => e.instance.phase === 'READY');
  await fetch(`http://${started.ip}:8080/pause?ms=300`);
  await waitEvent('not ready', name, (e) => e.instance.phase === 'STARTING' && e.instance.message === 'readiness probe failed');
  await waitFor('READY again', () => history(name).length === 4 && history(name)[3] === 'MODIFIED/READY');
  assert.deepEqual(history(name), ['ADDED/STARTING', 'MODIFIED/READY', 'MODIFIED/STARTING', 'MODIFIED/READY']);
  assert.equal(runtime.get(name)!.readyAtMs, ready.instance.readyAtMs, 'ready_at_ms is the first readiness');
  assert.equal(runtime.get(name)!.message, '');
});

test('stop during STARTING, stop twice and stop of an unknown instance', async (t) => {
  const { runtime, history } = setup(t);
  const name = uniqueName('early-stop');
  runtime.start(request(name, functionSpecJson({ command: ['node', '-e', 'setInterval(() => {}, 1000)'] })));
  const pids = await waitFor('both processes', () => {
    const p = instancePids(name);
    return p.functionServer && p.queueProxy ? p : undefined;
  });
  await Promise.all([runtime.stop(name, 500), runtime.stop(name, 500), runtime.stop('unknown', 500)]);
  assert.deepEqual(history(name), ['ADDED/STARTING', 'MODIFIED/TERMINATING', 'DELETED/TERMINATING']);
  assert.equal(isAlive(pids.functionServer!), false);
  assert.equal(isAlive(pids.queueProxy!), false);
});

test('a function server that ignores SIGTERM is killed after the grace period', async (t) => {
  const { runtime, config, waitEvent } = setup(t);
  const name = uniqueName('stubborn');
  const script =
    "process.on('SIGTERM', () => console.log('ignoring SIGTERM'));" +
    "require('http').createServer((q, s) => s.end()).listen(+process.env.PORT, process.env.HOST)";
  runtime.start(request(name, functionSpecJson({ command: ['node', '-e', script] })));
  await waitEvent('READY', name, (e) => e.instance.phase === 'READY');
  const pids = instancePids(name);
  await runtime.stop(name, 200);
  assert.equal(isAlive(pids.functionServer!), false);
  assert.match(readFileSync(path.join(config.logDir, `${name}.function.log`), 'utf8'), /ignoring SIGTERM/);
});

test('addresses are released and reused least recently released first', async (t) => {
  const { runtime } = setup(t);
  const first = runtime.start(request(uniqueName('a'), functionSpecJson({ command: ['node', '-e', 'setInterval(() => {}, 1000)'] })));
  await runtime.stop(first.name, 200);
  const second = runtime.start(request(uniqueName('b'), functionSpecJson({ command: ['node', '-e', 'setInterval(() => {}, 1000)'] })));
  assert.notEqual(second.ip, first.ip);
  assert.equal(second.ip, `127.0.${INDEX}.3`);
});

test('start refuses without a queue-proxy script and after stopAll', async (t) => {
  const { runtime } = setup(t, { queueProxyScript: path.join('/nonexistent', 'main.js') });
  assert.throws(() => runtime.start(request(uniqueName('x'))), (err: SluiceError) => {
    assert.equal(err.code, 'INTERNAL');
    assert.match(err.message, /queue-proxy script \/nonexistent\/main.js does not exist/);
    return true;
  });
  await runtime.stopAll();
  assert.throws(() => runtime.start(request(uniqueName('x'))), /shutting down/);
});
