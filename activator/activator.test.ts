// Integration tests: the real activator in-process with a FakePlatform, a FakeAutoscaler and loopback instance servers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import http2 from 'node:http2';
import { Registry } from 'prom-client';
import { silentLogger } from '../lib/logger.js';
import { freePort } from '../lib/net.js';
import { StatsReporter } from '../lib/stats-reporter.js';
import { FakeAutoscaler } from '../lib/testing/fake-autoscaler.js';
import { request } from '../lib/testing/http-request.js';
import type { PokeRequest__Output } from '../protos/generated/sluice/autoscaler/v1/PokeRequest.js';
import type { Stat__Output } from '../protos/generated/sluice/autoscaler/v1/Stat.js';
import { startActivator, type RunningActivator } from './activator.js';
import { defaultConfig, type ActivatorConfig } from './config.js';
import { FakePlatform } from './testing/fake-platform.js';
import { startH2Instance, startHttpInstance, type TestInstance } from './testing/instances.js';

interface Harness {
  platform: FakePlatform;
  activator: RunningActivator;
  autoscaler?: FakeAutoscaler;
  instances: TestInstance[];
  metrics(): Promise<string>;
  close(): Promise<void>;
}

async function start(overrides: Partial<ActivatorConfig> = {}, withAutoscaler = false): Promise<Harness> {
  const platform = new FakePlatform();
  let autoscaler: FakeAutoscaler | undefined;
  let statsReporter: StatsReporter | undefined;
  if (withAutoscaler) {
    autoscaler = new FakeAutoscaler();
    await autoscaler.start();
    statsReporter = new StatsReporter(autoscaler.address, silentLogger());
  }
  const config: ActivatorConfig = { ...defaultConfig(), port: 0, adminPort: 0, autoscalerAddress: autoscaler?.address ?? '', activatorId: 'activator-test', ...overrides };
  const activator = await startActivator(config, { platform, statsReporter, logger: silentLogger(), registry: new Registry() });
  const instances: TestInstance[] = [];
  return {
    platform,
    activator,
    autoscaler,
    instances,
    metrics: async () => (await request(activator.adminPort, { path: '/metrics' })).body,
    async close() {
      await activator.close();
      await Promise.all(instances.map((instance) => instance.close()));
      await statsReporter?.close();
      await autoscaler?.close();
      await platform.close();
    },
  };
}

/** Polls until `check` passes (no wall-clock assertions: it only bounds how long a broken test hangs). */
async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function echoBody(req: http.IncomingMessage, res: http.ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => res.end(Buffer.concat(chunks)));
}

test('an unknown or unroutable function gets 404 FUNCTION_NOT_FOUND naming what was asked', async () => {
  const h = await start();
  try {
    const unknown = await request(h.activator.port, { path: '/fn/default/nope/x' });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.headers['content-type'], 'application/json');
    const body = JSON.parse(unknown.body) as { code: string; message: string };
    assert.equal(body.code, 'FUNCTION_NOT_FOUND');
    assert.match(body.message, /default\/nope/);

    const unroutable = await request(h.activator.port, { path: '/nothing', headers: { host: '10.1.2.3:8080' } });
    assert.equal(unroutable.status, 404);
    assert.match((JSON.parse(unroutable.body) as { message: string }).message, /10\.1\.2\.3:8080.*\/nothing/);
  } finally {
    await h.close();
  }
});

