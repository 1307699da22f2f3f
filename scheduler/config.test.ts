import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultConfig, loadConfig } from './config.js';
import { rawConfigFromEnv } from '../lib/config.js';

test('defaults', () => {
  assert.deepEqual(defaultConfig(), {
    grpcAddress: '127.0.0.1:8091',
    metricsPort: 0,
    scoreWeights: { 'least-allocated': 1, spread: 2, 'pm-writer-spread': 2, 'data-affinity': 2, 'cost-model': 3 },
    pluginArgs: {},
    platform: 'local',
    schedulerName: 'sluice-scheduler',
  });
});

test('loadConfig from env', () => {
  const env = {
    SLUICE_SCHEDULER_GRPC_ADDRESS: '0.0.0.0:9000',
    SLUICE_SCHEDULER_METRICS_PORT: '9093',
    SLUICE_SCHEDULER_SCORE_WEIGHTS: ' spread=5 ',
    SLUICE_SCHEDULER_PLATFORM: 'kubernetes',
    SLUICE_SCHEDULER_SCHEDULER_NAME: 'data-aware',
    SLUICE_SCHEDULER_PLUGIN_ARGS: '{"cost-model": {"fullScaleSecondsPerSecond": 0.5}}',
  };
  assert.deepEqual(loadConfig(rawConfigFromEnv('SCHEDULER', env)), {
    grpcAddress: '0.0.0.0:9000',
    metricsPort: 9093,
    scoreWeights: { spread: 5 },
    pluginArgs: { 'cost-model': { fullScaleSecondsPerSecond: 0.5 } },
    platform: 'kubernetes',
    schedulerName: 'data-aware',
  });
});

test('loadConfig rejects bad values naming the key', () => {
  const rows: Array<{ name: string; input: Record<string, string>; want: RegExp }> = [
    { name: 'unknown plugin', input: { 'score-weights': 'least-allocated=1,locality=3' }, want: /score-weights = .*unknown score plugin "locality", must be one of least-allocated, spread, data-affinity, pm-writer-spread, cost-model$/ },
    { name: 'filter is not a scorer', input: { 'score-weights': 'node-selector=1' }, want: /score-weights = .*unknown score plugin "node-selector"/ },
    { name: 'weight missing', input: { 'score-weights': 'spread' }, want: /score-weights = spread, weight of spread must be an integer in \[1; 100\]/ },
    { name: 'weight zero', input: { 'score-weights': 'spread=0' }, want: /score-weights = spread=0, weight of spread/ },
    { name: 'weight fraction', input: { 'score-weights': 'spread=1.5' }, want: /weight of spread must be an integer/ },
    { name: 'listed twice', input: { 'score-weights': 'spread=1,spread=2' }, want: /spread is listed twice/ },
    { name: 'metrics port', input: { 'metrics-port': '70000' }, want: /metrics-port = 70000, must be an integer in \[0; 65535\]/ },
    { name: 'grpc address', input: { 'grpc-address': 'localhost' }, want: /grpc-address = localhost, must be host:port/ },
    { name: 'platform', input: { platform: 'nomad' }, want: /platform = nomad, must be one of local, kubernetes/ },
    { name: 'unknown key', input: { 'score-weight': 'spread=1' }, want: /unknown config key "score-weight"/ },
    { name: 'plugin args not JSON', input: { 'plugin-args': '{cost-model' }, want: /plugin-args is not JSON/ },
    { name: 'plugin args not an object', input: { 'plugin-args': '[1]' }, want: /plugin-args must be a JSON object of plugin name → arguments object/ },
    { name: 'plugin args of an unknown plugin', input: { 'plugin-args': '{"locality": {}}' }, want: /plugin-args: unknown plugin "locality", must be one of/ },
    { name: 'plugin args not an object per plugin', input: { 'plugin-args': '{"cost-model": 3}' }, want: /plugin-args: the arguments of cost-model must be a JSON object/ },
    { name: 'plugin args the plugin refuses', input: { 'plugin-args': '{"cost-model": {"fullScale": 1}}' }, want: /plugin-args: plugin cost-model: unknown argument "fullScale"/ },
  ];
  for (const row of rows) {
    assert.throws(() => loadConfig(row.input), row.want, row.name);
  }
});
