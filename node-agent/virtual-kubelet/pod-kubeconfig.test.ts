import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KubeConfig } from '@kubernetes/client-node';
import { podKubeconfig, tokenRefreshDelayMs, tokenRequest } from './pod-kubeconfig.js';

test('podKubeconfig: client-node loads it as the pod service account, in the pod namespace', () => {
  const text = podKubeconfig({ server: 'https://10.244.0.1:6443', caData: Buffer.from('PEM').toString('base64'), token: 'tok', namespace: 'sluice', serviceAccount: 'operator' });
  const kc = new KubeConfig();
  kc.loadFromString(text);
  assert.equal(kc.getCurrentCluster()?.server, 'https://10.244.0.1:6443');
  assert.equal(kc.getCurrentCluster()?.caData, Buffer.from('PEM').toString('base64'));
  assert.equal(kc.getCurrentUser()?.token, 'tok');
  assert.equal(kc.getCurrentUser()?.name, 'system:serviceaccount:sluice:operator');
  assert.equal(kc.getContextObject(kc.getCurrentContext())?.namespace, 'sluice');
});

test('tokenRequest: bound to the pod, with the volume source audience and expiry', () => {
  assert.deepEqual(tokenRequest({ name: 'p', uid: 'u' }, { expirationSeconds: 3607 }), {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    spec: { audiences: [], expirationSeconds: 3607, boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: 'p', uid: 'u' } },
  });
  assert.deepEqual((tokenRequest({ name: 'p', uid: 'u' }, { audience: 'vault' }).spec as { audiences: string[] }).audiences, ['vault']);
});

test('tokenRefreshDelayMs: 80 % of the lifetime, at most a day', () => {
  const rows: Array<[number, number, number]> = [
    [0, 3_600_000, 2_880_000],
    [1_000, 1_000, 0],
    [0, 365 * 86_400_000, 86_400_000],
    [5_000, 0, 0],
  ];
  for (const [issued, expires, want] of rows) assert.equal(tokenRefreshDelayMs(issued, expires), want);
});
