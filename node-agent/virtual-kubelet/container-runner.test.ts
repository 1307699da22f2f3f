// The container lifecycle with real processes and a fake pod (no API server): statuses, restarts, probes, stop.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../../lib/net.js';
import { silentLogger } from '../../lib/logger.js';
import { ContainerRunner, exitCodeOf, findExecutable, goDuration } from './container-runner.js';
import type { PreparedEnv, RunnerContext } from './container-runner.js';
import { REPO_ROOT } from './config.js';
import type { Container, Pod } from './types.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'sluice-vk-runner-'));
const all: ContainerRunner[] = [];
after(async () => {
  // A failed assertion must not leave a crash-looping runner keeping the test process alive.
  await Promise.all(all.map((r) => r.stop(0)));
  rmSync(tmp, { recursive: true, force: true });
});

const IMAGES = {
  'test/exit': { entrypoint: ['node', '-e', 'console.log("bye"); process.exit(Number(process.env.CODE ?? 0))'] },
  'test/env-server': { entrypoint: ['node', 'node-agent/virtual-kubelet/testdata/env-server.mjs'] },
};

let n = 0;
function runner(container: Container, restartPolicy: string, env: Record<string, string> | string = {}): { r: ContainerRunner; changes: () => number; logFile: string } {
  const pod: Pod = { metadata: { name: 'p', namespace: 'ns', uid: 'u' }, spec: { restartPolicy, terminationGracePeriodSeconds: 5, containers: [container] } };
  let changes = 0;
  const logFile = path.join(tmp, `${++n}.log`);
  const ctx: RunnerContext = {
    pod: () => pod,
    podIP: () => '127.0.0.1',
    nodeBinary: process.execPath,
    workDir: REPO_ROOT,
    logFile,
    images: IMAGES,
    backoff: { initialMs: 200, maxMs: 400 },
    prepareEnv: async (): Promise<PreparedEnv> =>
      typeof env === 'string' ? { ok: false, error: env } : { ok: true, env: new Map([['PATH', process.env.PATH ?? ''], ...Object.entries(env)]) },
    onChange: () => changes++,
    logger: silentLogger(),
    now: Date.now,
  };
  const r = new ContainerRunner(container, 'regular', ctx, 'ContainerCreating');
  all.push(r);
  return { r, changes: () => changes, logFile };
}

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`${what}: timed out`);
    await sleep(20);
  }
}

test('goDuration and exitCodeOf', () => {
  assert.deepEqual([250, 1_000, 10_000, 80_000, 300_000, 3_723_000].map(goDuration), ['250ms', '1s', '10s', '1m20s', '5m0s', '1h2m3s']);
  assert.deepEqual([exitCodeOf(3, null), exitCodeOf(null, 'SIGTERM'), exitCodeOf(null, 'SIGKILL')], [3, 143, 137]);
});

test('restartPolicy Never: runs once, terminated Completed with its output in the log file', async () => {
  const { r, logFile } = runner({ name: 'c', image: 'test/exit' }, 'Never');
  assert.equal(r.status.state.waiting?.reason, 'ContainerCreating');
  assert.equal(await r.run(), 'succeeded');
  const t = r.status.state.terminated!;
  assert.equal(t.exitCode, 0);
  assert.equal(t.reason, 'Completed');
  assert.match(t.containerID ?? '', /^process:\/\/\d+$/);
  assert.equal(r.status.restartCount, 0);
  assert.equal(r.status.imageID, 'process://test/exit');
  assert.match(readFileSync(logFile, 'utf8'), /virtual-kubelet .*: start c \(restart 0\): .*\nbye\n/);
});

test('restartPolicy Always: a crashing container restarts with back-off (0, 200 ms, 400 ms cap)', async () => {
  const { r } = runner({ name: 'c', image: 'test/exit' }, 'Always', { CODE: '3' });
  const done = r.run();
  const waitingStatus = await until('CrashLoopBackOff', () => (r.status.state.waiting?.reason === 'CrashLoopBackOff' ? r.status : undefined));
  assert.equal(waitingStatus.lastState.terminated?.exitCode, 3);
  assert.equal(waitingStatus.lastState.terminated?.reason, 'Error');
  assert.match(waitingStatus.state.waiting!.message!, /^back-off 200ms restarting failed container=c pod=p_ns\(u\)$/);
  assert.ok(waitingStatus.restartCount >= 1, 'the first restart was immediate');
  await until('more restarts', () => r.status.restartCount >= 3);
  await r.stop(1_000);
  assert.equal(await done, 'stopped');
});

test('restartPolicy OnFailure: exit 0 ends it, exit 1 restarts it', async () => {
  const ok = runner({ name: 'c', image: 'test/exit' }, 'OnFailure');
  assert.equal(await ok.r.run(), 'succeeded');
  const bad = runner({ name: 'c', image: 'test/exit' }, 'OnFailure', { CODE: '1' });
  const done = bad.r.run();
  await until('a restart', () => bad.r.status.restartCount >= 1);
  await bad.r.stop(1_000);
  assert.equal(await done, 'stopped');
});

