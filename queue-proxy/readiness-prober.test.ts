// Tests for the readiness prober against real loopback servers (TCP and HTTP probes) and a scripted probe for thresholds.
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { test } from 'node:test';
import { freePort } from '../lib/net.js';
import { ReadinessProber } from './readiness-prober.js';

test('TCP probe: not ready until something listens, then ready quickly', async () => {
  const port = await freePort();
  const prober = new ReadinessProber({ host: '127.0.0.1', port, path: '' });
  const changes: boolean[] = [];
  prober.on('change', (ready) => changes.push(ready));
  prober.start();
  const server = net.createServer((s) => s.destroy());
  try {
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(prober.ready, false);
    assert.equal(prober.hasBeenReady, false);
    const ready = prober.whenReady();
    server.listen(port, '127.0.0.1');
    await ready;
    assert.equal(prober.ready, true);
    assert.deepEqual(changes, [true]);
  } finally {
    prober.stop();
    server.close();
  }
});

test('HTTP probe: only a 2xx on the path counts', async () => {
  let status = 503;
  const paths: string[] = [];
  const server = http.createServer((req, res) => {
    paths.push(req.url ?? '');
    res.writeHead(status).end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  const prober = new ReadinessProber({ host: '127.0.0.1', port, path: '/healthz' });
  prober.start();
  try {
    while (paths.length < 3) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(prober.ready, false, 'a 503 is not ready');
    status = 204;
    await prober.whenReady();
    assert.equal(prober.ready, true);
    assert.ok(paths.every((p) => p === '/healthz'));
  } finally {
    prober.stop();
    server.close();
  }
});

test('fast probing until the first success, then slow; failures past the threshold turn it not ready', async () => {
  const script = [false, false, true, false, false, false];
  const times: number[] = [];
  const started = Date.now();
  const prober = new ReadinessProber(
    { host: 'unused', port: 1, path: '', initialIntervalMs: 1, intervalMs: 20, failureThreshold: 3 },
    async () => {
      times.push(Date.now() - started);
      return script.shift() ?? false;
    },
  );
  const changes: boolean[] = [];
  prober.on('change', (ready) => changes.push(ready));
  const notReadyAgain = new Promise<void>((resolve) => prober.on('change', (ready) => !ready && resolve()));
  // The prober's timers are unref'd and the scripted probe does no I/O: hold the loop open.
  const keepAlive = setInterval(() => undefined, 1_000);
  prober.start();
  try {
    await prober.whenReady();
    assert.equal(times.length, 3, 'ready on the third probe');
    await notReadyAgain;
    assert.deepEqual(changes, [true, false]);
    assert.equal(prober.ready, false);
    assert.equal(prober.hasBeenReady, true);
    assert.equal(times.length, 6, 'not ready only after 3 consecutive failures');
    // A lower bound only (timers never fire much early): after the first success the period is 20 ms.
    assert.ok(times[3] - times[2] >= 15, `slow period after success: ${times[3] - times[2]}ms`);
  } finally {
    clearInterval(keepAlive);
    prober.stop();
  }
});