test('path routing and host routing both reach the instance with proxy headers', async () => {
  const h = await start();
  try {
    const instance = await startHttpInstance('hello-1', (req, res) => res.end(`${req.url}`));
    h.instances.push(instance);
    h.platform.setFunction('team', 'hello');
    h.platform.setEndpoints('team', 'hello', [instance.endpoint]);

    const byPath = await request(h.activator.port, { path: '/fn/team/hello/a/b?x=1', headers: { 'x-request-id': 'req-42' } });
    assert.equal(byPath.status, 200);
    assert.equal(byPath.body, '/a/b?x=1');
    const byHost = await request(h.activator.port, { path: '/c?y=2', headers: { host: 'hello.team.sluice.localhost:8080' } });
    assert.equal(byHost.body, '/c?y=2');
    const byShortHost = await request(h.activator.port, { path: '/d', headers: { host: 'hello.team' } });
    assert.equal(byShortHost.body, '/d');

    const [first, second] = instance.seen;
    assert.equal(first.headers['x-request-id'], 'req-42');
    assert.equal(first.headers['x-sluice-proxied-by'], 'activator');
    assert.equal(first.headers['x-forwarded-for'], '127.0.0.1');
    assert.match(String(second.headers['x-request-id']), /^[0-9a-f-]{36}$/, 'generated when absent');
    assert.equal(second.headers['x-forwarded-host'], 'hello.team.sluice.localhost:8080');
    assert.match(await h.metrics(), /sluice_activator_requests_total\{namespace="team",function="hello",code_class="2xx"\} 3/);
  } finally {
    await h.close();
  }
});

test('a Content-Length above max-body-bytes gets 413 before anything reaches the instance', async () => {
  const h = await start({ maxBodyBytes: 1024 });
  try {
    const instance = await startHttpInstance('big-1', echoBody);
    h.instances.push(instance);
    h.platform.setFunction('default', 'big');
    h.platform.setEndpoints('default', 'big', [instance.endpoint]);
    const res = await request(h.activator.port, { method: 'POST', path: '/fn/default/big', body: Buffer.alloc(2048) });
    assert.equal(res.status, 413);
    assert.equal((JSON.parse(res.body) as { code: string }).code, 'BODY_TOO_LARGE');
    assert.equal(instance.seen.length, 0);
  } finally {
    await h.close();
  }
});

test('a chunked body is cut with 413 once it passes max-body-bytes', async () => {
  const h = await start({ maxBodyBytes: 1024 });
  try {
    const instance = await startHttpInstance('big-1', echoBody);
    h.instances.push(instance);
    h.platform.setFunction('default', 'big');
    h.platform.setEndpoints('default', 'big', [instance.endpoint]);
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: h.activator.port, method: 'POST', path: '/fn/default/big', agent: false }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      });
      req.on('error', reject);
      req.write(Buffer.alloc(800));
      setTimeout(() => req.end(Buffer.alloc(800)), 20);
    });
    assert.equal(res.status, 413);
    assert.equal((JSON.parse(res.body) as { code: string }).code, 'BODY_TOO_LARGE');
  } finally {
    await h.close();
  }
});

test('a full queue answers 503 QUEUE_FULL with Retry-After', async () => {
  const h = await start({ queueDepth: 2 });
  try {
    h.platform.setFunction('default', 'idle');
    const waiting = [request(h.activator.port, { path: '/fn/default/idle' }), request(h.activator.port, { path: '/fn/default/idle' })];
    await eventually(async () => /sluice_activator_queued_requests\{namespace="default",function="idle"\} 2/.test(await h.metrics()), '2 queued');
    const rejected = await request(h.activator.port, { path: '/fn/default/idle' });
    assert.equal(rejected.status, 503);
    assert.equal(rejected.headers['retry-after'], '1');
    assert.equal((JSON.parse(rejected.body) as { code: string }).code, 'QUEUE_FULL');
    assert.match(await h.metrics(), /sluice_activator_queue_full_total\{namespace="default",function="idle"\} 1/);

    const instance = await startHttpInstance('idle-1', (_req, res) => res.end('ok'));
    h.instances.push(instance);
    h.platform.setEndpoints('default', 'idle', [instance.endpoint]);
    for (const res of await Promise.all(waiting)) assert.equal(res.status, 200);
  } finally {
    await h.close();
  }
});

test('a request waits past its deadline gets 503 NO_CAPACITY', async () => {
  const h = await start({ queueTimeoutMs: 50, retryAfterMs: 2_000 });
  try {
    h.platform.setFunction('default', 'idle');
    const res = await request(h.activator.port, { path: '/fn/default/idle' });
    assert.equal(res.status, 503);
    assert.equal(res.headers['retry-after'], '2');
    assert.equal((JSON.parse(res.body) as { code: string }).code, 'NO_CAPACITY');
  } finally {
    await h.close();
  }
});

