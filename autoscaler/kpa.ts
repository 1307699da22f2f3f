// The KPA decision: desired instances, panic mode and excess burst capacity from observed concurrency (Knative's Scale()).
import type { ScalingConfig } from './scaling-config.js';

/*
 * State machine of one function (all times come from `now`; nothing here reads a clock):
 *
 * | state                | condition (evaluated each decision)                                   | next state / effect                                        |
 * |----------------------|-----------------------------------------------------------------------|------------------------------------------------------------|
 * | initial              | stats received and ready ≥ initialScale, or stableWindow since appear | stable/panic; until then desired ≥ max(initialScale, ready) |
 * | stable               | desiredPanic / max(1, ready) ≥ panicThreshold                          | panic (remember the time, maxPanic = desired)              |
 * | stable               | otherwise                                                             | stable, desired = desiredStable                            |
 * | panic                | over the threshold again                                              | panic, time refreshed, maxPanic = max(maxPanic, desired)   |
 * | panic                | below the threshold for a full stable window                          | stable, maxPanic forgotten                                 |
 * | panic                | otherwise                                                             | panic, desired = maxPanic (never scales down)              |
 * | any, desired 0       | previous desired > 0, wanted 0 for less than scaleToZeroGracePeriod   | hold the previous desired                                  |
 * | any, desired 0       | wanted 0 for the whole grace period (or already at 0)                 | desired 0                                                  |
 * | any, no data         | no stat in the panic window and no ready instance                     | no change (Knative's invalid scale result)                 |
 *
 * After the mode: scale-down delay (max of desired over the delay window), then the grace rule
 * above, then [minScale; maxScale] (minScale ≥ 1 when scale to zero is disabled, maxScale 0 = no limit).
 */

export interface KpaInput {
  /** Average concurrency over the stable window, all instances and activators together. */
  stableConcurrency: number;
  /** The same over the panic window. */
  panicConcurrency: number;
  readyInstances: number;
  /** False when there is nothing to decide on (no recent stats and no ready instance). */
  hasData: boolean;
  /** True once any stat arrived for the function; defaults to `hasData`. Ends the initial-scale phase. */
  receivedStats?: boolean;
}

/** One entry of the scale-down delay window: a monotone queue whose head is the window maximum. */
export interface DelayEntry {
  readonly atMs: number;
  readonly instances: number;
}

export interface KpaState {
  readonly appearedAtMs: number;
  /** The initial-scale phase is over. */
  readonly initialized: boolean;
  /** Last time the panic threshold was crossed while panicking; null in stable mode (Knative's panicTime). */
  readonly panicSinceMs: number | null;
  readonly maxPanicInstances: number;
  readonly delayWindow: readonly DelayEntry[];
  /** Since when the function has wanted zero instances without getting them; null otherwise. */
  readonly wantZeroSinceMs: number | null;
  /** The last decision. */
  readonly desiredScale: number;
}

export interface KpaDecision {
  desiredScale: number;
  excessBurstCapacity: number;
  panicMode: boolean;
  state: KpaState;
}

/** The state of a function that appeared at `nowMs`: it wants its initial scale. */
export function initialKpaState(nowMs: number, config: ScalingConfig): KpaState {
  return {
    appearedAtMs: nowMs,
    initialized: false,
    panicSinceMs: null,
    maxPanicInstances: 0,
    delayWindow: [],
    wantZeroSinceMs: null,
    desiredScale: applyScaleBounds(config.initialScale, config),
  };
}

/** Knative's excess burst capacity: spare capacity beyond the observed panic load and the burst reserve. */
export function excessBurstCapacity(readyInstances: number, panicConcurrency: number, config: ScalingConfig): number {
  if (config.targetBurstCapacity === 0) return 0;
  if (config.targetBurstCapacity < 0) return -1;
  return Math.floor(readyInstances * config.totalValue - config.targetBurstCapacity - panicConcurrency);
}

/** [minScale; maxScale], with at least one instance when scale to zero is disabled; maxScale 0 = unlimited. */
export function applyScaleBounds(desired: number, config: ScalingConfig): number {
  const minScale = config.enableScaleToZero ? config.minScale : Math.max(1, config.minScale);
  let bounded = Math.max(desired, minScale);
  if (config.maxScale > 0) bounded = Math.min(bounded, config.maxScale);
  return bounded;
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(Math.max(value, low), high);
}

