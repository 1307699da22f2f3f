// Tests for the throwaway Redis server; the live ones need Debian's redis-server already installed (tests never apt-get).
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { test } from 'node:test';
import { canConnect } from '../../lib/net.js';
import { redisArgs, startRedis, urlHost } from './redis-server.js';
import { findExecutable } from './system-tools.js';

const noRedis = findExecutable('redis-server') ? false : 'redis-server is not installed (startRedis would apt-get it; tests do not)';

test('redisArgs: memory only, unprotected, bound to the host', () => {
  const args = redisArgs('10.213.0.12', 6400, '/tmp/r');
  const value = (flag: string): string | undefined => args[args.indexOf(flag) + 1];
  assert.equal(value('--bind'), '10.213.0.12');
  assert.equal(value('--port'), '6400');
  assert.equal(value('--save'), '');
  assert.equal(value('--appendonly'), 'no');
  assert.equal(value('--protected-mode'), 'no');
  assert.equal(value('--dir'), '/tmp/r');
});

test('urlHost: brackets IPv6 literals only', () => {
  assert.equal(urlHost('127.0.0.1'), '127.0.0.1');
  assert.equal(urlHost('::1'), '[::1]');
});

test('startRedis: answers on the URL it gives, and is gone after stop()', { skip: noRedis }, async () => {
  const redis = await startRedis({ host: '127.0.0.1', log: () => undefined });
  assert.match(redis.url, /^redis:\/\/127\.0\.0\.1:\d+$/);
  assert.ok(await canConnect(redis.host, redis.port));
  await redis.stop();
  assert.equal(await canConnect(redis.host, redis.port), false);
  await redis.stop(); // twice is fine
});

test('startRedis: a port already taken fails with the server log', { skip: noRedis }, async (t) => {
  const blocker = net.createServer().listen(0, '127.0.0.1');
  await once(blocker, 'listening');
  t.after(() => blocker.close());
  const port = (blocker.address() as net.AddressInfo).port;
  await assert.rejects(startRedis({ host: '127.0.0.1', port, log: () => undefined }), /exited .*before answering PING[\s\S]*(in use|bind)/i);
});
