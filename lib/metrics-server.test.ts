// Tests of the shared metrics server on loopback: /metrics, /healthz, extra routes, 404/405 and a failing collect().
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Counter, Gauge, Registry } from 'prom-client';
import { serveMetrics, type MetricsServer } from './metrics-server.js';
import { request } from './testing/http-request.js';

let server: MetricsServer;
let failing: MetricsServer;

before(async () => {
  const registry = new Registry();
  new Counter({ name: 'sluice_test_things_total', help: 'Things.', registers: [registry] }).inc(3);
  server = await serveMetrics(registry, '127.0.0.1', 0, { '/ready': (_req, res) => res.writeHead(503).end('draining') });
  const broken = new Registry();
  new Gauge({
    name: 'sluice_test_broken',
    help: 'Fails to collect.',
    registers: [broken],
    collect() {
      throw new Error('collect failed');
    },
  });
  failing = await serveMetrics(broken, '127.0.0.1', 0);
});

after(async () => {
  await Promise.all([server.close(), failing.close()]);
});

const rows: Array<{ name: string; input: { method: string; path: string; failing?: boolean }; want: { status: number; body: RegExp } }> = [
  { name: 'metrics', input: { method: 'GET', path: '/metrics' }, want: { status: 200, body: /^sluice_test_things_total 3$/m } },
  { name: 'metrics with a query', input: { method: 'GET', path: '/metrics?name=x' }, want: { status: 200, body: /sluice_test_things_total 3/ } },
  { name: 'healthz', input: { method: 'GET', path: '/healthz' }, want: { status: 200, body: /^\{"ok":true\}$/ } },
  { name: 'a component route', input: { method: 'GET', path: '/ready' }, want: { status: 503, body: /^draining$/ } },
  { name: 'unknown path', input: { method: 'GET', path: '/nope' }, want: { status: 404, body: /"message":"no such path \/nope"/ } },
  { name: 'other methods', input: { method: 'POST', path: '/metrics' }, want: { status: 405, body: /"message":"POST not allowed"/ } },
  { name: 'a failing collect', input: { method: 'GET', path: '/metrics', failing: true }, want: { status: 500, body: /"code":"INTERNAL".*collect failed/ } },
];

for (const row of rows) {
  test(`serveMetrics: ${row.name}`, async () => {
    const got = await request((row.input.failing ? failing : server).port, { method: row.input.method, path: row.input.path });
    assert.equal(got.status, row.want.status, `want status ${row.want.status}, got ${got.status} (${got.body})`);
    assert.match(got.body, row.want.body, `want body ${String(row.want.body)}, got ${got.body}`);
  });
}