test('readiness probe makes it ready; stop() sends SIGTERM and the server exits 0', async () => {
  const port = await freePort();
  const container: Container = { name: 'web', image: 'sluice/x', readinessProbe: { httpGet: { path: '/', port: 'http' }, periodSeconds: 1 }, ports: [{ name: 'http', containerPort: port }] };
  const { r } = runner({ ...container, image: 'test/env-server' }, 'Always', { HOST: '127.0.0.1', PORT: String(port) });
  const done = r.run();
  await until('running', () => r.status.state.running);
  assert.equal(r.status.started, true, 'no startup probe: started once running');
  await until('ready', () => r.status.ready);
  const pid = r.pid!;
  await r.stop(5_000);
  assert.equal(await done, 'stopped');
  assert.equal(r.status.state.terminated?.exitCode, 0, 'SIGTERM handled by the server');
  assert.equal(r.status.ready, false);
  assert.throws(() => process.kill(pid, 0));
});

test('a startup probe holds started and ready until it passes; a failing liveness probe restarts the container', async () => {
  const port = await freePort();
  const container: Container = {
    name: 'web',
    image: 'test/env-server',
    ports: [{ name: 'http', containerPort: port }],
    startupProbe: { tcpSocket: { port: 'http' }, periodSeconds: 1 },
    livenessProbe: { httpGet: { path: '/', port: port + 1 }, periodSeconds: 1, failureThreshold: 2, terminationGracePeriodSeconds: 1 },
  };
  const { r } = runner(container, 'Always', { HOST: '127.0.0.1', PORT: String(port) });
  const done = r.run();
  await until('started', () => r.status.started);
  assert.equal(r.status.ready, true, 'no readiness probe: ready once started');
  await until('restarted by liveness', () => r.status.restartCount >= 1 && r.status.state.running, 15_000);
  assert.equal(r.status.lastState.terminated?.exitCode, 0, 'killed with SIGTERM, which the server handles');
  assert.match(r.status.lastState.terminated?.message ?? '', /^Liveness probe failed: /);
  await r.stop(2_000);
  assert.equal(await done, 'stopped');
});

test('an unknown image waits ErrImagePull then ImagePullBackOff; an env error waits CreateContainerConfigError', async () => {
  const unknown = runner({ name: 'c', image: 'docker.io/library/redis:7' }, 'Always');
  void unknown.r.run();
  await until('ErrImagePull', () => unknown.r.status.state.waiting?.reason === 'ErrImagePull');
  assert.match(unknown.r.status.state.waiting!.message!, /no local command for image "docker.io\/library\/redis:7"/);
  await until('ImagePullBackOff', () => unknown.r.status.state.waiting?.reason === 'ImagePullBackOff');
  await unknown.r.stop(0);

  const config = runner({ name: 'c', image: 'test/exit' }, 'Always', 'configmap "x" not found');
  void config.r.run();
  await until('CreateContainerConfigError', () => config.r.status.state.waiting?.reason === 'CreateContainerConfigError');
  assert.equal(config.r.status.state.waiting!.message, 'configmap "x" not found');
  await config.r.stop(0);

  const unbuilt = runner({ name: 'c', image: 'sluice/example-not-built' }, 'Always');
  void unbuilt.r.run();
  await until('ErrImagePull', () => unbuilt.r.status.state.waiting?.reason === 'ErrImagePull');
  assert.match(unbuilt.r.status.state.waiting!.message!, /maps to node dist\/examples\/not-built\/main.js, but .* does not exist \(run npm run build\)/);
  await unbuilt.r.stop(0);
});

test('a command that cannot be spawned terminates with StartError (exit 128)', async () => {
  const { r } = runner({ name: 'c', image: 'test/exit', command: ['/nonexistent/binary'] }, 'Never');
  assert.equal(await r.run(), 'failed');
  assert.equal(r.status.state.terminated?.exitCode, 128);
  assert.equal(r.status.state.terminated?.reason, 'StartError');
  assert.equal(r.status.state.terminated?.message, 'exec: "/nonexistent/binary": no such file or directory');
  const inPath = runner({ name: 'c', image: 'test/exit', command: ['no-such-program-anywhere'] }, 'Never');
  assert.equal(await inPath.r.run(), 'failed');
  assert.equal(inPath.r.status.state.terminated?.message, 'exec: "no-such-program-anywhere": executable file not found in $PATH');
});

test('findExecutable', () => {
  assert.equal(findExecutable(process.execPath, '', '/'), true);
  assert.equal(findExecutable('sh', process.env.PATH ?? '', '/'), true);
  assert.equal(findExecutable('node-agent/virtual-kubelet/testdata/env-server.mjs', '', REPO_ROOT), false, 'not executable');
  assert.equal(findExecutable('/etc', '', '/'), false, 'a directory');
});
