// DualServer: HTTP/1.1 connection tracking works although the HTTP/1.1 server is fed sockets, not listening itself.
import { test } from 'node:test';
import net from 'node:net';
import { once } from 'node:events';
import { DualServer } from './dual-server.js';

test('drain() closes idle HTTP/1.1 keep-alive connections', async () => {
  const server = new DualServer({
    http1(_req, res) {
      res.end('ok');
    },
    http2() {},
  });
  const { port } = await server.listen(0, '127.0.0.1');
  const socket = net.connect(port, '127.0.0.1');
  await once(socket, 'connect');
  socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  await once(socket, 'data'); // the answer; the connection now sits idle in keep-alive
  const closed = once(socket, 'close');
  server.drain();
  const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error('idle connection still open after drain')), 2_000));
  await Promise.race([closed, timeout]);
  await server.close();
});

test('a half-sent request is cut after headersTimeout', async () => {
  const server = new DualServer({ http1: (_req, res) => res.end('ok'), http2() {} });
  server.http1.headersTimeout = 300;
  // Node's checking interval (not in @types/node 20) decides how soon an expired request is seen.
  (server.http1 as unknown as { connectionsCheckingInterval: number }).connectionsCheckingInterval = 100;
  const { port } = await server.listen(0, '127.0.0.1');
  const socket = net.connect(port, '127.0.0.1');
  await once(socket, 'connect');
  socket.write('GET / HTTP/1.1\r\nHost:');
  socket.resume();
  const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error('half-sent request still open')), 5_000));
  await Promise.race([once(socket, 'close'), timeout]);
  await server.close();
});
