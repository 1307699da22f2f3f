// The e2e control plane is a real one: the apiserver serves, the controller-manager reconciles, the scheduler schedules.
// Named *.e2e.ts so `npm test` (which runs *.test.js) leaves it to `npm run e2e`.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { API_ADDRESS, K8S_VERSION, startControlPlane, type ControlPlane } from './control-plane.js';
import { until } from '../../lib/testing/until.js';

let cp: ControlPlane;

before(async () => {
  const started = Date.now();
  cp = await startControlPlane({ port: 0 }); // a free port: a developer's run.js may hold 6443
  console.log(`control plane up in ${Date.now() - started} ms at ${cp.server}`);
});

after(async () => {
  await cp?.stop();
});

/** A test that prints the components' logs when it fails: the reason is usually in them. */
function e2e(name: string, fn: () => Promise<void>): void {
  test(name, async () => {
    try {
      await fn();
    } catch (err) {
      console.error(cp?.dumpLogs(40));
      throw err;
    }
  });
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- kubectl's JSON, checked field by field
type Json = any;

async function getJson<T = Json>(...args: string[]): Promise<T> {
  return JSON.parse(await cp.kubectl(...args, '-o', 'json')) as T;
}

e2e('the apiserver is ready and reports the pinned version', async () => {
  assert.equal((await cp.kubectl('get', '--raw', '/readyz')).trim(), 'ok');
  const version = await getJson<{ serverVersion: { gitVersion: string }; clientVersion: { gitVersion: string } }>('version');
  assert.equal(version.serverVersion.gitVersion, K8S_VERSION);
  assert.equal(version.clientVersion.gitVersion, K8S_VERSION);
});

e2e('a namespace is created and deleted (the namespace controller finalizes it)', async () => {
  await cp.kubectl('create', 'namespace', 'e2e-roundtrip');
  assert.equal((await getJson('get', 'namespace', 'e2e-roundtrip')).status.phase, 'Active');
  await cp.kubectl('delete', 'namespace', 'e2e-roundtrip', '--wait=true', '--timeout=60s');
  const left = await cp.kubectl('get', 'namespace', 'e2e-roundtrip', '--ignore-not-found');
  assert.equal(left.trim(), '');
});

e2e('a Deployment gets a ReplicaSet and a Pod that stays Pending, unschedulable without nodes', async () => {
  await cp.kubectl('create', 'namespace', 'e2e-deploy');
  await cp.kubectl('create', 'deployment', 'web', '--image=sluice/example-hello:0.1.0', '--namespace=e2e-deploy');
  const rs = await until('a ReplicaSet for web', 30_000, async () => {
    const items = (await getJson('get', 'replicasets', '--namespace=e2e-deploy', '--selector=app=web')).items;
    return items.length > 0 ? items : undefined;
  });
  assert.equal(rs.length, 1);
  assert.equal(rs[0].metadata.ownerReferences[0].name, 'web');
  // The scheduler has looked at the pod and found no node for it.
  const pod = await until('an unschedulable Pod for web', 30_000, async () => {
    const [p] = (await getJson('get', 'pods', '--namespace=e2e-deploy', '--selector=app=web')).items;
    const scheduled = p?.status?.conditions?.find((c: { type: string }) => c.type === 'PodScheduled');
    return scheduled?.status === 'False' ? p : undefined;
  });
  assert.equal(pod.metadata.ownerReferences[0].name, rs[0].metadata.name);
  assert.equal(pod.status.phase, 'Pending');
  assert.equal(pod.spec.nodeName, undefined);
  const scheduled = pod.status.conditions.find((c: { type: string }) => c.type === 'PodScheduled');
  assert.equal(scheduled.reason, 'Unschedulable');
  await cp.kubectl('delete', 'namespace', 'e2e-deploy', '--wait=false');
});

e2e('the kubernetes Service is 10.96.0.1 and its EndpointSlice points at the apiserver', async () => {
  assert.equal((await getJson('get', 'service', 'kubernetes', '--namespace=default')).spec.clusterIP, '10.96.0.1');
  const slice = await getJson('get', 'endpointslice', 'kubernetes', '--namespace=default');
  assert.deepEqual(slice.endpoints.flatMap((e: { addresses: string[] }) => e.addresses), [API_ADDRESS]);
  assert.equal(slice.ports[0].port, Number(new URL(cp.server).port));
});

e2e('kubeconfigFor() issues a working identity (a node, as the Node authorizer sees it)', async () => {
  const kubeconfig = await cp.kubeconfigFor('node-1', 'system:node:node-1', ['system:nodes']);
  const review = JSON.parse(await cp.kubectl(`--kubeconfig=${kubeconfig}`, 'auth', 'whoami', '-o', 'json'));
  assert.equal(review.status.userInfo.username, 'system:node:node-1');
  assert.ok(review.status.userInfo.groups.includes('system:nodes'));
});
