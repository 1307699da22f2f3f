// XDT end to end on a real two-node local cluster: every pattern through the activator (producer on node-1,
// consumer on node-2), reference refusals, a producer that dies or drains, a 1 GiB object with bounded
// queue-proxy memory, and flow control with more objects than buffers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LocalCluster } from '../../cli/local-cluster.js';
import { eventually, fn, startTestCluster } from './cluster-helpers.js';

const MiB = 2 ** 20;

interface Digest {
  bytes: number;
  sha256: string;
}

function xdtFunction(name: string, node: string, namespace = 'default'): string {
  const doc = fn(name, 'xdt', `    readinessPath: /healthz\n  placement:\n    nodeSelector: { sluice.dev/node: ${node} }\n`);
  return namespace === 'default' ? doc : doc.replace(`  name: ${name}\n`, `  name: ${name}\n  namespace: ${namespace}\n`);
}

let cluster: LocalCluster;

before(async () => {
  cluster = await startTestCluster([xdtFunction('xdt-producer', 'node-1'), xdtFunction('xdt-consumer', 'node-2'), xdtFunction('xdt-other', 'node-2', 'team-b')].join(''));
});

after(async () => {
  await cluster?.stop();
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON answers of the example function, checked field by field
async function call(path: string, init?: RequestInit): Promise<{ status: number; body: any }> {
  const res = await fetch(`${cluster.ingressUrl}${path}`, init);
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, body };
}

/** Address (ip) of the ready instance of a function. */
function instanceIp(name: string): string {
  const status = cluster.controller.functionStatus().find((f) => f.record.name === name);
  const ready = status?.instances.find((i) => i.phase === 'INSTANCE_PHASE_READY');
  assert.ok(ready, `${name} has no ready instance`);
  return ready.ip;
}

/** One metric of an instance's queue-proxy (summed over matching series). */
async function metric(name: string, ip: string, filter = ''): Promise<number> {
  const text = await (await fetch(`http://${ip}:9091/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) && line.includes(filter)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    if (line.startsWith(`${name} `)) sum += Number(line.slice(name.length + 1));
  }
  return sum;
}

async function poolsEmpty(ip: string): Promise<boolean> {
  return (await metric('sluice_queue_proxy_xdt_pool_buffers', ip, 'state="used"')) === 0;
}

function assertSameObjects(results: Array<{ status: number; expected: Digest; got: Digest | string }>): void {
  assert.ok(results.length > 0);
  for (const r of results) {
    assert.equal(r.status, 200, JSON.stringify(r.got));
    assert.deepEqual(r.got, r.expected);
  }
}

test('1-1: a large object crosses nodes by reference, the consumer gets it as its body, nothing stays in the pools', async () => {
  const consumerIp = (await call('/fn/default/xdt-consumer/healthz'), instanceIp('xdt-consumer'));
  const before = await metric('sluice_queue_proxy_xdt_bytes_total', consumerIp, 'direction="received"');
  const { status, body } = await call(`/fn/default/xdt-producer/produce?to=xdt-consumer&bytes=${3 * MiB + 7}&seed=11`);
  assert.equal(status, 200, JSON.stringify(body));
  assertSameObjects(body.results);
  const after = await metric('sluice_queue_proxy_xdt_bytes_total', consumerIp, 'direction="received"');
  assert.ok(after - before >= 3 * MiB, `the consumer's queue-proxy pulled ${after - before} bytes`);
  assert.ok(await eventually(() => poolsEmpty(instanceIp('xdt-producer')), 5_000), 'producer buffers still in use');
});

test('small objects go inline: the bytes never touch the data plane', async () => {
  const consumerIp = instanceIp('xdt-consumer');
  const before = await metric('sluice_queue_proxy_xdt_bytes_total', consumerIp, 'direction="received"');
  const { status, body } = await call('/fn/default/xdt-producer/produce?to=xdt-consumer&bytes=10240&count=3&seed=3');
  assert.equal(status, 200);
  assertSameObjects(body.results);
  assert.equal(await metric('sluice_queue_proxy_xdt_bytes_total', consumerIp, 'direction="received"'), before);
});

test('scatter: one producer, 8 different objects to the consumer at once', async () => {
  const { status, body } = await call(`/fn/default/xdt-producer/produce?to=xdt-consumer&bytes=${MiB + 123}&count=8&seed=100`);
  assert.equal(status, 200, JSON.stringify(body));
  assertSameObjects(body.results);
  assert.equal(new Set(body.results.map((r: { expected: Digest }) => r.expected.sha256)).size, 8, 'objects were not different');
});

test('gather: four objects put by producers, one consumer gets them all', async () => {
  const puts = await Promise.all([1, 2, 3, 4].map((seed) => call(`/fn/default/xdt-producer/put?bytes=${2 * MiB + seed}&seed=${seed}`)));
  for (const p of puts) assert.equal(p.status, 200, JSON.stringify(p.body));
  const { status, body } = await call('/fn/default/xdt-consumer/gather', { method: 'POST', body: JSON.stringify({ references: puts.map((p) => p.body.reference) }) });
  assert.equal(status, 200);
  assert.deepEqual(
    body.results,
    puts.map((p) => ({ bytes: p.body.bytes, sha256: p.body.sha256 })),
  );
});

test('broadcast: one put for 3 retrievals serves 3 gets, the 4th is XDT_OBJECT_GONE', async () => {
  const put = await call(`/fn/default/xdt-producer/put?bytes=${4 * MiB}&retrievals=3&seed=5`);
  assert.equal(put.status, 200);
  const ref = put.body.reference;
  const gets = await Promise.all([1, 2, 3].map(() => call('/fn/default/xdt-consumer/gather', { method: 'POST', body: JSON.stringify({ references: [ref] }) })));
  for (const g of gets) assert.deepEqual(g.body.results, [{ bytes: put.body.bytes, sha256: put.body.sha256 }]);
  const fourth = await call('/fn/default/xdt-consumer/gather', { method: 'POST', body: JSON.stringify({ references: [ref] }) });
  assert.equal(fourth.body.results[0].error, 'XDT_OBJECT_GONE');
  assert.ok(await eventually(() => poolsEmpty(instanceIp('xdt-producer')), 5_000));
});

test('a large response comes back by reference and is pulled by the caller', async () => {
  const direct = await fetch(`${cluster.ingressUrl}/fn/default/xdt-consumer/reply?bytes=${2 * MiB}&seed=9`);
  assert.ok(direct.headers.get('x-sluice-xdt-ref'), 'the reply was not sent by reference');
  assert.equal((await direct.arrayBuffer()).byteLength, 0, 'a reply by reference carries no body through the activator');
  const { status, body } = await call(`/fn/default/xdt-producer/fetch?from=xdt-consumer&bytes=${2 * MiB}&seed=9`);
  assert.equal(status, 200);
  assert.equal(body.got.bytes, 2 * MiB);
});

test('references are refused: tampered (400), from another namespace (403), expired (410), malformed (400)', async () => {
  const put = await call(`/fn/default/xdt-producer/put?bytes=1000000&retrievals=1&seed=1`);
  const ref: string = put.body.reference;
  const tampered = `${ref.slice(0, 20)}${ref[20] === 'A' ? 'B' : 'A'}${ref.slice(21)}`;
  const send = (path: string, reference: string) => fetch(`${cluster.ingressUrl}${path}`, { method: 'POST', headers: { 'x-sluice-xdt-ref': reference } });
  const rows: Array<[string, string, number, string]> = [
    ['/fn/default/xdt-consumer/digest', tampered, 400, 'XDT_REF_INVALID'],
    ['/fn/team-b/xdt-other/digest', ref, 403, 'XDT_REF_FORBIDDEN'],
    ['/fn/default/xdt-consumer/digest', 'not a reference!', 400, 'XDT_REF_INVALID'],
  ];
  for (const [path, reference, status, code] of rows) {
    const res = await send(path, reference);
    assert.equal(res.status, status, `${path} ${code}`);
    assert.equal(((await res.json()) as { code: string }).code, code);
  }
  const short = await call(`/fn/default/xdt-producer/put?bytes=1000&ttlMs=200&seed=1`);
  await sleep(400);
  const expired = await send('/fn/default/xdt-consumer/digest', short.body.reference);
  assert.equal(expired.status, 410);
  assert.equal(((await expired.json()) as { code: string }).code, 'XDT_REF_EXPIRED');
  // The refused uses did not consume the object.
  const ok = await call('/fn/default/xdt-consumer/gather', { method: 'POST', body: JSON.stringify({ references: [ref] }) });
  assert.equal(ok.body.results[0].bytes, 1000000);
});

/** Pid of the process listening on ip:port (from /proc: no tools needed). */
function pidListeningOn(ip: string, port: number): number | undefined {
  const hex = ip.split('.').reverse().map((n) => Number(n).toString(16).padStart(2, '0')).join('').toUpperCase();
  const local = `${hex}:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const line = readFileSync('/proc/net/tcp', 'utf8').split('\n').find((l) => l.trim().split(/\s+/)[1] === local && l.trim().split(/\s+/)[3] === '0A');
  if (!line) return undefined;
  const inode = line.trim().split(/\s+/)[9];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) === `socket:[${inode}]`) return Number(pid);
      }
    } catch {
      // gone or not ours
    }
  }
  return undefined;
}

test('a draining producer keeps serving an object not yet retrieved', async () => {
  const put = await call(`/fn/default/xdt-producer/put?bytes=${3 * MiB}&seed=21`);
  assert.equal(put.status, 200);
  const producerIp = instanceIp('xdt-producer');
  const pid = pidListeningOn(producerIp, 8013);
  assert.ok(pid, 'no producer queue-proxy found');
  cluster.controller.setScale('default', 'xdt-producer', 0);
  assert.ok(
    await eventually(() => !cluster.controller.functionStatus().some((f) => f.record.name === 'xdt-producer' && f.instances.some((i) => i.ip === producerIp && i.phase === 'INSTANCE_PHASE_READY')), 5_000),
    'the producer was not scaled down',
  );
  // Scale belongs to the autoscaler: give it back what it decided, so later tests find a producer.
  cluster.controller.setScale('default', 'xdt-producer', 1);
  await sleep(500);
  let alive = true;
  try {
    process.kill(pid, 0);
  } catch {
    alive = false;
  }
  assert.ok(alive, 'the producer queue-proxy exited with an object outstanding');
  const got = await call('/fn/default/xdt-consumer/gather', { method: 'POST', body: JSON.stringify({ references: [put.body.reference] }) });
  assert.deepEqual(got.body.results, [{ bytes: 3 * MiB, sha256: put.body.sha256 }]);
  // Retrieved: the drain ends and the old instance goes.
  assert.ok(
    await eventually(() => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    }, 10_000),
    'the drained producer did not exit after its object was retrieved',
  );
});

test('when the producer dies, get fails promptly with XDT_OBJECT_GONE', async () => {
  const put = await call(`/fn/default/xdt-producer/put?bytes=${MiB}&seed=31`);
  assert.equal(put.status, 200, JSON.stringify(put.body));
  const pid = pidListeningOn(instanceIp('xdt-producer'), 8013);
  assert.ok(pid);
  process.kill(pid, 'SIGKILL');
  await sleep(100);
  const started = Date.now();
  const got = await call('/fn/default/xdt-consumer/gather', { method: 'POST', body: JSON.stringify({ references: [put.body.reference] }) });
  const elapsed = Date.now() - started;
  assert.equal(got.body.results[0].error, 'XDT_OBJECT_GONE', JSON.stringify(got.body));
  // Functional bound (no hang); the data plane itself gives up after its 1 s pull timeout.
  assert.ok(elapsed < 3_000, `took ${elapsed} ms`);
});

test('a 1 GiB object streams through the default pools while queue-proxy memory stays bounded', async () => {
  await call('/fn/default/xdt-producer/healthz');
  await call('/fn/default/xdt-consumer/healthz');
  const ips = [instanceIp('xdt-producer'), instanceIp('xdt-consumer')];
  let peak = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      for (const ip of ips) peak = Math.max(peak, await metric('process_resident_memory_bytes', ip).catch(() => 0));
      await sleep(100);
    }
  })();
  const { status, body } = await call(`/fn/default/xdt-producer/produce?to=xdt-consumer&bytes=${1024 * MiB}&seed=77`);
  sampling = false;
  await sampler;
  assert.equal(status, 200, JSON.stringify(body));
  assertSameObjects(body.results);
  // The invoke pools are 32 MiB and the inbound read-ahead 32 MiB: a quarter of the object bounds it generously.
  assert.ok(peak > 0 && peak < 256 * MiB, `queue-proxy peak RSS ${Math.round(peak / MiB)} MiB for a 1024 MiB object`);
});
