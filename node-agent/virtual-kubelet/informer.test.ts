// The list + watch loop against a scripted API endpoint: the 410 Gone and watch-end paths a real API server only
// takes after compaction or its watch timeout (the e2e test covers the normal path against kube-apiserver).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { silentLogger } from '../../lib/logger.js';
import { Informer } from './informer.js';
import { KubeApiError, KubeClient } from './kube-client.js';
import type { KubeObject } from './types.js';

const obj = (name: string, rv: string): KubeObject => ({ metadata: { name, namespace: 'ns', resourceVersion: rv } });

/** What the endpoint answers, in order: each list call takes the next list, each watch call the next script. */
const lists: Array<{ rv: string; items: KubeObject[] }> = [];
const watches: Array<Array<Record<string, unknown>> | 410> = [];
const requests: string[] = [];
let server: http.Server;
let client: KubeClient;
let dir: string;

before(async () => {
  server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    requests.push(`${req.method} ${url.pathname}?${url.searchParams}`);
    if (req.headers.authorization !== 'Bearer t0ken') return void res.writeHead(401).end();
    if (url.pathname === '/api/v1/things' && !url.searchParams.has('watch')) {
      const list = lists.shift() ?? { rv: '999', items: [] };
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ metadata: { resourceVersion: list.rv }, items: list.items }));
    }
    if (url.pathname === '/api/v1/things') {
      const script = watches.shift();
      if (script === undefined) return; // hang: a watch with nothing to say
      if (script === 410) return void res.writeHead(410, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Status', code: 410, reason: 'Expired', message: 'too old' }));
      res.writeHead(200, { 'content-type': 'application/json' });
      for (const event of script) res.write(`${JSON.stringify(event)}\n`);
      return void res.end();
    }
    if (url.pathname === '/api/v1/missing') return void res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Status', code: 404, reason: 'NotFound', message: 'things "x" not found' }));
    res.writeHead(500).end('boom');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-vk-informer-'));
  const kubeconfig = path.join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'c', cluster: { server: `http://127.0.0.1:${port}`, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'u', user: { token: 't0ken' } }],
      contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
      'current-context': 'x',
    }),
  );
  client = await KubeClient.load(kubeconfig);
});

after(() => {
  client?.close();
  server.close();
  server.closeAllConnections();
  rmSync(dir, { recursive: true, force: true });
});

test('KubeClient: JSON, credentials, API errors as KubeApiError with status and reason', async () => {
  lists.push({ rv: '5', items: [obj('a', '5')] });
  const list = await client.get<{ items: KubeObject[] }>('/api/v1/things', { fieldSelector: 'spec.nodeName=n1' });
  assert.deepEqual(list.items.map((i) => i.metadata.name), ['a']);
  assert.match(requests.at(-1)!, /fieldSelector=spec.nodeName%3Dn1/);
  await assert.rejects(client.get('/api/v1/missing'), (err: Error) => err instanceof KubeApiError && err.status === 404 && err.reason === 'NotFound' && /things "x" not found/.test(err.message));
  await assert.rejects(client.get('/api/v1/other'), (err: Error) => err instanceof KubeApiError && err.status === 500);
});

test('Informer: list, watch events, resume after a watch ends, relist after 410 Gone (deletions found by diff)', async () => {
  requests.length = 0;
  lists.push(
    { rv: '10', items: [obj('a', '1'), obj('b', '2')] },
    { rv: '20', items: [obj('a', '11'), obj('c', '19')] },
    { rv: '30', items: [obj('c', '19'), obj('d', '25')] },
  );
  watches.push(
    [{ type: 'MODIFIED', object: obj('a', '11') }, { type: 'BOOKMARK', object: { metadata: { resourceVersion: '12' } } }], // then the watch ends normally
    [{ type: 'ERROR', object: { kind: 'Status', code: 410, message: 'too old resource version' } }], // relist (rv 20)
    410, // as an HTTP status: relist (rv 30)
  );
  const events: string[] = [];
  const informer = new Informer<KubeObject>(
    client,
    '/api/v1/things',
    { labelSelector: 'app=web' },
    {
      onAdd: (o) => events.push(`add ${o.metadata.name}@${o.metadata.resourceVersion}`),
      onUpdate: (o, old) => events.push(`update ${o.metadata.name}@${old.metadata.resourceVersion}→${o.metadata.resourceVersion}`),
      onDelete: (o) => events.push(`delete ${o.metadata.name}`),
    },
    silentLogger(),
  );
  informer.start();
  await informer.synced;
  const deadline = Date.now() + 5_000;
  while (!events.includes('delete a') && Date.now() < deadline) await sleep(10);
  await informer.stop();
  assert.deepEqual(events, ['add a@1', 'add b@2', 'update a@1→11', 'add c@19', 'delete b', 'add d@25', 'delete a']);
  assert.deepEqual([...informer.store.keys()].sort(), ['ns/c', 'ns/d']);
  assert.equal(requests.filter((r) => !r.includes('watch=1')).length, 3, 'three lists');
  const watchCalls = requests.filter((r) => r.includes('watch=1'));
  assert.match(watchCalls[0], /resourceVersion=10/);
  assert.match(watchCalls[0], /allowWatchBookmarks=true/);
  assert.match(watchCalls[1], /resourceVersion=12/, 'resumed from the bookmark after the watch ended');
  assert.ok(requests.every((r) => r.includes('labelSelector=app%3Dweb')));
});
