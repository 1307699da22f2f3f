import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Deployment } from '@kubernetes/client-node';
import { functionStatus, statusEqual, type Observation } from './status.js';

const NOW = new Date('2026-12-01T10:00:00.456Z');
const URL = 'http://hello.default.sluice.local';

function deployment(spec: number, status: Partial<NonNullable<V1Deployment['status']>>, generation = 1): Observation {
  return { kind: 'applied', deployment: { metadata: { generation }, spec: { replicas: spec, selector: {}, template: {} }, status: { observedGeneration: 1, ...status } } };
}

test('the Ready condition follows what the operator observed', () => {
  const cases: Array<[string, Observation, string, string]> = [
    ['invalid spec', { kind: 'invalid', message: 'spec.x bad' }, 'False', 'InvalidSpec'],
    ['API failure', { kind: 'failed', message: 'forbidden' }, 'False', 'ReconcileFailed'],
    ['Deployment controller behind', deployment(1, {}, 2), 'Unknown', 'Deploying'],
    ['no ready instance yet', deployment(1, { replicas: 1, readyReplicas: 0 }), 'Unknown', 'Deploying'],
    ['serving', deployment(2, { replicas: 2, readyReplicas: 1 }), 'True', 'Serving'],
    ['scaled to zero stays ready', deployment(0, { replicas: 0 }), 'True', 'ScaledToZero'],
    ['stuck rollout', deployment(1, { conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'too slow' }] }), 'False', 'ProgressDeadlineExceeded'],
    ['quota refused pods', deployment(1, { conditions: [{ type: 'ReplicaFailure', status: 'True', reason: 'FailedCreate', message: 'quota' }] }), 'False', 'FailedCreate'],
  ];
  for (const [name, observation, status, reason] of cases) {
    const ready = functionStatus(undefined, observation, 3, URL, NOW).conditions![0];
    assert.deepEqual([ready.status, ready.reason], [status, reason], name);
    assert.equal(ready.observedGeneration, 3, name);
  }
});

test('replica counts and the URL are reported; times are RFC 3339 to the second', () => {
  const s = functionStatus(undefined, deployment(2, { replicas: 2, readyReplicas: 1 }), 1, URL, NOW);
  assert.deepEqual([s.url, s.replicas, s.readyReplicas, s.observedGeneration], [URL, 2, 1, 1]);
  assert.equal(s.conditions![0].lastTransitionTime, '2026-12-01T10:00:00Z');
});

test('lastTransitionTime moves only when the condition status changes, so a steady function writes nothing', () => {
  const first = functionStatus(undefined, deployment(1, { replicas: 1, readyReplicas: 1 }), 1, URL, NOW);
  const later = new Date('2026-12-01T11:00:00Z');
  const again = functionStatus(first, deployment(1, { replicas: 1, readyReplicas: 1 }), 1, URL, later);
  assert.ok(statusEqual(first, again));
  // As read back from the API server: other key order.
  const stored = JSON.parse(JSON.stringify({ url: first.url, conditions: first.conditions, readyReplicas: 1, replicas: 1, observedGeneration: 1 }));
  assert.ok(statusEqual(stored, again));
  const changed = functionStatus(first, deployment(0, { replicas: 0 }), 1, URL, later);
  assert.equal(changed.conditions![0].lastTransitionTime, first.conditions![0].lastTransitionTime, 'still True');
  const failing = functionStatus(first, { kind: 'failed', message: 'x' }, 1, URL, later);
  assert.equal(failing.conditions![0].lastTransitionTime, '2026-12-01T11:00:00Z');
  assert.ok(!statusEqual(first, failing));
});
