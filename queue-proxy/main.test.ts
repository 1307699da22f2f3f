// Process test: the built queue-proxy main drains on SIGTERM — /ready goes 503, the in-flight request completes, exit code 0.
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