/** Records `instances` at `nowMs` and drops what left the window; the head is the maximum. */
function recordDelay(window: readonly DelayEntry[], nowMs: number, instances: number, delayMs: number): DelayEntry[] {
  const next = window.filter((e) => nowMs - e.atMs < delayMs);
  while (next.length > 0 && next[next.length - 1].instances <= instances) next.pop();
  next.push({ atMs: nowMs, instances });
  return next;
}

/** Decides the desired scale of one function at `nowMs`. Pure: returns the next state, never mutates `state`. */
export function decide(input: KpaInput, state: KpaState, config: ScalingConfig, nowMs: number): KpaDecision {
  const excess = excessBurstCapacity(input.readyInstances, input.panicConcurrency, config);
  if (!input.hasData) {
    return { desiredScale: state.desiredScale, excessBurstCapacity: excess, panicMode: state.panicSinceMs !== null, state };
  }

  // Zero ready instances count as one so the rates still allow scaling from zero.
  const readyForRates = Math.max(1, input.readyInstances);
  // ceil: a conservative rate must still allow one more instance; floor: the opposite for scale-down.
  const maxScaleUp = Math.ceil(config.maxScaleUpRate * readyForRates);
  const maxScaleDown = Math.floor(readyForRates / config.maxScaleDownRate);

  const unboundedStable = Math.ceil(input.stableConcurrency / config.targetValue);
  const unboundedPanic = Math.ceil(input.panicConcurrency / config.targetValue);
  const desiredStableInstances = clamp(unboundedStable, maxScaleDown, maxScaleUp);
  const desiredPanicInstances = clamp(unboundedPanic, maxScaleDown, maxScaleUp);

  const overPanicThreshold = unboundedPanic / readyForRates >= config.panicThresholdPercentage / 100;
  let panicSinceMs = state.panicSinceMs;
  let maxPanicInstances = state.maxPanicInstances;
  if (overPanicThreshold) {
    panicSinceMs = nowMs;
  } else if (panicSinceMs !== null && panicSinceMs + config.stableWindowMs < nowMs) {
    // The surge has made its way into the stable window: trust it again.
    panicSinceMs = null;
    maxPanicInstances = 0;
  }

  let desired = desiredStableInstances;
  if (panicSinceMs !== null) {
    // Provision for the larger of the two; never scale down while panicking.
    desired = Math.max(desired, desiredPanicInstances, maxPanicInstances);
    maxPanicInstances = desired;
  }

  let delayWindow = state.delayWindow;
  if (config.scaleDownDelayMs > 0) {
    delayWindow = recordDelay(state.delayWindow, nowMs, desired, config.scaleDownDelayMs);
    desired = delayWindow[0].instances;
  }

  const receivedStats = input.receivedStats ?? input.hasData;
  const initialized =
    state.initialized ||
    (receivedStats && input.readyInstances >= config.initialScale) ||
    nowMs - state.appearedAtMs >= config.stableWindowMs;
  if (!initialized) {
    // Do not scale below the initial scale (or below what already runs, after an autoscaler restart) before
    // there is data to judge by.
    desired = Math.max(desired, config.initialScale, input.readyInstances);
  }

  let wantZeroSinceMs: number | null = null;
  const mayScaleToZero = config.enableScaleToZero && config.minScale === 0;
  if (desired === 0 && mayScaleToZero && state.desiredScale > 0) {
    wantZeroSinceMs = state.wantZeroSinceMs ?? nowMs;
    // Keep the instances until the function has wanted zero for the whole grace period.
    if (nowMs - wantZeroSinceMs < config.scaleToZeroGracePeriodMs) desired = state.desiredScale;
  }

  const desiredScale = applyScaleBounds(desired, config);
  return {
    desiredScale,
    excessBurstCapacity: excess,
    panicMode: panicSinceMs !== null,
    state: {
      appearedAtMs: state.appearedAtMs,
      initialized,
      panicSinceMs,
      maxPanicInstances,
      delayWindow,
      wantZeroSinceMs: desiredScale === 0 ? null : wantZeroSinceMs,
      desiredScale,
    },
  };
}
