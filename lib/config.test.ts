// Table tests for config parsing helpers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, ConfigReader, parseDurationMs, rawConfigFromEnv } from './config.js';

const durations: Array<{ input: string | number; want: number | undefined }> = [
  { input: '250ms', want: 250 },
  { input: '6s', want: 6000 },
  { input: '1m30s', want: 90_000 },
  { input: '2h', want: 7_200_000 },
  { input: '1500', want: 1500 },
  { input: 42, want: 42 },
  { input: 'soon', want: undefined },
  { input: '5s garbage', want: undefined },
  { input: '', want: undefined },
];
for (const row of durations) {
  test(`parseDurationMs(${JSON.stringify(row.input)})`, () => assert.equal(parseDurationMs(row.input), row.want));
}

test('rawConfigFromEnv maps SLUICE_<PREFIX>_<KEY> to kebab-case keys', () => {
  assert.deepEqual(rawConfigFromEnv('ACTIVATOR', { SLUICE_ACTIVATOR_QUEUE_DEPTH: '5', SLUICE_OTHER_X: '1', PATH: '/bin' }), { 'queue-depth': '5' });

test('rawConfigFromEnv leaves out the service link variables the kubelet derives from Services named sluice-<component>', () => {
  const env = {
    SLUICE_AUTOSCALER_SERVICE_HOST: '10.96.0.9',
    SLUICE_AUTOSCALER_SERVICE_PORT: '8090',
    SLUICE_AUTOSCALER_SERVICE_PORT_GRPC: '8090',
    SLUICE_AUTOSCALER_PORT: 'tcp://10.96.0.9:8090',
    SLUICE_AUTOSCALER_PORT_8090_TCP: 'tcp://10.96.0.9:8090',
    SLUICE_AUTOSCALER_PORT_8090_TCP_PROTO: 'tcp',
    SLUICE_AUTOSCALER_PORT_8090_TCP_PORT: '8090',
    SLUICE_AUTOSCALER_PORT_8090_TCP_ADDR: '10.96.0.9',
    SLUICE_AUTOSCALER_STABLE_WINDOW: '6s',
  };
  assert.deepEqual(rawConfigFromEnv('AUTOSCALER', env), { 'stable-window': '6s' });
  // A real setting that happens to be called port stays one.
  assert.deepEqual(rawConfigFromEnv('ACTIVATOR', { SLUICE_ACTIVATOR_PORT: '8080' }), { port: '8080' });
});
});

test('ConfigReader errors name the key, the value and the range', () => {
  const r = new ConfigReader({ 'stable-window': '5s', 'queue-depth': '-1', mode: 'x', flag: 'maybe' }, 'autoscaler');
  assert.throws(() => r.durationMs('stable-window', 60_000, 6_000, 3_600_000), (e: Error) => e instanceof ConfigError && e.message === 'autoscaler: stable-window = 5s, must be a duration in [6s; 1h]');
  assert.throws(() => r.int('queue-depth', 10, 0, 100), /queue-depth = -1, must be an integer in \[0; 100\]/);
  assert.throws(() => r.string('mode', 'a', ['a', 'b']), /mode = x, must be one of a, b/);
  assert.throws(() => r.boolean('flag', true), /flag = maybe, must be true or false/);
});

test('ConfigReader rejects unknown keys', () => {
  const r = new ConfigReader({ 'queue-dept': '5' }, 'activator');
  r.int('queue-depth', 10, 0, 100);
  assert.throws(() => r.rejectUnknown(), /activator: unknown config key "queue-dept"/);
});
