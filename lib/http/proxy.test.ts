// Tests of the shared proxy primitives against real loopback servers: HTTP/1.1 and h2c on one port, streaming, trailers, failure classes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { DualServer } from './dual-server.js';
import { ForwardError, UpstreamPools, forwardHttp1, forwardHttp2 } from './proxy.js';
import { freePort } from '../net.js';
import { sendError, sendErrorH2 } from '../errors.js';

/** A real upstream that speaks HTTP/1.1 and h2c: echoes bodies, sends gRPC-style trailers on h2. */
async function startUpstream(): Promise<DualServer> {
  const server = new DualServer({
    http1(req, res) {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-path': req.url ?? '' });
      req.pipe(res);
    },
    http2(stream, headers) {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'x-echo-path': String(headers[':path']) }));
      stream.pipe(stream);
    },
  });
  await server.listen(0, '127.0.0.1');
  return server;
}

async function startProxy(origin: string, pools: UpstreamPools): Promise<DualServer> {
  const opts = { path: '', timeoutMs: 5_000, upstreamName: 'test upstream' };
  const proxy = new DualServer({
    http1(req, res) {
      forwardHttp1(req, res, pools.http1(origin), { ...opts, path: req.url ?? '/' }).catch((err: ForwardError) => sendError(res, err));
    },
    http2(stream, headers) {
      forwardHttp2(stream, headers, pools.http2(origin), { ...opts, path: String(headers[':path']) }).catch((err: ForwardError) => sendErrorH2(stream, err));
    },
  });
  await proxy.listen(0, '127.0.0.1');
  return proxy;
}

test('HTTP/1.1 bodies stream through the proxy unchanged', async () => {
  const upstream = await startUpstream();
  const pools = new UpstreamPools();
  const proxy = await startProxy(`http://127.0.0.1:${upstream.address().port}`, pools);
  try {
    const size = 8 * 2 ** 20;
    const req = http.request({ port: proxy.address().port, host: '127.0.0.1', method: 'POST', path: '/a?b=1' });
    // The echo answers while the body is still being sent: read it concurrently, or its backpressure stalls the upload.
    const response = (once(req, 'response') as Promise<[http.IncomingMessage]>).then(async ([res]) => {
      let count = 0;
      for await (const c of res) count += (c as Buffer).length;
      return { res, received: count };
    });
    const chunk = Buffer.alloc(64 * 1024, 7);
    for (let sent = 0; sent < size; sent += chunk.length) if (!req.write(chunk)) await once(req, 'drain');
    req.end();
    const { res, received } = await response;
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['x-path'], '/a?b=1');
    assert.equal(received, size);
  } finally {
    await proxy.close();
    await upstream.close();
    await pools.close();
  }
});

test('h2c requests are proxied with trailers', async () => {
  const upstream = await startUpstream();
  const pools = new UpstreamPools();
  const proxy = await startProxy(`http://127.0.0.1:${upstream.address().port}`, pools);
  const client = http2.connect(`http://127.0.0.1:${proxy.address().port}`);
  try {
    const stream = client.request({ ':method': 'POST', ':path': '/pkg.Svc/Call', 'content-type': 'application/grpc', te: 'trailers' });
    stream.end(Buffer.from('ping'));
    const [headers] = (await once(stream, 'response')) as [http2.IncomingHttpHeaders];
    const trailersPromise = once(stream, 'trailers');
    let body = '';
    for await (const c of stream) body += String(c);
    const [trailers] = (await trailersPromise) as [http2.IncomingHttpHeaders];
    assert.equal(headers[':status'], 200);
    assert.equal(body, 'ping');
    assert.equal(trailers['grpc-status'], '0');
    assert.equal(trailers['x-echo-path'], '/pkg.Svc/Call');
  } finally {
    client.close();
    await proxy.close();
    await upstream.close();
    await pools.close();
  }
});

test('a refused connection is a retryable UPSTREAM_FAILED', async () => {
  const port = await freePort();
  const pools = new UpstreamPools();
  const proxy = await startProxy(`http://127.0.0.1:${port}`, pools);
  try {
    const res = await fetch(`http://127.0.0.1:${proxy.address().port}/x`);
    assert.equal(res.status, 502);
    assert.deepEqual(Object.keys((await res.json()) as object), ['code', 'message']);
    // Classification seen by a direct caller:
    const server = http.createServer((req, res2) => {
      forwardHttp1(req, res2, pools.http1(`http://127.0.0.1:${port}`), { path: '/', timeoutMs: 1_000, upstreamName: 'x' }).catch((err: ForwardError) => {
        res2.end(JSON.stringify({ retryable: err.retryable, code: err.code }));
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const r = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    assert.deepEqual(await r.json(), { retryable: true, code: 'UPSTREAM_FAILED' });
    server.close();
  } finally {
    await proxy.close();
    await pools.close();
  }
});

test('an upstream slower than the timeout gives UPSTREAM_TIMEOUT (504)', async () => {
  const slow = http.createServer(() => undefined);
  slow.listen(0, '127.0.0.1');
  await once(slow, 'listening');
  const pools = new UpstreamPools();
  const origin = `http://127.0.0.1:${(slow.address() as AddressInfo).port}`;
  const proxy = new DualServer({
    http1(req, res) {
      forwardHttp1(req, res, pools.http1(origin), { path: '/', timeoutMs: 200, upstreamName: 'slow one' }).catch((err: ForwardError) => sendError(res, err));
    },
    http2() {},
  });
  await proxy.listen(0, '127.0.0.1');
  try {
    const res = await fetch(`http://127.0.0.1:${proxy.address().port}/`);
    assert.equal(res.status, 504);
    const body = (await res.json()) as { code: string; message: string };
    assert.equal(body.code, 'UPSTREAM_TIMEOUT');
    assert.match(body.message, /slow one/);
  } finally {
    slow.closeAllConnections();
    slow.close();
    await proxy.close();
    await pools.close();
  }
});

test('a reset connection is retryable for GET but not for POST (the request may have reached the function)', async () => {
  // An upstream that reads the request and then resets the connection without answering.
  const resetting = net.createServer((socket) => {
    socket.once('data', () => socket.resetAndDestroy());
  });
  resetting.listen(0, '127.0.0.1');
  await once(resetting, 'listening');
  const pools = new UpstreamPools();
  const origin = `http://127.0.0.1:${(resetting.address() as AddressInfo).port}`;
  const server = http.createServer((req, res) => {
    forwardHttp1(req, res, pools.http1(origin), { path: '/', timeoutMs: 2_000, upstreamName: 'resetting' }).catch((err: ForwardError) => {
      res.end(JSON.stringify({ retryable: err.retryable, code: err.code }));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  try {
    const get = await fetch(`http://127.0.0.1:${port}/`);
    assert.deepEqual(await get.json(), { retryable: true, code: 'UPSTREAM_FAILED' });
    const post = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST' });
    assert.deepEqual(await post.json(), { retryable: false, code: 'UPSTREAM_FAILED' });
  } finally {
    server.close();
    resetting.close();
    await pools.close();
  }
});
