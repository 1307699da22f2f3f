// Tests of per-function scaling config: spec merged over defaults, containerConcurrency → target (Knative rules).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultConfig, type AutoscalerConfig } from './config.js';
import { resolveScalingConfig, type ScalingConfig } from './scaling-config.js';
import { parseFunctionDefinition, type ScalingSpec } from '../lib/function-spec.js';

function fn(scaling: ScalingSpec | undefined, containerConcurrency?: number) {
  return parseFunctionDefinition(
    {
      apiVersion: 'sluice.dev/v1alpha1',
      kind: 'Function',
      metadata: { name: 'echo' },
      spec: { container: { command: ['node', 'echo.js'] }, ...(containerConcurrency === undefined ? {} : { containerConcurrency }), ...(scaling ? { scaling } : {}) },
    },
    'test',
  );
}

interface Row {
  name: string;
  scaling?: ScalingSpec;
  containerConcurrency?: number;
  defaults?: Partial<AutoscalerConfig>;
  want: Partial<ScalingConfig>;
}

const rows: Row[] = [
  {
    name: 'no spec: Knative defaults',
    want: {
      stableWindowMs: 60_000,
      panicWindowMs: 6_000,
      panicThresholdPercentage: 200,
      totalValue: 100,
      targetValue: 70,
      maxScaleUpRate: 1000,
      maxScaleDownRate: 2,
      scaleToZeroGracePeriodMs: 30_000,
      scaleDownDelayMs: 0,
      targetBurstCapacity: 211,
      initialScale: 1,
      minScale: 0,
      maxScale: 0,
      enableScaleToZero: true,
    },
  },
  { name: 'containerConcurrency is the target', containerConcurrency: 10, want: { totalValue: 10, targetValue: 7 } },
  { name: 'explicit target wins without containerConcurrency', scaling: { target: 50 }, want: { totalValue: 50, targetValue: 35 } },
  { name: 'explicit target never exceeds containerConcurrency', scaling: { target: 50 }, containerConcurrency: 10, want: { totalValue: 10, targetValue: 7 } },
  { name: 'explicit target below containerConcurrency', scaling: { target: 4 }, containerConcurrency: 10, want: { totalValue: 4, targetValue: 2.8 } },
  { name: 'utilisation override', scaling: { targetUtilizationPercentage: 100 }, containerConcurrency: 1, want: { totalValue: 1, targetValue: 1 } },
  { name: 'target has a floor of 0.01', scaling: { target: 0.001, targetUtilizationPercentage: 1 }, want: { targetValue: 0.01 } },
  {
    name: 'durations are parsed to milliseconds',
    scaling: { stableWindow: '6s', panicWindowPercentage: 50, scaleToZeroGracePeriod: '1m30s', scaleDownDelay: '500ms' },
    want: { stableWindowMs: 6_000, panicWindowMs: 3_000, scaleToZeroGracePeriodMs: 90_000, scaleDownDelayMs: 500 },
  },
  { name: 'panic window is at least one second', scaling: { stableWindow: '6s', panicWindowPercentage: 1 }, want: { panicWindowMs: 1_000 } },
  {
    name: 'scale fields override the defaults',
    scaling: { minScale: 2, maxScale: 5, initialScale: 3, maxScaleUpRate: 10, maxScaleDownRate: 4, panicThresholdPercentage: 300, targetBurstCapacity: -1 },
    want: { minScale: 2, maxScale: 5, initialScale: 3, maxScaleUpRate: 10, maxScaleDownRate: 4, panicThresholdPercentage: 300, targetBurstCapacity: -1 },
  },
  { name: 'initial scale 0 is kept when allowed', scaling: { initialScale: 0 }, want: { initialScale: 0 } },
  { name: 'initial scale 0 becomes 1 when not allowed', scaling: { initialScale: 0 }, defaults: { allowZeroInitialScale: false }, want: { initialScale: 1 } },
  { name: 'default min scale above a spec max scale is capped', scaling: { maxScale: 2 }, defaults: { minScale: 3 }, want: { minScale: 2, maxScale: 2 } },
  { name: 'scale to zero disabled globally', defaults: { enableScaleToZero: false }, want: { enableScaleToZero: false } },
  { name: 'global defaults flow through', defaults: { containerConcurrencyTargetDefault: 10, containerConcurrencyTargetPercentage: 50 }, want: { totalValue: 10, targetValue: 5 } },
];

for (const row of rows) {
  test(`resolveScalingConfig: ${row.name}`, () => {
    const resolved = resolveScalingConfig(fn(row.scaling, row.containerConcurrency), { ...defaultConfig(), ...row.defaults });
    const got = Object.fromEntries(Object.keys(row.want).map((k) => [k, resolved[k as keyof ScalingConfig]]));
    assert.deepEqual(got, row.want, `want ${JSON.stringify(row.want)}\ngot  ${JSON.stringify(got)}`);
  });
}
