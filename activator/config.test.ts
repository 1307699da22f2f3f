// Tests for activator config: defaults, parsing and errors that name the key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rawConfigFromEnv } from '../lib/config.js';
import { defaultConfig, loadConfig, retryAfterSeconds, type ActivatorConfig } from './config.js';

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
];

for (const row of errorRows) {
  test(`config error: ${row.name}`, () => {
    assert.throws(() => loadConfig(row.input), row.want);
  });
}
