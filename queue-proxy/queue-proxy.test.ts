// In-process tests of the queue-proxy against real loopback function servers (HTTP/1.1 and h2c) and a FakeAutoscaler.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import { Registry } from 'prom-client';
import { silentLogger } from '../lib/logger.js';
import { freePort } from '../lib/net.js';
import { FakeAutoscaler } from '../lib/testing/fake-autoscaler.js';
import { request as send, type SimpleResponse as Reply } from '../lib/testing/http-request.js';
import { defaultConfig, type QueueProxyConfig } from './config.js';
import { startQueueProxy, type QueueProxy } from './queue-proxy.js';

const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** A real function server on loopback. */
async function startFunction(handler: http.RequestListener, port = 0): Promise<{ port: number; server: http.Server; kill(): Promise<void> }> {
  const server = http.createServer(handler);
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  const kill = async (): Promise<void> => {
    server.closeAllConnections();
    if (server.listening) await new Promise((resolve) => server.close(resolve));
  };
  cleanups.push(kill);
  return { port: (server.address() as AddressInfo).port, server, kill };
}

async function startProxy(userPort: number, overrides: Partial<QueueProxyConfig> = {}): Promise<{ proxy: QueueProxy; registry: Registry }> {
  const config: QueueProxyConfig = {
    ...defaultConfig(),
    function: 'echo',
    instance: 'echo-3f2a',
    trafficPort: 0,
    adminPort: 0,
    metricsPort: 0,
    userPort,
    ...overrides,
  };
  const registry = new Registry();
  const proxy = await startQueueProxy(config, { logger: silentLogger(), registry });
  cleanups.push(() => proxy.close());
  return { proxy, registry };
}

const json = (reply: Reply): { code: string; message: string } => JSON.parse(reply.body) as { code: string; message: string };

/** A function server whose requests wait until release() is called. */
function heldRequests(): { handler: http.RequestListener; arrived: () => number; waitArrived(n: number): Promise<void>; release(): void } {
  const held: http.ServerResponse[] = [];
  let waiters: Array<() => void> = [];
  let count = 0;
  return {
    handler: (req, res) => {
      count++;
      req.resume();
      held.push(res);
      for (const w of waiters) w();
      waiters = [];
    },
    arrived: () => count,
    async waitArrived(n) {
      while (count < n) await new Promise<void>((resolve) => waiters.push(resolve));
    },
    release() {
      for (const res of held.splice(0)) res.end('done');
    },
  };
}

test('proxies GET: status, body, request headers, x-sluice-instance', async () => {
  let seen: http.IncomingHttpHeaders = {};
  const fn = await startFunction((req, res) => {
    seen = req.headers;
    res.writeHead(201, { 'x-answer': '42' }).end(`hello ${req.url}`);
  });
  const { proxy } = await startProxy(fn.port);
  const reply = await send(proxy.trafficPort, { path: '/greet?x=1', headers: { 'x-request-id': 'req-1' } });
  assert.equal(reply.status, 201);
  assert.equal(reply.body, 'hello /greet?x=1');
  assert.equal(reply.headers['x-answer'], '42');
  assert.equal(reply.headers['x-sluice-instance'], 'echo-3f2a');
  assert.equal(seen['x-request-id'], 'req-1');
});

test('streams a 20 MiB POST body both ways without buffering it', async () => {
  const fn = await startFunction((req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    req.pipe(res);
  });
  const { proxy } = await startProxy(fn.port);
  const chunk = Buffer.alloc(64 * 1024);
  const total = 20 * 1024 * 1024;
  const sent = createHash('sha256');
  const received = createHash('sha256');
  let receivedBytes = 0;
  let sentBytes = 0;
  let sentWhenFirstEcho = -1;
  await new Promise<void>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: proxy.trafficPort, method: 'POST', path: '/echo', agent: false }, (res) => {
      assert.equal(res.statusCode, 200);
      res.on('data', (c: Buffer) => {
        if (receivedBytes === 0) sentWhenFirstEcho = sentBytes;
        receivedBytes += c.length;
        received.update(c);
      });
      res.on('end', resolve);
      res.on('error', reject);
    });
    req.on('error', reject);
    const write = (): void => {
      while (sentBytes < total) {
        chunk.fill(sentBytes / chunk.length);
        sent.update(chunk);
        sentBytes += chunk.length;
        if (!req.write(chunk)) {
          req.once('drain', write);
          return;
        }
      }
      req.end();
    };
    write();
  });
  assert.equal(receivedBytes, total);
  assert.equal(received.digest('hex'), sent.digest('hex'));
  // The echo started coming back before the whole body was sent: nothing stored the body first.
  assert.ok(sentWhenFirstEcho < total, `first echoed byte arrived after ${sentWhenFirstEcho} of ${total} bytes were sent`);
});

