// TEST INFRASTRUCTURE (virtual kubelet). Probe results with kubelet's thresholds (a port of pkg/kubelet/prober/worker.go's doProbe).
//
// - Before any probe: readiness = failure (not ready), liveness = success, startup = unknown (not started).
// - A result changes the probe's state only after `successThreshold` (default 1) consecutive successes or
//   `failureThreshold` (default 3) consecutive failures.
// - Liveness and readiness probes run only once the container has started (startup probe succeeded, or no
//   startup probe); the startup probe stops once it has succeeded.
// - When liveness reaches failure, or startup reaches a result, the probe is put on hold until the next
//   container (restart); liveness failure and startup failure make the runtime kill the container.
// - Probes wait `initialDelaySeconds` after the container started and then run every `periodSeconds` (default 10)
//   with a `timeoutSeconds` (default 1) timeout. kubelet's first probe lands on its ticker (up to one period after
//   the start); here it runs right at the initial delay, a little sooner.
import type { Probe } from './types.js';

export type ProbeKind = 'liveness' | 'readiness' | 'startup';
export type ProbeResult = 'success' | 'failure' | 'unknown';

export interface ProbeTiming {
  initialDelayMs: number;
  periodMs: number;
  timeoutMs: number;
  successThreshold: number;
  failureThreshold: number;
}

/** The API's defaults for unset fields (zero counts as unset, as defaulting turns 0 into the default). */
export function probeTiming(probe: Probe): ProbeTiming {
  const pos = (v: number | undefined, fallback: number): number => (v !== undefined && v > 0 ? v : fallback);
  return {
    initialDelayMs: (probe.initialDelaySeconds ?? 0) * 1000,
    periodMs: pos(probe.periodSeconds, 10) * 1000,
    timeoutMs: pos(probe.timeoutSeconds, 1) * 1000,
    successThreshold: pos(probe.successThreshold, 1),
    failureThreshold: pos(probe.failureThreshold, 3),
  };
}

export interface ProbeState {
  /** The result the rest of the kubelet sees. */
  result: ProbeResult;
  /** The last raw outcome and how many times in a row it came. */
  lastOutcome?: ProbeResult;
  run: number;
  /** No more probing until the container is replaced. */
  onHold: boolean;
}

export function initialProbeState(kind: ProbeKind): ProbeState {
  return { result: kind === 'readiness' ? 'failure' : kind === 'liveness' ? 'success' : 'unknown', run: 0, onHold: false };
}

/** The state after one probe's outcome (`unknown` = the probe could not run, e.g. a bad port name: ignored). */
export function observeProbe(state: ProbeState, kind: ProbeKind, outcome: ProbeResult, timing: ProbeTiming): ProbeState {
  if (state.onHold || outcome === 'unknown') return state;
  const run = state.lastOutcome === outcome ? state.run + 1 : 1;
  const threshold = outcome === 'failure' ? timing.failureThreshold : timing.successThreshold;
  if (run < threshold) return { ...state, lastOutcome: outcome, run };
  if ((kind === 'liveness' && outcome === 'failure') || kind === 'startup') return { result: outcome, lastOutcome: outcome, run: 0, onHold: true };
  return { result: outcome, lastOutcome: outcome, run, onHold: false };
}

/** Whether a probe of this kind runs now, given whether the container has started (kubelet's gating). */
export function probeApplies(kind: ProbeKind, started: boolean): boolean {
  return kind === 'startup' ? !started : started;
}