test('scale from zero: the request pokes the autoscaler at once, waits, and succeeds when an endpoint arrives', async () => {
  const h = await start({ reportingPeriodMs: 50 }, true);
  const autoscaler = h.autoscaler as FakeAutoscaler;
  try {
    h.platform.setFunction('default', 'cold', { containerConcurrency: 1 });
    const poked = once(autoscaler, 'poke') as Promise<[PokeRequest__Output]>;
    const pending = request(h.activator.port, { path: '/fn/default/cold/work' });
    const [poke] = await poked;
    assert.deepEqual(poke, { namespace: 'default', function: 'cold', concurrency: 1 });

    const instance = await startHttpInstance('cold-1', (_req, res) => res.end('warm now'));
    h.instances.push(instance);
    h.platform.setEndpoints('default', 'cold', [instance.endpoint]);
    const res = await pending;
    assert.equal(res.status, 200);
    assert.equal(res.body, 'warm now');

    // The activator reports its own Stat for the function.
    await eventually(() => autoscaler.stats.some((s) => s.function === 'cold' && s.request_count >= 1), 'an activator stat');
    const stat = autoscaler.stats.find((s) => s.function === 'cold' && s.request_count >= 1) as Stat__Output;
    assert.equal(stat.source, 'STAT_SOURCE_ACTIVATOR');
    assert.equal(stat.pod_name, 'activator-test');
    assert.equal(stat.average_proxied_concurrency, 0);
    assert.ok(stat.average_concurrency > 0);
    assert.match(await h.metrics(), /sluice_activator_pokes_total\{namespace="default",function="cold"\} 1/);

    // Desired scale from WatchScale becomes a metric.
    await autoscaler.watched();
    autoscaler.pushScale({ namespace: 'default', function: 'cold', desired_scale: 3 });
    await eventually(async () => /sluice_activator_desired_instances\{namespace="default",function="cold"\} 3/.test(await h.metrics()), 'desired scale metric');
  } finally {
    await h.close();
  }
});

test('200 concurrent requests over 3 instances with containerConcurrency 1 all succeed, never 2 in flight on one instance', async () => {
  const h = await start();
  try {
    const inFlight = new Map<string, number>();
    const maxInFlight = new Map<string, number>();
    const served = new Map<string, number>();
    for (const name of ['cc1-a', 'cc1-b', 'cc1-c']) {
      inFlight.set(name, 0);
      maxInFlight.set(name, 0);
      served.set(name, 0);
      const instance = await startHttpInstance(name, (_req, res) => {
        const now = (inFlight.get(name) ?? 0) + 1;
        inFlight.set(name, now);
        maxInFlight.set(name, Math.max(maxInFlight.get(name) ?? 0, now));
        setTimeout(() => {
          inFlight.set(name, (inFlight.get(name) ?? 1) - 1);
          served.set(name, (served.get(name) ?? 0) + 1);
          res.end(name);
        }, 2);
      });
      h.instances.push(instance);
    }
    h.platform.setFunction('default', 'cc1', { containerConcurrency: 1 });
    h.platform.setEndpoints('default', 'cc1', h.instances.map((i) => i.endpoint));
    const responses = await Promise.all(Array.from({ length: 200 }, () => request(h.activator.port, { path: '/fn/default/cc1' })));
    assert.deepEqual(
      responses.filter((r) => r.status !== 200).map((r) => r.body),
      [],
    );
    for (const [name, max] of maxInFlight) assert.ok(max <= 1, `${name} saw ${max} requests in flight`);
    for (const [name, count] of served) assert.ok(count > 0, `${name} served nothing`);
  } finally {
    await h.close();
  }
});

