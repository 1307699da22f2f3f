import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expandStatic, PROBE_USER_AGENT, resolvePort, runHandler } from './handlers.js';
import type { HandlerContext } from './handlers.js';
import type { Container } from './types.js';

let server: http.Server;
let port = 0;
const seen: http.IncomingHttpHeaders[] = [];

before(async () => {
  server = http.createServer((req, res) => {
    seen.push(req.headers);
    const code = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('code') ?? 200);
    if (req.url?.startsWith('/slow')) return void setTimeout(() => res.end('late'), 500);
    res.writeHead(code).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
after(() => server.close());

function ctx(container: Partial<Container> = {}, timeoutMs = 1_000): HandlerContext {
  return {
    podIP: '127.0.0.1',
    container: { name: 'c', ports: [{ name: 'http', containerPort: port }], ...container },
    env: new Map([['PATH', process.env.PATH ?? ''], ['GREETING', 'hi']]),
    cwd: '/',
    timeoutMs,
    nodeBinary: process.execPath,
  };
}

test('resolvePort and expandStatic', () => {
  const c: Container = { name: 'c', ports: [{ name: 'admin', containerPort: 8022 }], env: [{ name: 'A', value: 'x' }, { name: 'B', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }] };
  assert.deepEqual([resolvePort(80, c), resolvePort('8080', c), resolvePort('admin', c), resolvePort('nope', c)], [80, 8080, 8022, undefined]);
  // kubelet's ExpandContainerCommandOnlyStatic: valueFrom variables expand to "".
  assert.deepEqual(expandStatic(['echo', '$(A)', '[$(B)]', '$(C)'], c), ['echo', 'x', '[]', '$(C)']);
});

test('runHandler: httpGet, tcpSocket, exec, sleep — success and failure, table', async () => {
  const rows: Array<{ name: string; handler: Parameters<typeof runHandler>[0]; container?: Partial<Container>; timeoutMs?: number; want: string; message?: RegExp }> = [
    { name: 'httpGet 200 on a named port', handler: { httpGet: { path: '/', port: 'http' } }, want: 'success' },
    { name: 'httpGet 302 counts as success', handler: { httpGet: { path: '/?code=302', port } }, want: 'success' },
    { name: 'httpGet 503', handler: { httpGet: { path: '/?code=503', port } }, want: 'failure', message: /statuscode: 503/ },
    { name: 'httpGet refused', handler: { httpGet: { path: '/', port: 1 } }, want: 'failure', message: /ECONNREFUSED/ },
    { name: 'httpGet timeout', handler: { httpGet: { path: '/slow', port } }, timeoutMs: 100, want: 'failure', message: /timeout/ },
    { name: 'httpGet unknown port name', handler: { httpGet: { path: '/', port: 'nope' } }, want: 'unknown' },
    { name: 'path without a slash', handler: { httpGet: { path: '?code=200', port } }, want: 'success' },
    { name: 'tcpSocket open', handler: { tcpSocket: { port: 'http' } }, want: 'success' },
    { name: 'tcpSocket refused', handler: { tcpSocket: { port: 1 } }, want: 'failure', message: /dial tcp 127.0.0.1:1/ },
    { name: 'exec exit 0 with the container env', handler: { exec: { command: ['sh', '-c', 'test "$GREETING" = hi'] } }, want: 'success' },
    { name: 'exec exit 1', handler: { exec: { command: ['sh', '-c', 'echo broken; exit 1'] } }, want: 'failure', message: /exited with 1: broken/ },
    { name: 'exec timeout', handler: { exec: { command: ['sleep', '5'] } }, timeoutMs: 100, want: 'failure', message: /timed out/ },
    { name: 'exec node is this Node.js', handler: { exec: { command: ['node', '-e', 'process.exit(0)'] } }, want: 'success' },
    { name: 'sleep', handler: { sleep: { seconds: 0 } }, want: 'success' },
    { name: 'no action', handler: {}, want: 'unknown' },
  ];
  for (const row of rows) {
    const outcome = await runHandler(row.handler, ctx(row.container, row.timeoutMs));
    assert.equal(outcome.result, row.want, `${row.name}: ${outcome.message}`);
    if (row.message) assert.match(outcome.message, row.message, row.name);
  }
});

test('httpGet sends kubelet headers and the probe headers', async () => {
  seen.length = 0;
  await runHandler({ httpGet: { path: '/', port, httpHeaders: [{ name: 'X-Probe', value: 'yes' }] } }, ctx());
  assert.equal(seen[0]['user-agent'], PROBE_USER_AGENT);
  assert.equal(seen[0]['x-probe'], 'yes');
});
