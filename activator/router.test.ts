// Table tests for request routing by host and by path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { routeRequest, type Route } from './router.js';

const DOMAIN = 'sluice.local';

const rows: Array<{ name: string; input: { host: string | undefined; path: string }; want: Route | null }> = [
  { name: 'full host', input: { host: 'hello.default.sluice.local', path: '/x?y=1' }, want: { namespace: 'default', name: 'hello', path: '/x?y=1' } },
  { name: 'full host with port', input: { host: 'hello.team-a.sluice.local:8080', path: '/' }, want: { namespace: 'team-a', name: 'hello', path: '/' } },
  { name: 'host is case-insensitive', input: { host: 'Hello.Default.SLUICE.local', path: '/' }, want: { namespace: 'default', name: 'hello', path: '/' } },
  { name: 'trailing dot', input: { host: 'hello.default.sluice.local.', path: '/' }, want: { namespace: 'default', name: 'hello', path: '/' } },
  { name: 'bare function host', input: { host: 'hello', path: '/a' }, want: { namespace: 'default', name: 'hello', path: '/a' } },
  { name: 'bare function host with port', input: { host: 'hello:8080', path: '/a' }, want: { namespace: 'default', name: 'hello', path: '/a' } },
  { name: 'function.namespace host', input: { host: 'hello.prod', path: '/a' }, want: { namespace: 'prod', name: 'hello', path: '/a' } },
  { name: 'too many labels under domain', input: { host: 'a.b.c.sluice.local', path: '/fn/default/hello' }, want: null },
  { name: 'only one label under domain', input: { host: 'hello.sluice.local', path: '/' }, want: null },
  { name: 'path route with rest and query', input: { host: '127.0.0.1:8080', path: '/fn/default/hello/api/v1?q=2' }, want: { namespace: 'default', name: 'hello', path: '/api/v1?q=2' } },
  { name: 'path route root', input: { host: '127.0.0.1', path: '/fn/ns1/hello' }, want: { namespace: 'ns1', name: 'hello', path: '/' } },
  { name: 'path route trailing slash', input: { host: '127.0.0.1', path: '/fn/ns1/hello/' }, want: { namespace: 'ns1', name: 'hello', path: '/' } },
  { name: 'path route query only', input: { host: '127.0.0.1', path: '/fn/ns1/hello?a=b' }, want: { namespace: 'ns1', name: 'hello', path: '/?a=b' } },
  { name: 'path route wins over a short host', input: { host: 'localhost:8080', path: '/fn/ns1/hello/x' }, want: { namespace: 'ns1', name: 'hello', path: '/x' } },
  { name: 'path route without host', input: { host: undefined, path: '/fn/ns1/hello/x' }, want: { namespace: 'ns1', name: 'hello', path: '/x' } },
  { name: 'path route missing function', input: { host: '127.0.0.1', path: '/fn/ns1' }, want: null },
  { name: 'path route empty function', input: { host: '127.0.0.1', path: '/fn/ns1/' }, want: null },
  { name: 'path route bad label', input: { host: '127.0.0.1', path: '/fn/NS_1/hello' }, want: null },
  { name: 'ip host without path route', input: { host: '127.0.0.1:8080', path: '/hello' }, want: null },
  { name: 'ipv6 host without path route', input: { host: '[::1]:8080', path: '/hello' }, want: null },
  { name: 'no host, no path route', input: { host: undefined, path: '/' }, want: null },
  { name: 'bad host label', input: { host: 'hello_world', path: '/' }, want: null },
];

for (const row of rows) {
  test(`routeRequest: ${row.name}`, () => {
    const got = routeRequest(row.input.host, row.input.path, DOMAIN);
    assert.deepEqual(got, row.want, `want ${JSON.stringify(row.want)}, got ${JSON.stringify(got)}`);
  });
}
