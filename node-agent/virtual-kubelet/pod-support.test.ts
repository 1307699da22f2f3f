import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isServiceAccountTokenVolume, unsupportedReason } from './pod-support.js';
import type { Pod, PodSpec } from './types.js';

const TOKEN_VOLUME = {
  name: 'kube-api-access-x7k2q',
  projected: { sources: [{ serviceAccountToken: { expirationSeconds: 3607, path: 'token' } }, { configMap: { name: 'kube-root-ca.crt' } }, { downwardAPI: {} }] },
};

function pod(spec: Partial<PodSpec>): Pod {
  return { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'sluice/activator' }], ...spec } };
}

test('unsupportedReason: what a process-based kubelet refuses', () => {
  const rows: Array<{ name: string; pod: Pod; want: RegExp | undefined }> = [
    { name: 'plain pod', pod: pod({}), want: undefined },
    { name: 'the auto-added token volume', pod: pod({ volumes: [TOKEN_VOLUME] }), want: undefined },
    { name: 'emptyDir', pod: pod({ volumes: [{ name: 'scratch', emptyDir: {} }] }), want: /volume "scratch" \(emptyDir\) is not supported/ },
    { name: 'a projected volume with another name', pod: pod({ volumes: [{ ...TOKEN_VOLUME, name: 'my-token' }] }), want: /volume "my-token" \(projected\)/ },
    { name: 'configMap volume', pod: pod({ volumes: [{ name: 'cfg', configMap: { name: 'x' } }] }), want: /volume "cfg" \(configMap\)/ },
    {
      name: 'grpc probe',
      pod: pod({ containers: [{ name: 'c', readinessProbe: { grpc: { port: 9000 } } }] }),
      want: /container "c" readinessProbe uses a grpc action/,
    },
    { name: 'sidecar init container', pod: pod({ initContainers: [{ name: 'side', restartPolicy: 'Always' }] }), want: /init container "side" is a sidecar/ },
    { name: 'container restart policy', pod: pod({ containers: [{ name: 'c', restartPolicy: 'Never' }] }), want: /container "c" sets a container-level restartPolicy/ },
    { name: 'regular init container', pod: pod({ initContainers: [{ name: 'init' }] }), want: undefined },
  ];
  for (const row of rows) {
    const got = unsupportedReason(row.pod);
    if (row.want === undefined) assert.equal(got, undefined, row.name);
    else assert.match(got ?? '', row.want, row.name);
  }
  const both = unsupportedReason(pod({ volumes: [{ name: 'a', emptyDir: {} }, { name: 'b', hostPath: { path: '/' } }] }));
  assert.match(both ?? '', /^virtual kubelet \(test infrastructure, containers are local processes\) cannot run this pod: volume "a".*; volume "b" \(hostPath\)/);
});

test('isServiceAccountTokenVolume', () => {
  assert.equal(isServiceAccountTokenVolume(TOKEN_VOLUME), true);
  assert.equal(isServiceAccountTokenVolume({ name: 'kube-api-access-1', secret: { secretName: 'x' } }), false);
  assert.equal(isServiceAccountTokenVolume({ name: 'kube-api-access-1', projected: {}, emptyDir: {} }), false);
});
