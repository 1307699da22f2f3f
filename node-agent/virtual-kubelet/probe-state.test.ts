import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initialProbeState, observeProbe, probeApplies, probeTiming } from './probe-state.js';
import type { ProbeKind, ProbeResult } from './probe-state.js';

test('probeTiming: API defaults', () => {
  assert.deepEqual(probeTiming({}), { initialDelayMs: 0, periodMs: 10_000, timeoutMs: 1_000, successThreshold: 1, failureThreshold: 3 });
  assert.deepEqual(probeTiming({ initialDelaySeconds: 2, periodSeconds: 1, timeoutSeconds: 3, successThreshold: 2, failureThreshold: 1 }), {
    initialDelayMs: 2_000,
    periodMs: 1_000,
    timeoutMs: 3_000,
    successThreshold: 2,
    failureThreshold: 1,
  });
});

test('observeProbe: thresholds and holds, table (result after each outcome)', () => {
  const timing = { initialDelayMs: 0, periodMs: 1_000, timeoutMs: 1_000, successThreshold: 2, failureThreshold: 3 };
  const rows: Array<{ name: string; kind: ProbeKind; outcomes: ProbeResult[]; results: ProbeResult[]; onHold?: boolean }> = [
    { name: 'readiness starts failed, needs 2 successes', kind: 'readiness', outcomes: ['success', 'success'], results: ['failure', 'success'] },
    { name: 'readiness: 3 failures to go unready', kind: 'readiness', outcomes: ['success', 'success', 'failure', 'failure', 'failure'], results: ['failure', 'success', 'success', 'success', 'failure'] },
    { name: 'an interrupted run starts counting again', kind: 'readiness', outcomes: ['success', 'failure', 'success', 'success'], results: ['failure', 'failure', 'failure', 'success'] },
    { name: 'unknown outcomes are ignored', kind: 'readiness', outcomes: ['success', 'unknown', 'success'], results: ['failure', 'failure', 'success'] },
    { name: 'liveness starts healthy; 3 failures → failure and hold', kind: 'liveness', outcomes: ['failure', 'failure', 'failure', 'success'], results: ['success', 'success', 'failure', 'failure'], onHold: true },
    { name: 'startup starts unknown; success holds it', kind: 'startup', outcomes: ['failure', 'success', 'success', 'failure'], results: ['unknown', 'unknown', 'success', 'success'], onHold: true },
  ];
  for (const row of rows) {
    let state = initialProbeState(row.kind);
    const results: ProbeResult[] = [];
    for (const outcome of row.outcomes) {
      state = observeProbe(state, row.kind, outcome, timing);
      results.push(state.result);
    }
    assert.deepEqual(results, row.results, row.name);
    assert.equal(state.onHold, row.onHold ?? false, `${row.name}: onHold`);
  }
});

test('probeApplies: startup until started, the others after', () => {
  assert.deepEqual(
    (['startup', 'liveness', 'readiness'] as const).map((k) => [probeApplies(k, false), probeApplies(k, true)]),
    [[true, false], [false, true], [false, true]],
  );
});
