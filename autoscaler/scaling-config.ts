// Per-function scaling parameters: a Function's spec.scaling merged over the autoscaler defaults, resolved as Knative does.
import { parseDurationMs } from '../lib/config.js';
import type { FunctionDefinition } from '../lib/function-spec.js';
import type { AutoscalerConfig } from './config.js';

/** Knative's floor for the per-instance target, so a tiny utilisation never divides by zero. */
export const TARGET_MIN = 0.01;

/** Everything `decide` and the stat windows need for one function, in milliseconds and plain numbers. */
export interface ScalingConfig {
  stableWindowMs: number;
  /** stableWindowMs × panic-window-percentage / 100. */
  panicWindowMs: number;
  panicThresholdPercentage: number;
  /** Concurrency one instance is expected to take (Knative's "total" value); used for burst capacity. */
  totalValue: number;
  targetUtilizationPercentage: number;
  /** totalValue × utilisation: the concurrency per instance the autoscaler aims for. */
  targetValue: number;
  maxScaleUpRate: number;
  maxScaleDownRate: number;
  scaleToZeroGracePeriodMs: number;
  scaleDownDelayMs: number;
  targetBurstCapacity: number;
  initialScale: number;
  minScale: number;
  /** 0 = unlimited. */
  maxScale: number;
  enableScaleToZero: boolean;
}

function durationOr(value: string | undefined, fallbackMs: number): number {
  if (value === undefined) return fallbackMs;
  return parseDurationMs(value) ?? fallbackMs;
}

/**
 * Resolves the scaling parameters of a function. The Function was validated by
 * lib/function-spec.ts, so field ranges hold; unparsable durations fall back to the defaults.
 */
export function resolveScalingConfig(def: FunctionDefinition | undefined, defaults: AutoscalerConfig): ScalingConfig {
  const scaling = def?.spec.scaling ?? {};
  const containerConcurrency = def?.spec.containerConcurrency ?? 0;

  // Knative's ResolveMetricTarget: containerConcurrency is the target unless a target is given,
  // and an explicit target never exceeds containerConcurrency.
  let totalValue = containerConcurrency > 0 ? containerConcurrency : defaults.containerConcurrencyTargetDefault;
  if (scaling.target !== undefined) {
    totalValue = containerConcurrency > 0 ? Math.min(scaling.target, containerConcurrency) : scaling.target;
  }
  const targetUtilizationPercentage = scaling.targetUtilizationPercentage ?? defaults.containerConcurrencyTargetPercentage;
  const targetValue = Math.max(TARGET_MIN, (totalValue * targetUtilizationPercentage) / 100);

  const stableWindowMs = durationOr(scaling.stableWindow, defaults.stableWindowMs);
  const panicWindowPercentage = scaling.panicWindowPercentage ?? defaults.panicWindowPercentage;
  // The panic window is at least one second: stats arrive in one-second buckets.
  const panicWindowMs = Math.max(1_000, Math.round((stableWindowMs * panicWindowPercentage) / 100));

  let maxScale = scaling.maxScale ?? defaults.maxScale;
  let minScale = scaling.minScale ?? defaults.minScale;
  if (maxScale > 0 && minScale > maxScale) {
    // Only reachable when the default and the spec disagree (the spec alone is validated).
    if (scaling.minScale !== undefined) maxScale = minScale;
    else minScale = maxScale;
  }
  let initialScale = scaling.initialScale ?? defaults.initialScale;
  // Knative rejects initial scale 0 unless allowed; we fall back to 1 rather than refusing the function.
  if (initialScale === 0 && !defaults.allowZeroInitialScale) initialScale = 1;

  return {
    stableWindowMs,
    panicWindowMs,
    panicThresholdPercentage: scaling.panicThresholdPercentage ?? defaults.panicThresholdPercentage,
    totalValue,
    targetUtilizationPercentage,
    targetValue,
    maxScaleUpRate: scaling.maxScaleUpRate ?? defaults.maxScaleUpRate,
    maxScaleDownRate: scaling.maxScaleDownRate ?? defaults.maxScaleDownRate,
    scaleToZeroGracePeriodMs: durationOr(scaling.scaleToZeroGracePeriod, defaults.scaleToZeroGracePeriodMs),
    scaleDownDelayMs: durationOr(scaling.scaleDownDelay, defaults.scaleDownDelayMs),
    targetBurstCapacity: scaling.targetBurstCapacity ?? defaults.targetBurstCapacity,
    initialScale,
    minScale,
    maxScale,
    enableScaleToZero: defaults.enableScaleToZero,
  };
}