test('CC=1 with queue-depth 1: the third concurrent request gets 503 QUEUE_FULL with Retry-After', async () => {
  const fn = heldRequests();
  const server = await startFunction(fn.handler);
  const { proxy, registry } = await startProxy(server.port, { containerConcurrency: 1, queueDepth: 1 });
  const first = send(proxy.trafficPort, { path: '/1' });
  await fn.waitArrived(1);
  const second = send(proxy.trafficPort, { path: '/2' });
  // The second waits in the proxy's queue: give it time to get there, it must not reach the function.
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(fn.arrived(), 1);
  const third = await send(proxy.trafficPort, { path: '/3' });
  assert.equal(third.status, 503);
  assert.equal(third.headers['retry-after'], '1');
  assert.equal(json(third).code, 'QUEUE_FULL');
  fn.release();
  assert.equal((await first).status, 200);
  await fn.waitArrived(2);
  fn.release();
  assert.equal((await second).status, 200);
  const metrics = await registry.metrics();
  assert.match(metrics, /sluice_queue_proxy_queue_full_total\{namespace="default",function="echo"\} 1/);
  assert.match(metrics, /sluice_queue_proxy_requests_total\{namespace="default",function="echo",code_class="2xx"\} 2/);
  assert.match(metrics, /sluice_queue_proxy_requests_total\{namespace="default",function="echo",code_class="5xx"\} 1/);
});

test('a queued request whose client goes away leaves the queue', async () => {
  const fn = heldRequests();
  const server = await startFunction(fn.handler);
  const { proxy, registry } = await startProxy(server.port, { containerConcurrency: 1, queueDepth: 1 });
  const first = send(proxy.trafficPort);
  await fn.waitArrived(1);
  const gone = http.request({ host: '127.0.0.1', port: proxy.trafficPort, agent: false });
  gone.on('error', () => undefined);
  gone.end();
  while (!/sluice_queue_proxy_queued_requests\{[^}]*\} 1/.test(await registry.metrics())) await new Promise((resolve) => setTimeout(resolve, 5));
  gone.destroy();
  while (!/sluice_queue_proxy_queued_requests\{[^}]*\} 0/.test(await registry.metrics())) await new Promise((resolve) => setTimeout(resolve, 5));
  // Its place is free again: a new request queues instead of being rejected.
  const next = send(proxy.trafficPort);
  await new Promise((resolve) => setTimeout(resolve, 20));
  fn.release();
  assert.equal((await first).status, 200);
  await fn.waitArrived(2);
  fn.release();
  assert.equal((await next).status, 200);
  assert.equal(fn.arrived(), 2, 'the abandoned request never reached the function');
});

test('function server gone → 502 UPSTREAM_FAILED naming function and instance', async () => {
  const fn = await startFunction((_req, res) => res.end('ok'));
  const { proxy } = await startProxy(fn.port);
  assert.equal((await send(proxy.trafficPort)).status, 200);
  await fn.kill();
  const reply = await send(proxy.trafficPort);
  assert.equal(reply.status, 502);
  const body = json(reply);
  assert.equal(body.code, 'UPSTREAM_FAILED');
  assert.match(body.message, /function default\/echo instance echo-3f2a/);
  assert.equal(reply.headers['x-sluice-instance'], 'echo-3f2a');
});

test('function slower than the timeout → 504 UPSTREAM_TIMEOUT', async () => {
  const fn = heldRequests();
  const server = await startFunction(fn.handler);
  const { proxy } = await startProxy(server.port, { timeoutMs: 150 });
  const reply = await send(proxy.trafficPort);
  fn.release();
  assert.equal(reply.status, 504);
  assert.equal(json(reply).code, 'UPSTREAM_TIMEOUT');
});

test('a request before the function server is ready waits for it; /ready follows', async () => {
  const userPort = await freePort();
  const { proxy } = await startProxy(userPort);
  assert.equal((await send(proxy.adminPort, { path: '/ready' })).status, 503);
  assert.equal((await send(proxy.adminPort, { path: '/healthz' })).status, 200);
  const pending = send(proxy.trafficPort, { path: '/cold' });
  await new Promise((resolve) => setTimeout(resolve, 50));
  await startFunction((req, res) => res.end(`warm ${req.url}`), userPort);
  const reply = await pending;
  assert.equal(reply.status, 200);
  assert.equal(reply.body, 'warm /cold');
  const ready = await send(proxy.adminPort, { path: '/ready' });
  assert.equal(ready.status, 200);
  assert.deepEqual(JSON.parse(ready.body), { ready: true });
});

test('waiting for readiness is bounded by the timeout → 504 REQUEST_TIMEOUT', async () => {
  const { proxy } = await startProxy(await freePort(), { timeoutMs: 100 });
  const reply = await send(proxy.trafficPort);
  assert.equal(reply.status, 504);
  assert.equal(json(reply).code, 'REQUEST_TIMEOUT');
  assert.match(json(reply).message, /function default\/echo instance echo-3f2a/);
});

