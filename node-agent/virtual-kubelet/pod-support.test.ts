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
    ...hostPathRows(),
    ...hostPortRows(),
  ];
  for (const row of rows) {
    const got = unsupportedReason(row.pod);
    if (row.want === undefined) assert.equal(got, undefined, row.name);
    else assert.match(got ?? '', row.want, row.name);
  }
  const both = unsupportedReason(pod({ volumes: [{ name: 'a', emptyDir: {} }, { name: 'b', secret: { secretName: 's' } }] }));
  assert.match(both ?? '', /^virtual kubelet \(test infrastructure, containers are local processes\) cannot run this pod: volume "a".*; volume "b" \(secret\)/);
});

function hostPathRows(): Array<{ name: string; pod: Pod; want: RegExp | undefined }> {
  const pm = (type?: string) => ({ name: 'pm', hostPath: { path: '/dev/shm/sluice-pm', ...(type === undefined ? {} : { type }) } });
  const mounted = (mount: Record<string, unknown>, type?: string) =>
    pod({ volumes: [pm(type)], containers: [{ name: 'c', volumeMounts: [{ name: 'pm', mountPath: '/dev/shm/sluice-pm', ...mount }] }] });
  return [
    { name: 'hostPath mounted at its own path', pod: mounted({}), want: undefined },
    { name: 'hostPath DirectoryOrCreate, trailing slash', pod: mounted({ mountPath: '/dev/shm/sluice-pm/' }, 'DirectoryOrCreate'), want: undefined },
    { name: 'hostPath Directory, in an init container', pod: pod({ volumes: [pm('Directory')], initContainers: [{ name: 'i', volumeMounts: [{ name: 'pm', mountPath: '/dev/shm/sluice-pm' }] }] }), want: undefined },
    { name: 'hostPath mounted elsewhere', pod: mounted({ mountPath: '/pm' }), want: /hostPath volume "pm" \(\/dev\/shm\/sluice-pm\) in container "c" is mounted at \/pm: .*at its own path/ },
    { name: 'hostPath subPath', pod: mounted({ subPath: 'x' }), want: /in container "c" uses subPath/ },
    { name: 'hostPath readOnly', pod: mounted({ readOnly: true }), want: /in container "c" is readOnly, which a shared filesystem cannot enforce/ },
    { name: 'hostPath File type', pod: mounted({}, 'File'), want: /has type File, which is not supported/ },
    { name: 'hostPath Socket type', pod: mounted({}, 'Socket'), want: /has type Socket/ },
    { name: 'hostPath relative', pod: pod({ volumes: [{ name: 'r', hostPath: { path: 'rel' } }] }), want: /the path must be absolute/ },
  ];
}

function hostPortRows(): Array<{ name: string; pod: Pod; want: RegExp | undefined }> {
  const ports = (p: Record<string, unknown>) => pod({ containers: [{ name: 'c', ports: [{ name: 'grpc', containerPort: 9095, ...p }] }] });
  return [
    { name: 'TCP hostPort', pod: ports({ hostPort: 9095 }), want: undefined },
    { name: 'hostPort on 0.0.0.0', pod: ports({ hostPort: 9095, hostIP: '0.0.0.0', protocol: 'TCP' }), want: undefined },
    { name: 'UDP hostPort', pod: ports({ hostPort: 53, protocol: 'UDP' }), want: /container "c" hostPort 53\/UDP is not supported \(TCP only\)/ },
    { name: 'hostPort on a given host IP', pod: ports({ hostPort: 9095, hostIP: '10.0.0.1' }), want: /hostPort 9095 sets hostIP 10\.0\.0\.1/ },
    { name: 'UDP port without hostPort', pod: ports({ protocol: 'UDP' }), want: undefined },
  ];
}

test('isServiceAccountTokenVolume', () => {
  assert.equal(isServiceAccountTokenVolume(TOKEN_VOLUME), true);
  assert.equal(isServiceAccountTokenVolume({ name: 'kube-api-access-1', secret: { secretName: 'x' } }), false);
  assert.equal(isServiceAccountTokenVolume({ name: 'kube-api-access-1', projected: {}, emptyDir: {} }), false);
});