test('a 50 MiB body streams through and back unchanged', async () => {
  const h = await start();
  try {
    const instance = await startHttpInstance('echo-1', (req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      req.pipe(res);
    });
    h.instances.push(instance);
    h.platform.setFunction('default', 'echo');
    h.platform.setEndpoints('default', 'echo', [instance.endpoint]);

    const chunk = Buffer.alloc(64 * 1024);
    for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 31) % 251;
    const chunks = (50 * 1024 * 1024) / chunk.length;
    const sent = createHash('sha256');
    const received = createHash('sha256');
    let receivedBytes = 0;
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: h.activator.port, method: 'POST', path: '/fn/default/echo', agent: false }, (res) => {
        res.on('data', (data: Buffer) => {
          receivedBytes += data.length;
          received.update(data);
        });
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      });
      req.on('error', reject);
      let written = 0;
      const writeMore = (): void => {
        while (written < chunks) {
          written++;
          sent.update(chunk);
          if (!req.write(chunk)) {
            req.once('drain', writeMore);
            return;
          }
        }
        req.end();
      };
      writeMore();
    });
    assert.equal(status, 200);
    assert.equal(receivedBytes, 50 * 1024 * 1024);
    assert.equal(received.digest('hex'), sent.digest('hex'));
  } finally {
    await h.close();
  }
});

function h2Call(port: number, path: string, body: Buffer): Promise<{ headers: http2.IncomingHttpHeaders; body: Buffer; trailers: http2.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const client = http2.connect(`http://127.0.0.1:${port}`);
    client.on('error', reject);
    const stream = client.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' });
    let headers: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on('response', (h) => (headers = h));
    stream.on('trailers', (t) => (trailers = t));
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => {
      client.close();
      resolve({ headers, body: Buffer.concat(chunks), trailers });
    });
    stream.on('error', reject);
    stream.end(body);
  });
}

test('an h2c (gRPC-style) request streams end to end with trailers', async () => {
  const h = await start();
  try {
    const instance = await startH2Instance('grpc-1');
    h.instances.push(instance);
    h.platform.setFunction('default', 'grpc');
    h.platform.setEndpoints('default', 'grpc', [instance.endpoint]);
    const body = Buffer.from('\x00\x00\x00\x00\x05hello');
    const res = await h2Call(h.activator.port, '/fn/default/grpc/pkg.Echo/Say', body);
    assert.equal(res.headers[':status'], 200);
    assert.equal(res.headers['x-instance'], 'grpc-1');
    assert.deepEqual(res.body, body);
    assert.equal(res.trailers['grpc-status'], '0');
    assert.equal(res.trailers['x-echo-bytes'], String(body.length));
    assert.equal(instance.seen[0].url, '/pkg.Echo/Say');
    assert.equal(instance.seen[0].headers['x-sluice-proxied-by'], 'activator');
  } finally {
    await h.close();
  }
});

test('an endpoint whose port refuses connections is dropped and the request retried on another (HTTP/1.1 and h2c)', async () => {
  const h = await start();
  try {
    const live = await startHttpInstance('b-live', echoBody);
    h.instances.push(live);
    const dead = { instanceName: 'a-dead', node: 'node-1', ip: '127.0.0.1', trafficPort: await freePort() };
    // containerConcurrency 1 → first-available in name order: a-dead is always tried first.
    h.platform.setFunction('default', 'flaky', { containerConcurrency: 1 });
    h.platform.setEndpoints('default', 'flaky', [dead, live.endpoint]);
    const res = await request(h.activator.port, { method: 'POST', path: '/fn/default/flaky', body: 'payload' });
    assert.equal(res.status, 200);
    assert.equal(res.body, 'payload', 'the body was replayed to the live instance');
    const again = await request(h.activator.port, { path: '/fn/default/flaky' });
    assert.equal(again.status, 200);

    const liveH2 = await startH2Instance('b-live-h2');
    h.instances.push(liveH2);
    const deadH2 = { instanceName: 'a-dead-h2', node: 'node-1', ip: '127.0.0.1', trafficPort: await freePort() };
    h.platform.setFunction('default', 'flaky-h2', { containerConcurrency: 1 });
    h.platform.setEndpoints('default', 'flaky-h2', [deadH2, liveH2.endpoint]);
    const h2res = await h2Call(h.activator.port, '/fn/default/flaky-h2/x', Buffer.from('abc'));
    assert.equal(h2res.headers[':status'], 200);
    assert.equal(h2res.body.toString(), 'abc');
    assert.equal(h2res.trailers['grpc-status'], '0');
  } finally {
    await h.close();
  }
});

