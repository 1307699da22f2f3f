// XDT through whole queue-proxies (in-process, real sockets): a cold consumer pulls while its function server is
// still starting, and a draining producer keeps serving an object until it has been retrieved.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Registry } from 'prom-client';
import { silentLogger } from '../../lib/logger.js';
import { freePort } from '../../lib/net.js';
import { XdtClient } from '../../lib/xdt/client.js';
import { generateClusterKey } from '../../lib/xdt/reference.js';
import { defaultConfig, type QueueProxyConfig } from '../config.js';
import { startQueueProxy, type QueueProxy } from '../queue-proxy.js';

const MiB = 2 ** 20;
const dir = mkdtempSync(path.join(os.tmpdir(), 'qp-xdt-'));
const keyFile = path.join(dir, 'xdt.key');
writeFileSync(keyFile, generateClusterKey().toString('base64url'));
const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
  rmSync(dir, { recursive: true, force: true });
});

async function startProxy(name: string, userPort: number): Promise<{ proxy: QueueProxy; registry: Registry }> {
  const base = defaultConfig();
  const config: QueueProxyConfig = {
    ...base,
    function: name,
    instance: `${name}-1`,
    trafficPort: 0,
    adminPort: 0,
    metricsPort: 0,
    userPort,
    node: name,
    xdt: { ...base.xdt, keyFile, port: 0, socket: path.join(dir, `${name}.sock`) },
  };
  const registry = new Registry();
  const proxy = await startQueueProxy(config, { logger: silentLogger(), registry });
  cleanups.push(() => proxy.close());
  return { proxy, registry };
}

async function receivedBytes(registry: Registry): Promise<number> {
  const text = await registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith('sluice_queue_proxy_xdt_bytes_total') && l.includes('direction="received"'));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

function post(port: number, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/', headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function object(size: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) b[i] = (i * 13 + 5) & 0xff;
  return b;
}

test('a cold consumer pulls the object while its function server is still starting, then hands it over whole', async () => {
  const { proxy: producer } = await startProxy('producer', await freePort('127.0.0.1'));
  const userPort = await freePort('127.0.0.1');
  const { proxy: consumer, registry } = await startProxy('consumer', userPort);
  const x = new XdtClient();
  cleanups.push(() => x.close());
  const data = object(8 * MiB);
  const up = x.put(producer.xdt!.localTarget, { retrievals: 1, ttl_ms: 0, size_bytes: data.length, content_type: 'application/octet-stream', for_invoke: true }, data);
  const answer = post(consumer.trafficPort, { 'x-sluice-xdt-ref': await up.reference });
  // No function server yet: the request waits for readiness, the object arrives meanwhile (read-ahead ≤ 32 MiB).
  const deadline = Date.now() + 5_000;
  while ((await receivedBytes(registry)) < data.length && Date.now() < deadline) await sleep(20);
  assert.equal(await receivedBytes(registry), data.length, 'the object was not pulled during the cold start');
  const server = http.createServer((req, res) => {
    const hash = createHash('sha256');
    let n = 0;
    req.on('data', (d: Buffer) => {
      hash.update(d);
      n += d.length;
    });
    req.on('end', () => res.end(JSON.stringify({ n, sha: hash.digest('hex'), type: req.headers['content-type'], length: req.headers['content-length'] })));
  });
  server.listen(userPort, '127.0.0.1');
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const got = await answer;
  assert.equal(got.status, 200, got.body);
  assert.deepEqual(JSON.parse(got.body), { n: data.length, sha: createHash('sha256').update(data).digest('hex'), type: 'application/octet-stream', length: String(data.length) });
  await up.complete;
  assert.deepEqual([producer.xdt!.invokePool.used, producer.xdt!.heldObjects], [0, 0]);
});

test('a draining producer keeps serving an object not yet retrieved, and finishes its drain once it is', async () => {
  const { proxy: producer } = await startProxy('producer2', await freePort('127.0.0.1'));
  const { proxy: consumer } = await startProxy('consumer2', await freePort('127.0.0.1'));
  const x = new XdtClient();
  cleanups.push(() => x.close());
  const data = object(3 * MiB);
  const up = x.put(producer.xdt!.localTarget, { retrievals: 1, ttl_ms: 0, size_bytes: data.length, content_type: '', for_invoke: false }, data);
  await up.complete;
  let drained = false;
  const draining = producer.drain().then(() => (drained = true));
  await sleep(300);
  assert.equal(drained, false, 'the producer finished draining with an object outstanding');
  const parts: Buffer[] = [];
  for await (const b of x.get(consumer.xdt!.localTarget, { reference: await up.reference }).body) parts.push(Buffer.from(b));
  assert.ok(Buffer.concat(parts).equals(data));
  await draining;
  assert.equal(drained, true);
});
