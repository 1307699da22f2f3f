// Tests for activator config: defaults, parsing and errors that name the key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { rawConfigFromEnv } from '../lib/config.js';
import { generateClusterKey } from '../lib/xdt/reference.js';
import { defaultConfig, loadConfig, retryAfterSeconds, xdtClusterKey, type ActivatorConfig } from './config.js';

const KEY = generateClusterKey();

test('defaults', () => {
  const want: ActivatorConfig = {
    host: '127.0.0.1',
    port: 8080,
    adminPort: 9090,
    domain: 'sluice.localhost',
    platform: 'local',
    platformAddress: '127.0.0.1:8092',
    autoscalerAddress: '127.0.0.1:8090',
    maxBodyBytes: 64 * 1024 * 1024,
    queueDepth: 10_000,
    queueTimeoutMs: undefined,
    retryAfterMs: 1_000,
    activatorId: `activator-${process.pid}`,
    reportingPeriodMs: 1_000,
    connectionsPerInstance: 256,
    drainTimeoutMs: 30_000,
    xdtKeyFile: '',
    xdtKey: '',
  };
  assert.deepEqual(defaultConfig(), want);
  assert.deepEqual(loadConfig({}), want);
  assert.equal(retryAfterSeconds(want), 1);
});

test('every key parses from env', () => {
  const env = {
    SLUICE_ACTIVATOR_HOST: '0.0.0.0',
    SLUICE_ACTIVATOR_PORT: '0',
    SLUICE_ACTIVATOR_ADMIN_PORT: '0',
    SLUICE_ACTIVATOR_DOMAIN: 'Example.COM',
    SLUICE_ACTIVATOR_PLATFORM: 'kubernetes',
    SLUICE_ACTIVATOR_PLATFORM_ADDRESS: '10.0.0.1:9000',
    SLUICE_ACTIVATOR_AUTOSCALER_ADDRESS: '',
    SLUICE_ACTIVATOR_MAX_BODY_BYTES: '1024',
    SLUICE_ACTIVATOR_QUEUE_DEPTH: '5',
    SLUICE_ACTIVATOR_QUEUE_TIMEOUT: '2s',
    SLUICE_ACTIVATOR_RETRY_AFTER: '2500ms',
    SLUICE_ACTIVATOR_ACTIVATOR_ID: 'act-1',
    SLUICE_ACTIVATOR_REPORTING_PERIOD: '250ms',
    SLUICE_ACTIVATOR_CONNECTIONS_PER_INSTANCE: '8',
    SLUICE_ACTIVATOR_DRAIN_TIMEOUT: '0s',
    SLUICE_ACTIVATOR_XDT_KEY_FILE: '/run/sluice/xdt.key',
    SLUICE_ACTIVATOR_XDT_KEY: KEY.toString('base64'),
  };
  const got = loadConfig(rawConfigFromEnv('ACTIVATOR', env));
  assert.deepEqual(got, {
    host: '0.0.0.0',
    port: 0,
    adminPort: 0,
    domain: 'example.com',
    platform: 'kubernetes',
    platformAddress: '10.0.0.1:9000',
    autoscalerAddress: '',
    maxBodyBytes: 1024,
    queueDepth: 5,
    queueTimeoutMs: 2_000,
    retryAfterMs: 2_500,
    activatorId: 'act-1',
    reportingPeriodMs: 250,
    connectionsPerInstance: 8,
    drainTimeoutMs: 0,
    xdtKeyFile: '/run/sluice/xdt.key',
    xdtKey: KEY.toString('base64'),
  });
  assert.equal(retryAfterSeconds(got), 3);
});

const errorRows: Array<{ name: string; input: Record<string, string>; want: RegExp }> = [
  { name: 'unknown key', input: { 'queue-dept': '5' }, want: /unknown config key "queue-dept"/ },
  { name: 'port out of range', input: { port: '70000' }, want: /port = 70000, must be an integer in \[0; 65535\]/ },
  { name: 'queue depth zero', input: { 'queue-depth': '0' }, want: /queue-depth = 0, must be an integer in \[1; 10000000\]/ },
  { name: 'max body not an integer', input: { 'max-body-bytes': '64Mi' }, want: /max-body-bytes = 64Mi, must be an integer/ },
  { name: 'bad queue timeout', input: { 'queue-timeout': 'soon' }, want: /queue-timeout = soon, must be a duration in \[1ms; 1h\]/ },
  { name: 'retry-after below a second', input: { 'retry-after': '10ms' }, want: /retry-after = 10ms, must be a duration in \[1s; 1h\]/ },
  { name: 'bad platform address', input: { 'platform-address': 'nowhere' }, want: /platform-address = nowhere, must be host:port/ },
  { name: 'bad domain', input: { domain: 'under_score.local' }, want: /domain = under_score.local, must be a DNS name/ },
  { name: 'same ports', input: { port: '9000', 'admin-port': '9000' }, want: /admin-port = 9000, must differ from port/ },
  { name: 'xdt key too short', input: { 'xdt-key': 'c2hvcnQ' }, want: /xdt-key: the XDT cluster key must be 32 bytes in base64, got 5 bytes/ },
];

for (const row of errorRows) {
  test(`config error: ${row.name}`, () => {
    assert.throws(() => loadConfig(row.input), row.want);
  });
}

test('the XDT cluster key: none (locality routing off), the key text, or the key file; the text wins', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-activator-config-'));
  const file = path.join(dir, 'xdt.key');
  writeFileSync(file, `${KEY.toString('base64url')}\n`, { mode: 0o600 });
  const other = generateClusterKey();
  assert.equal(xdtClusterKey(loadConfig({})), undefined);
  assert.deepEqual(xdtClusterKey(loadConfig({ 'xdt-key-file': file })), KEY);
  assert.deepEqual(xdtClusterKey(loadConfig({ 'xdt-key': KEY.toString('base64') })), KEY);
  assert.deepEqual(xdtClusterKey(loadConfig({ 'xdt-key-file': file, 'xdt-key': other.toString('base64') })), other);
  // "" is "none", as for the queue-proxy: how SLUICE_ACTIVATOR_XDT_KEY_FILE= turns it off under sluice up.
  assert.equal(xdtClusterKey(loadConfig({ 'xdt-key-file': '' })), undefined);
});

test('an unreadable or malformed key file stops the activator, naming the key (never the key text)', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-activator-config-'));
  const bad = path.join(dir, 'bad.key');
  writeFileSync(bad, 'not-a-key');
  assert.throws(() => xdtClusterKey(loadConfig({ 'xdt-key-file': path.join(dir, 'missing.key') })), /activator: xdt-key-file = .*missing\.key, cannot be read/);
  assert.throws(() => xdtClusterKey(loadConfig({ 'xdt-key-file': bad })), /activator: xdt-key-file = .*bad\.key: the XDT cluster key must be 32 bytes/);
  assert.throws(
    () => loadConfig({ 'xdt-key': 'bm90IGEga2V5' }),
    (err: Error) => /xdt-key: /.test(err.message) && !err.message.includes('bm90IGEga2V5'),
  );
});