test('h2c: proxies to an h2c function server and forwards trailers', async () => {
  const upstream = http2.createServer();
  upstream.on('stream', (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': 'fine' }));
      stream.end(`${headers[':path']} ${Buffer.concat(chunks).toString()}`);
    });
  });
  upstream.listen(0, '127.0.0.1');
  await once(upstream, 'listening');
  cleanups.push(() => new Promise<void>((resolve) => upstream.close(() => resolve())));
  const { proxy } = await startProxy((upstream.address() as AddressInfo).port);
  const client = http2.connect(`http://127.0.0.1:${proxy.trafficPort}`);
  cleanups.push(() => void client.close());
  const req = client.request({ ':method': 'POST', ':path': '/pkg.Svc/Call', 'content-type': 'application/grpc', te: 'trailers' });
  req.end('ping');
  const [responseHeaders] = (await once(req, 'response')) as [http2.IncomingHttpHeaders];
  const trailers = once(req, 'trailers') as Promise<[http2.IncomingHttpHeaders]>;
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  await once(req, 'end');
  assert.equal(responseHeaders[':status'], 200);
  assert.equal(responseHeaders['x-sluice-instance'], 'echo-3f2a');
  assert.equal(Buffer.concat(chunks).toString(), '/pkg.Svc/Call ping');
  const [t] = await trailers;
  assert.equal(t['grpc-status'], '0');
  assert.equal(t['grpc-message'], 'fine');
  client.close();
});

test('stats reach the autoscaler: one Stat per period, proxied requests counted, last Stat on drain', async () => {
  const autoscaler = new FakeAutoscaler();
  const address = await autoscaler.start();
  cleanups.push(() => autoscaler.close());
  const fn = await startFunction((_req, res) => res.end('ok'));
  const { proxy } = await startProxy(fn.port, { autoscalerAddress: address, reportingPeriodMs: 50 });
  const counted = autoscaler.nextStat((s) => s.request_count > 0);
  await send(proxy.trafficPort);
  await send(proxy.trafficPort, { headers: { 'x-sluice-proxied-by': 'activator' } });
  const stat = await counted;
  assert.equal(stat.namespace, 'default');
  assert.equal(stat.function, 'echo');
  assert.equal(stat.pod_name, 'echo-3f2a');
  assert.equal(stat.source, 'STAT_SOURCE_QUEUE_PROXY');
  // Both requests may fall in one period or straddle two.
  const all = autoscaler.stats.reduce((sum, s) => ({ requests: sum.requests + s.request_count, proxied: sum.proxied + s.proxied_request_count }), { requests: 0, proxied: 0 });
  if (all.requests < 2) {
    await autoscaler.nextStat((s) => s.request_count > 0);
  }
  const total = autoscaler.stats.reduce((sum, s) => ({ requests: sum.requests + s.request_count, proxied: sum.proxied + s.proxied_request_count }), { requests: 0, proxied: 0 });
  assert.deepEqual(total, { requests: 2, proxied: 1 });
  assert.ok(stat.period_ms > 0 && stat.timestamp_ms > 0);
  assert.ok(stat.average_concurrency >= 0);
  const before = autoscaler.stats.length;
  const last = autoscaler.nextStat();
  await proxy.drain();
  await last;
  assert.ok(autoscaler.stats.length > before, 'drain flushes a final Stat');
});

test('/metrics serves process defaults and queue-proxy metrics', async () => {
  const fn = await startFunction((_req, res) => res.end('ok'));
  const { proxy } = await startProxy(fn.port);
  await send(proxy.trafficPort);
  const reply = await send(proxy.metricsPort, { path: '/metrics' });
  assert.equal(reply.status, 200);
  for (const name of [
    'process_cpu_seconds_total',
    'sluice_queue_proxy_requests_total{namespace="default",function="echo",code_class="2xx"} 1',
    'sluice_queue_proxy_request_duration_seconds_count{namespace="default",function="echo"} 1',
    'sluice_queue_proxy_in_flight_requests{namespace="default",function="echo"} 0',
    'sluice_queue_proxy_queued_requests{namespace="default",function="echo"} 0',
    'sluice_queue_proxy_queue_full_total{namespace="default",function="echo"} 0',
  ]) {
    assert.ok(reply.body.includes(name), `missing ${name}`);
  }
});

test('drain: /ready fails, in-flight and queued requests finish, then everything closes', async () => {
  const fn = heldRequests();
  const server = await startFunction(fn.handler);
  const { proxy } = await startProxy(server.port, { containerConcurrency: 1, queueDepth: 2 });
  while ((await send(proxy.adminPort, { path: '/ready' })).status !== 200) await new Promise((resolve) => setTimeout(resolve, 5));
  const inFlight = send(proxy.trafficPort, { path: '/a' });
  await fn.waitArrived(1);
  const queued = send(proxy.trafficPort, { path: '/b' });
  await new Promise((resolve) => setTimeout(resolve, 30));
  let drained = false;
  const draining = proxy.drain().then(() => {
    drained = true;
  });
  assert.equal((await send(proxy.adminPort, { path: '/ready' })).status, 503);
  await assert.rejects(send(proxy.trafficPort), /ECONNREFUSED/, 'no new connections while draining');
  fn.release();
  assert.equal((await inFlight).status, 200);
  await fn.waitArrived(2);
  assert.equal(drained, false);
  fn.release();
  assert.equal((await queued).status, 200);
  await draining;
  await assert.rejects(send(proxy.adminPort, { path: '/ready' }), /ECONNREFUSED/);
});
