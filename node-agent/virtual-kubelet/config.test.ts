import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../lib/config.js';
import { loadConfig, REPO_ROOT } from './config.js';

test('loadConfig: defaults derive from the index', () => {
  const c = loadConfig({ index: '2' });
  assert.equal(c.name, 'node-2');
  assert.equal(c.subnet, '10.244.2');
  assert.equal(c.pods, 110);
  assert.equal(c.workDir, REPO_ROOT);
  assert.equal(c.serviceProxy, false);
  assert.equal(c.backoffInitialMs, 10_000);
  assert.equal(c.backoffMaxMs, 300_000);
  assert.equal(c.leaseDurationSeconds, 40);
  assert.equal(c.leaseRenewIntervalMs, 10_000);
  assert.deepEqual(c.images, {});
});

test('loadConfig: keys, table', () => {
  const rows: Array<{ raw: Record<string, string>; check: (c: ReturnType<typeof loadConfig>) => unknown; want: unknown }> = [
    { raw: { cpu: '3500m' }, check: (c) => c.milliCpu, want: 3500 },
    { raw: { cpu: '4' }, check: (c) => c.milliCpu, want: 4000 },
    { raw: { memory: '8Gi' }, check: (c) => c.memoryBytes, want: 8 * 1024 ** 3 },
    { raw: { labels: 'zone=a,pm=true' }, check: (c) => c.labels, want: { zone: 'a', pm: 'true' } },
    { raw: { 'service-proxy': 'true' }, check: (c) => c.serviceProxy, want: true },
    { raw: { backoff: '1s', 'backoff-max': '4s' }, check: (c) => [c.backoffInitialMs, c.backoffMaxMs], want: [1_000, 4_000] },
    { raw: { images: '{"sluice/fixture:1": ["node", "f.mjs"]}' }, check: (c) => c.images, want: { 'sluice/fixture': { entrypoint: ['node', 'f.mjs'] } } },
    { raw: { name: 'edge-7', subnet: '10.244.77' }, check: (c) => [c.name, c.subnet], want: ['edge-7', '10.244.77'] },
  ];
  for (const row of rows) assert.deepEqual(row.check(loadConfig(row.raw)), row.want, JSON.stringify(row.raw));
});

test('loadConfig: errors name the key', () => {
  const rows: Array<[Record<string, string>, RegExp]> = [
    [{ index: '0' }, /index = 0/],
    [{ subnet: '10.244' }, /subnet = 10.244/],
    [{ name: 'Node_1' }, /name = Node_1/],
    [{ cpu: 'lots' }, /cpu = lots/],
    [{ memory: '-1' }, /memory = -1/],
    [{ images: '[1]' }, /images = \[1\]/],
    [{ backoff: '10s', 'backoff-max': '5s' }, /backoff-max/],
    [{ 'lease-renew-interval': '40s' }, /lease-renew-interval must be shorter/],
    [{ 'no-such-key': 'x' }, /unknown config key "no-such-key"/],
  ];
  for (const [raw, message] of rows) assert.throws(() => loadConfig(raw), (err: Error) => err instanceof ConfigError && message.test(err.message), JSON.stringify(raw));
});
