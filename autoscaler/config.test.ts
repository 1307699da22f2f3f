// Tests of the autoscaler config: Knative defaults, env parsing, errors that name the key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rawConfigFromEnv } from '../lib/config.js';
import { defaultConfig, loadConfig } from './config.js';

test('defaults are Knative KPA defaults (allow-zero-initial-scale deliberately true)', () => {
  assert.deepEqual(defaultConfig(), {
    stableWindowMs: 60_000,
    panicWindowPercentage: 10,
    panicThresholdPercentage: 200,
    containerConcurrencyTargetDefault: 100,
    containerConcurrencyTargetPercentage: 70,
    maxScaleUpRate: 1000,
    maxScaleDownRate: 2,
    scaleToZeroGracePeriodMs: 30_000,
    scaleDownDelayMs: 0,
    targetBurstCapacity: 211,
    initialScale: 1,
    allowZeroInitialScale: true,
    minScale: 0,
    maxScale: 0,
    enableScaleToZero: true,
    tickIntervalMs: 2_000,
    grpcAddress: '127.0.0.1:8090',
    platform: 'local',
    platformAddress: '127.0.0.1:8092',
    metricsPort: 9092,
    metricsHost: '127.0.0.1',
  });
  assert.deepEqual(loadConfig({}), defaultConfig());
});

test('env keys map to config fields', () => {
  const raw = rawConfigFromEnv('AUTOSCALER', {
    SLUICE_AUTOSCALER_STABLE_WINDOW: '6s',
    SLUICE_AUTOSCALER_PANIC_THRESHOLD_PERCENTAGE: '150',
    SLUICE_AUTOSCALER_TARGET_BURST_CAPACITY: '-1',
    SLUICE_AUTOSCALER_ENABLE_SCALE_TO_ZERO: 'false',
    SLUICE_AUTOSCALER_GRPC_ADDRESS: '127.0.0.1:0',
    SLUICE_AUTOSCALER_METRICS_PORT: '0',
    SLUICE_AUTOSCALER_TICK_INTERVAL: '500ms',
  });
  const config = loadConfig(raw);
  assert.equal(config.stableWindowMs, 6_000);
  assert.equal(config.panicThresholdPercentage, 150);
  assert.equal(config.targetBurstCapacity, -1);
  assert.equal(config.enableScaleToZero, false);
  assert.equal(config.grpcAddress, '127.0.0.1:0');
  assert.equal(config.metricsPort, 0);
  assert.equal(config.tickIntervalMs, 500);
});

const bad: Array<{ name: string; raw: Record<string, string>; want: RegExp }> = [
  { name: 'stable window too short', raw: { 'stable-window': '5s' }, want: /stable-window = 5s, must be a duration in \[6s; 1h\]/ },
  { name: 'panic window percentage', raw: { 'panic-window-percentage': '0' }, want: /panic-window-percentage = 0/ },
  { name: 'panic threshold below 110', raw: { 'panic-threshold-percentage': '100' }, want: /panic-threshold-percentage = 100, .*\[110; 1000\]/ },
  { name: 'scale-up rate of 1', raw: { 'max-scale-up-rate': '1' }, want: /max-scale-up-rate = 1/ },
  { name: 'scale-down rate not a number', raw: { 'max-scale-down-rate': 'fast' }, want: /max-scale-down-rate = fast/ },
  { name: 'burst capacity between -1 and 0', raw: { 'target-burst-capacity': '-0.5' }, want: /target-burst-capacity = -0.5/ },
  { name: 'initial scale 0 not allowed', raw: { 'initial-scale': '0', 'allow-zero-initial-scale': 'false' }, want: /initial-scale = 0/ },
  { name: 'min above max', raw: { 'min-scale': '3', 'max-scale': '2' }, want: /min-scale = 3/ },
  { name: 'grace period not a duration', raw: { 'scale-to-zero-grace-period': 'soon' }, want: /scale-to-zero-grace-period = soon/ },
  { name: 'unknown key', raw: { 'stable-windw': '6s' }, want: /unknown config key "stable-windw"/ },
];

for (const row of bad) {
  test(`loadConfig rejects: ${row.name}`, () => {
    assert.throws(() => loadConfig(row.raw), row.want);
  });
}
