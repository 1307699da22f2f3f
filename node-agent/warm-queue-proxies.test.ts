// Warm spare queue-proxies with real processes: hand-off to an instance, replenishing, replacement with backoff, and the spawn path when off.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { InstanceRuntime } from './instance-runtime.js';
import type { InstanceEvent } from './instance-runtime.js';
import { DEFAULT_QUEUE_PROXY_SCRIPT } from './config.js';
import type { NodeAgentConfig } from './config.js';
import { SPARE_QUEUE_PROXY_LOG } from './launch-plan.js';
import { silentLogger } from '../lib/logger.js';
import { TESTDATA, functionSpecJson, instancePids, isAlive, testConfig, waitFor } from './fixtures.js';

const INDEX = 204;

function request(name: string) {
  return { instance_name: name, namespace: 'default', function: 'hello', function_spec_json: functionSpecJson(), generation: 1 };
}

function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}

/** A runtime running the real queue-proxy (dist/queue-proxy/main.js). */
function setup(t: { after: (fn: () => Promise<void>) => void }, overrides: Partial<NodeAgentConfig>) {
  const { config, cleanup } = testConfig(INDEX, { queueProxyScript: DEFAULT_QUEUE_PROXY_SCRIPT, ...overrides });
  const runtime = new InstanceRuntime(config, { logger: silentLogger(), probeIntervals: { startingMs: 10, readyMs: 50 }, env: { PATH: process.env.PATH } });
  const events: InstanceEvent[] = [];
  runtime.subscribe((e) => events.push(e));
  const waitReady = (name: string) => waitFor(`${name} READY`, () => events.find((e) => e.instance.name === name && e.instance.phase === 'READY'));
  t.after(async () => {
    await runtime.stopAll(500);
    cleanup();
  });
  return { runtime, config, waitReady };
}

test('the real queue-proxy is built', () => {
  assert.ok(existsSync(DEFAULT_QUEUE_PROXY_SCRIPT), `${DEFAULT_QUEUE_PROXY_SCRIPT} (build with npx tsc -p tsconfig.json)`);
});

test('warm-queue-proxies=1: the instance takes the spare, serves through it, and a new spare follows its READY', async (t) => {
  const { runtime, config, waitReady } = setup(t, { warmQueueProxies: 1 });
  const [sparePid] = await waitFor('a ready spare', () => runtime.warmQueueProxies.readyPids().length === 1 && runtime.warmQueueProxies.readyPids());
  assert.deepEqual(runtime.list(), [], 'a spare is not an instance');

  const name = uniqueName('warm');
  const started = runtime.start(request(name));
  assert.equal(runtime.queueProxyPid(name), sparePid);
  assert.equal(runtime.warmQueueProxies.handOffs, 1);
  assert.deepEqual(runtime.warmQueueProxies.readyPids(), [], 'no new spare during the cold start');

  await waitReady(name);
  const res = await fetch(`http://${started.ip}:${started.trafficPort}/`);
  assert.equal(res.status, 200);
  assert.equal(await res.text(), 'ok\n');
  assert.equal(res.headers.get('x-sluice-instance'), name);

  const [nextSpare] = await waitFor('a new spare', () => runtime.warmQueueProxies.readyPids().length === 1 && runtime.warmQueueProxies.readyPids());
  assert.notEqual(nextSpare, sparePid);
  assert.deepEqual(runtime.list().map((s) => s.name), [name], 'the new spare is not an instance');
  // After the hand-off the queue-proxy logs to the instance's own file.
  assert.match(readFileSync(path.join(config.logDir, `${name}.queue-proxy.log`), 'utf8'), new RegExp(`"instance":"${name}".*"msg":"queue-proxy listening"`));
  assert.ok(existsSync(path.join(config.logDir, SPARE_QUEUE_PROXY_LOG)));

  await runtime.stop(name, 500);
  assert.equal(isAlive(sparePid), false);
  assert.equal(isAlive(nextSpare), true, 'the spare stays');
  await runtime.stopAll(500);
  await waitFor('the spare killed by stopAll', () => !isAlive(nextSpare), 5_000);
});

test('a spare still booting is handed the config rather than spawning another process', async (t) => {
  const { runtime, waitReady } = setup(t, { warmQueueProxies: 1 });
  // Right after the runtime starts, its spare is still booting.
  assert.deepEqual(runtime.warmQueueProxies.readyPids(), []);
  const name = uniqueName('booting');
  const started = runtime.start(request(name));
  assert.equal(runtime.warmQueueProxies.handOffs, 1, 'the booting spare was not used');
  await waitReady(name);
  const res = await fetch(`http://${started.ip}:${started.trafficPort}/`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('x-sluice-instance'), name);
});

test('warm-queue-proxies=0: the queue-proxy is spawned with its env config as before', async (t) => {
  const { runtime, waitReady } = setup(t, { warmQueueProxies: 0 });
  const name = uniqueName('cold');
  const started = runtime.start(request(name));
  assert.equal(runtime.queueProxyPid(name), instancePids(name).queueProxy);
  await waitReady(name);
  assert.equal((await fetch(`http://${started.ip}:${started.trafficPort}/`)).status, 200);
  assert.equal(runtime.warmQueueProxies.handOffs, 0);
  assert.deepEqual(runtime.warmQueueProxies.readyPids(), []);
});

test('a spare that dies is replaced; a crashing queue-proxy script is respawned with a growing backoff', async (t) => {
  await t.test('killed spare', async (t) => {
    const { runtime } = setup(t, { warmQueueProxies: 1 });
    const [first] = await waitFor('a ready spare', () => runtime.warmQueueProxies.readyPids().length === 1 && runtime.warmQueueProxies.readyPids());
    process.kill(first, 'SIGKILL');
    await waitFor('a replacement', () => {
      const pids = runtime.warmQueueProxies.readyPids();
      return pids.length === 1 && pids[0] !== first;
    });
  });

  await t.test('crashing script', async (t) => {
    const { config } = setup(t, { warmQueueProxies: 1, queueProxyScript: path.join(TESTDATA, 'crashing-queue-proxy.mjs') });
    const log = path.join(config.logDir, SPARE_QUEUE_PROXY_LOG);
    const startedAt = Date.now();
    const runs = () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter((l) => l.includes('crashing queue-proxy started')).length : 0);
    await waitFor('three runs', () => runs() >= 3);
    // Backoff 200 ms then 400 ms between the three runs.
    assert.ok(Date.now() - startedAt >= 600, `three runs took ${Date.now() - startedAt} ms`);
  });
});
