// Integration tests of the serving path on a real local cluster: every component is a process on loopback.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { LocalCluster } from '../../cli/local-cluster.js';
import { grpc } from '../../lib/grpc.js';
import { eventually, fn, readyCount, startTestCluster } from './cluster-helpers.js';

let cluster: LocalCluster;

const FUNCTIONS = [
  fn('hello', 'hello', '  scaling:\n    minScale: 1\n'),
  fn('burst', 'sleep', '  scaling:\n    initialScale: 0\n'),
  fn('crashy', 'e2e/local/testdata/crashy.mjs', '  scaling:\n    minScale: 1\n'),
  fn('grpc-echo', 'e2e/local/testdata/grpc-echo.mjs', '  scaling:\n    initialScale: 0\n'),
].join('');

before(async () => {
  cluster = await startTestCluster(FUNCTIONS);
});

after(async () => {
  await cluster?.stop();
});

test('an unknown function gets 404 FUNCTION_NOT_FOUND as JSON', async () => {
  const res = await fetch(`${cluster.ingressUrl}/fn/default/no-such-function/`);
  assert.equal(res.status, 404);
  assert.match(res.headers.get('content-type') ?? '', /application\/json/);
  const body = (await res.json()) as { code: string; message: string };
  assert.equal(body.code, 'FUNCTION_NOT_FOUND');
  assert.match(body.message, /no-such-function/);
});

test('host routing and path routing reach the function', async () => {
  assert.ok(await eventually(() => readyCount(cluster, 'hello') >= 1, 15_000), 'hello never became ready');
  const byPath = await fetch(`${cluster.ingressUrl}/fn/default/hello/?name=path`);
  assert.equal(byPath.status, 200);
  assert.match(await byPath.text(), /Hello, path!/);
  const url = new URL(cluster.ingressUrl);
  const byHost = await fetch(`http://hello.default.sluice.localhost:${url.port}/?name=host`).catch(() => undefined);
  // Some resolvers do not map *.localhost to loopback; the Host header is what the activator routes on.
  const viaHeader = await import('undici').then((u) =>
    u.request(`${cluster.ingressUrl}/?name=host`, { headers: { host: `hello.default.${cluster.domain}` } }),
  );
  assert.equal(viaHeader.statusCode, 200);
  assert.match(await viaHeader.body.text(), /Hello, host!/);
  if (byHost) assert.equal(byHost.status, 200);
});

test('a burst of 200 concurrent requests to a function at zero all succeed', async () => {
  assert.equal(readyCount(cluster, 'burst'), 0, 'burst should start at zero');
  const results = await Promise.all(
    Array.from({ length: 200 }, async () => {
      const res = await fetch(`${cluster.ingressUrl}/fn/default/burst/?ms=200`);
      return { status: res.status, body: await res.text() };
    }),
  );
  const failed = results.filter((r) => r.status !== 200);
  assert.deepEqual(failed, [], `${failed.length} of 200 failed`);
  assert.ok(readyCount(cluster, 'burst') >= 1);
});

test('a crashed function server gives 502 UPSTREAM_FAILED naming the function, and the instance is replaced', async () => {
  assert.ok(await eventually(() => readyCount(cluster, 'crashy') === 1, 15_000), 'crashy never became ready');
  const before = cluster.controller.functionStatus().find((f) => f.record.name === 'crashy')!.instances.map((i) => i.name);
  const res = await fetch(`${cluster.ingressUrl}/fn/default/crashy/crash`);
  assert.equal(res.status, 502);
  const body = (await res.json()) as { code: string; message: string };
  assert.equal(body.code, 'UPSTREAM_FAILED');
  assert.match(body.message, /default\/crashy/);
  const replaced = await eventually(() => {
    const status = cluster.controller.functionStatus().find((f) => f.record.name === 'crashy')!;
    return status.ready === 1 && status.instances.every((i) => !before.includes(i.name));
  }, 15_000);
  assert.ok(replaced, 'the crashed instance was not replaced by a new ready one');
  const again = await fetch(`${cluster.ingressUrl}/fn/default/crashy/`);
  assert.equal(again.status, 200);
  assert.match(await again.text(), /alive crashy-/);
});

test('a gRPC (h2c) call to a function at zero is proxied end to end through activator and queue-proxy', async () => {
  const identity = (b: Buffer): Buffer => b;
  const service = {
    Echo: {
      path: '/sluice.test.Echo/Echo',
      requestStream: false,
      responseStream: false,
      requestSerialize: identity,
      requestDeserialize: identity,
      responseSerialize: identity,
      responseDeserialize: identity,
    },
  };
  const Client = grpc.makeGenericClientConstructor(service, 'Echo');
  const client = new Client(new URL(cluster.ingressUrl).host, grpc.credentials.createInsecure(), {
    'grpc.default_authority': `grpc-echo.default.${cluster.domain}`,
  }) as unknown as grpc.Client & { Echo: (req: Buffer, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: Buffer) => void) => void };
  try {
    const answer = await new Promise<Buffer>((resolve, reject) => {
      client.Echo(Buffer.from('ping'), { deadline: Date.now() + 20_000 }, (err, res) => (err || !res ? reject(err) : resolve(res)));
    });
    assert.match(answer.toString(), /^grpc-echo-[0-9a-f]+:ping$/);
  } finally {
    client.close();
  }
});