test('a request for a function deleted while it waits gets 404', async () => {
  const h = await start();
  try {
    h.platform.setFunction('default', 'gone');
    const pending = request(h.activator.port, { path: '/fn/default/gone' });
    await eventually(async () => /sluice_activator_queued_requests\{namespace="default",function="gone"\} 1/.test(await h.metrics()), '1 queued');
    h.platform.deleteFunction('default', 'gone');
    const res = await pending;
    assert.equal(res.status, 404);
    assert.match(res.body, /default\/gone was deleted/);
  } finally {
    await h.close();
  }
});

test('drain fails /ready, lets in-flight requests finish, then closes', async () => {
  const h = await start({ drainTimeoutMs: 5_000 });
  try {
    let release: () => void = () => undefined;
    const instance = await startHttpInstance('slow-1', (_req, res) => {
      release = () => res.end('done');
    });
    h.instances.push(instance);
    h.platform.setFunction('default', 'slow');
    h.platform.setEndpoints('default', 'slow', [instance.endpoint]);
    assert.equal((await request(h.activator.adminPort, { path: '/ready' })).status, 200);
    assert.equal((await request(h.activator.adminPort, { path: '/healthz' })).status, 200);
    const pending = request(h.activator.port, { path: '/fn/default/slow' });
    await eventually(() => instance.seen.length === 1, 'request at the instance');
    const drained = h.activator.drain();
    assert.equal((await request(h.activator.adminPort, { path: '/ready' })).status, 503);
    release();
    const res = await pending;
    assert.equal(res.status, 200);
    assert.equal(res.body, 'done');
    await drained;
  } finally {
    await h.close();
  }
});

test('an h2c body that passes max-body-bytes is cut with 413', async () => {
  const h = await start({ maxBodyBytes: 1024 });
  try {
    const instance = await startH2Instance('grpc-1');
    h.instances.push(instance);
    h.platform.setFunction('default', 'grpc');
    h.platform.setEndpoints('default', 'grpc', [instance.endpoint]);
    const client = http2.connect(`http://127.0.0.1:${h.activator.port}`);
    try {
      const stream = client.request({ ':method': 'POST', ':path': '/fn/default/grpc/x' });
      stream.on('error', () => undefined); // the activator resets the stream after answering
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.write(Buffer.alloc(800));
      setTimeout(() => stream.write(Buffer.alloc(800)), 20);
      const [headers] = (await once(stream, 'response')) as [http2.IncomingHttpHeaders];
      assert.equal(headers[':status'], 413);
      await once(stream, 'close');
      assert.equal((JSON.parse(Buffer.concat(chunks).toString()) as { code: string }).code, 'BODY_TOO_LARGE');
    } finally {
      client.destroy();
    }
  } finally {
    await h.close();
  }
});

test('a client that disconnects while queued leaves the queue', async () => {
  const h = await start();
  try {
    h.platform.setFunction('default', 'idle');
    const req = http.request({ host: '127.0.0.1', port: h.activator.port, path: '/fn/default/idle', agent: false });
    req.on('error', () => undefined);
    req.end();
    await eventually(async () => /sluice_activator_queued_requests\{namespace="default",function="idle"\} 1/.test(await h.metrics()), '1 queued');
    req.destroy();
    await eventually(async () => /sluice_activator_queued_requests\{namespace="default",function="idle"\} 0/.test(await h.metrics()), 'queue empty');
    assert.match(await h.metrics(), /sluice_activator_requests_total\{namespace="default",function="idle",code_class="aborted"\} 1/);
  } finally {
    await h.close();
  }
});
