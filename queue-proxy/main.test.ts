// Process tests of the built queue-proxy main: drain on SIGTERM (/ready 503, the in-flight request completes, exit 0), config errors, and the warm spare (config on stdin).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { freePort } from '../lib/net.js';
import { exited, spawnOwned, terminate } from '../lib/process.js';

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

async function poll(what: string, check: () => Promise<boolean>, limitMs = 5_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

test('SIGTERM: /ready → 503, the slow request completes with 200, exit 0', async () => {
  let release: (() => void) | undefined;
  let signalArrived: () => void = () => undefined;
  const arrived = new Promise<void>((resolve) => (signalArrived = resolve));
  const fn = http.createServer((req, res) => {
    if (req.url !== '/slow') return void res.end('fast');
    release = () => res.end('slow done');
    signalArrived();
  });
  fn.listen(0, '127.0.0.1');
  await once(fn, 'listening');
  const [trafficPort, adminPort, metricsPort] = [await freePort(), await freePort(), await freePort()];
  const child = spawnOwned(process.execPath, [MAIN], {
    env: {
      ...process.env,
      SLUICE_LOG_LEVEL: 'warn',
      SLUICE_QUEUE_PROXY_FUNCTION: 'echo',
      SLUICE_QUEUE_PROXY_INSTANCE: 'echo-3f2a',
      SLUICE_QUEUE_PROXY_TRAFFIC_PORT: String(trafficPort),
      SLUICE_QUEUE_PROXY_ADMIN_PORT: String(adminPort),
      SLUICE_QUEUE_PROXY_METRICS_PORT: String(metricsPort),
      SLUICE_QUEUE_PROXY_USER_PORT: String((fn.address() as AddressInfo).port),
      SLUICE_QUEUE_PROXY_DRAIN_TIMEOUT: '10s',
    },
  });
  try {
    await poll('/ready 200', async () => (await get(adminPort, '/ready')).status === 200);
    const slow = get(trafficPort, '/slow');
    await arrived;
    const exit = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    child.kill('SIGTERM');
    await poll('/ready 503', async () => (await get(adminPort, '/ready')).status === 503);
    release?.();
    const reply = await slow;
    assert.deepEqual(reply, { status: 200, body: 'slow done' });
    const [code, signal] = await exit;
    assert.equal(signal, null);
    assert.equal(code, 0);
  } finally {
    await terminate(child, 1_000);
    await exited(child);
    fn.close();
  }
});

test('a config error names the key and exits non-zero', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'sluice-qp-'));
  const logFile = path.join(dir, 'out.log');
  try {
    const child = spawnOwned(process.execPath, [MAIN], { env: { PATH: process.env.PATH, SLUICE_QUEUE_PROXY_INSTANCE: 'x' }, logFile });
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 2);
    assert.match(await readFile(logFile, 'utf8'), /function is required \(env SLUICE_QUEUE_PROXY_FUNCTION\)/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

/** A queue-proxy awaiting its config on stdin, its stdout and stderr appended to `logFile`. */
function spawnSpare(logFile: string) {
  const child = spawnOwned(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH, SLUICE_QUEUE_PROXY_AWAIT_CONFIG: 'stdin' },
    logFile,
    stdin: 'pipe',
  });
  const exit = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  return { child, exit };
}

test('await-config=stdin: a config line on stdin starts serving, logging to its log-file', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'sluice-qp-'));
  const fn = http.createServer((_req, res) => res.end('hi'));
  fn.listen(0, '127.0.0.1');
  await once(fn, 'listening');
  const { child, exit } = spawnSpare(path.join(dir, 'spare.log'));
  t.after(async () => {
    await terminate(child, 1_000);
    fn.close();
    await rm(dir, { recursive: true, force: true });
  });
  const [trafficPort, adminPort, metricsPort] = [await freePort(), await freePort(), await freePort()];
  const instanceLog = path.join(dir, 'echo-1.queue-proxy.log');
  child.stdin!.end(
    `${JSON.stringify({
      function: 'echo',
      instance: 'echo-1',
      'traffic-port': trafficPort,
      'admin-port': String(adminPort),
      'metrics-port': String(metricsPort),
      'user-port': String((fn.address() as AddressInfo).port),
      'log-file': instanceLog,
    })}\n`,
  );
  await poll('/ready 200', async () => (await get(adminPort, '/ready')).status === 200);
  assert.deepEqual(await get(trafficPort, '/'), { status: 200, body: 'hi' });
  child.kill('SIGTERM');
  assert.deepEqual(await exit, [0, null]);
  const log = await readFile(instanceLog, 'utf8');
  assert.match(log, /"instance":"echo-1".*"msg":"queue-proxy listening"/);
  assert.match(log, /"msg":"stopped"/);
});

test('await-config=stdin: an invalid config line exits 2 naming the key; stdin closed without a config exits 0', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'sluice-qp-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const rows = [
    { name: 'bad port', line: '{"function":"echo","instance":"e-1","admin-port":"99999"}\n', want: { code: 2, log: /admin-port = 99999, must be an integer in \[0; 65535\]/ } },
    { name: 'missing key', line: '{"instance":"e-1"}\n', want: { code: 2, log: /function is required/ } },
    { name: 'unknown key', line: '{"function":"echo","instance":"e-1","admin-prot":"1"}\n', want: { code: 2, log: /unknown config key \\"admin-prot\\"/ } },
    { name: 'not JSON', line: 'function=echo\n', want: { code: 2, log: /config line on stdin is not JSON/ } },
    { name: 'stdin closed', line: '', want: { code: 0, log: /^$/ } },
  ];
  for (const row of rows) {
    const logFile = path.join(dir, `${row.name.replaceAll(' ', '-')}.log`);
    const { child, exit } = spawnSpare(logFile);
    child.stdin!.end(row.line);
    const [code] = await exit;
    const log = await readFile(logFile, 'utf8');
    assert.deepEqual({ code, log: row.want.log.test(log) }, { code: row.want.code, log: true }, `${row.name}: log ${log}`);
  }
});
