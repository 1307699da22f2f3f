import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Container } from '@kubernetes/client-node';
import { parseFunctionDefinition } from '../lib/function-spec.js';
import { childName } from '../lib/kubernetes/function-resource.js';
import { queueProxyEnvName } from '../lib/queue-proxy-launch.js';
import { desiredDeployment, desiredService, functionUrl, XDT_SHM_VOLUME, type DesiredConfig } from './desired.js';

const CONFIG: DesiredConfig = {
  queueProxyImage: 'sluice/queue-proxy:0.1.0',
  imagePullPolicy: 'IfNotPresent',
  autoscalerAddress: '10.96.0.20:8090',
  activatorUrl: 'http://10.96.0.21:80',
  schedulerName: 'sluice-scheduler',
  xdtSecret: '',
  xdtSecretNamespace: 'sluice-system',
  domain: 'sluice.local',
  pmHostPath: '',
  pmPort: 9095,
  nodeAgentPort: 0,
  xdtShmHostPath: '',
  xdtShmUid: 65532,
};

function identity(spec: Record<string, unknown>, name = 'hello') {
  return {
    uid: 'uid-1',
    definition: parseFunctionDefinition({ apiVersion: 'sluice.dev/v1alpha1', kind: 'Function', metadata: { name, namespace: 'team-a' }, spec }, 'test'),
  };
}

function env(container: V1Container): Record<string, string> {
  return Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value ?? `<${e.valueFrom?.fieldRef?.fieldPath ?? e.valueFrom?.secretKeyRef?.name}>`]));
}

/** Every $(VAR) a container's env uses names an entry defined before it (kubelet expands only those). */
function assertReferencesDefinedEarlier(container: V1Container): void {
  const earlier = new Set<string>();
  for (const e of container.env ?? []) {
    for (const [, ref] of (e.value ?? '').matchAll(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g)) assert.ok(earlier.has(ref), `${container.name}: ${e.name} uses $(${ref}) before it is defined`);
    earlier.add(e.name);
  }
}

test('childName keeps short names readable and long ones within the 63-character label limit, distinct', () => {
  const cases: Array<[string, string]> = [
    ['hello', 'hello-sluice'],
    ['a'.repeat(56), `${'a'.repeat(56)}-sluice`],
  ];
  for (const [fn, want] of cases) assert.equal(childName(fn), want);
  const long1 = childName(`${'b'.repeat(60)}x`);
  const long2 = childName(`${'b'.repeat(60)}y`);
  assert.ok(long1.length <= 63 && long2.length <= 63);
  assert.notEqual(long1, long2);
  assert.match(long1, /^[a-z]([-a-z0-9]*[a-z0-9])?$/);
});

test('the Deployment runs the user container and a queue-proxy sidecar, scheduled by Sluice, owned by the Function, without replicas', () => {
  const d = desiredDeployment(identity({ container: { image: 'sluice/example-hello:0.1.0', port: 9000, env: [{ name: 'GREETING', value: 'hi' }] }, containerConcurrency: 4, timeoutSeconds: 20 }), CONFIG);
  assert.equal(d.metadata?.name, 'hello-sluice');
  assert.equal(d.spec?.replicas, undefined, 'the autoscaler owns replicas');
  assert.deepEqual(d.metadata?.ownerReferences, [{ apiVersion: 'sluice.dev/v1alpha1', kind: 'Function', name: 'hello', uid: 'uid-1', controller: true, blockOwnerDeletion: true }]);
  const pod = d.spec!.template.spec!;
  assert.equal(pod.schedulerName, 'sluice-scheduler');
  assert.equal(pod.terminationGracePeriodSeconds, 30);
  assert.deepEqual(d.spec?.selector.matchLabels, { 'sluice.dev/function': 'hello', 'sluice.dev/managed-by': 'sluice-operator' });
  const [user, qp] = pod.containers;
  assert.equal(user.image, 'sluice/example-hello:0.1.0');
  assert.equal(user.command, undefined, 'the image entrypoint runs unless the spec names a command');
  const userEnv = env(user);
  assert.deepEqual(
    [userEnv.POD_IP, userEnv.GREETING, userEnv.PORT, userEnv.HOST, userEnv.SLUICE_FUNCTION, userEnv.SLUICE_INSTANCE, userEnv.SLUICE_ACTIVATOR_URL],
    ['<status.podIP>', 'hi', '9000', '$(POD_IP)', 'hello', '$(POD_NAME)', 'http://10.96.0.21:80'],
  );
  assert.ok(user.env!.findIndex((e) => e.name === 'POD_IP') < user.env!.findIndex((e) => e.name === 'HOST'), 'POD_IP is defined before $(POD_IP) is used');
  assert.equal(qp.image, 'sluice/queue-proxy:0.1.0');
  const qpEnv = env(qp);
  assert.deepEqual(
    [qpEnv.SLUICE_QUEUE_PROXY_USER_PORT, qpEnv.SLUICE_QUEUE_PROXY_CONTAINER_CONCURRENCY, qpEnv.SLUICE_QUEUE_PROXY_TIMEOUT, qpEnv.SLUICE_QUEUE_PROXY_AUTOSCALER_ADDRESS, qpEnv.SLUICE_QUEUE_PROXY_BIND_ADDRESS, qpEnv.SLUICE_QUEUE_PROXY_NODE],
    ['9000', '4', '20s', '10.96.0.20:8090', '$(POD_IP)', '$(NODE_NAME)'],
  );
  assert.equal(qpEnv.SLUICE_QUEUE_PROXY_XDT_KEY, undefined, 'XDT off without a key Secret');
  assert.deepEqual(qp.readinessProbe?.httpGet, { path: '/ready', port: 'admin' });
  assert.equal(qp.securityContext?.runAsNonRoot, true);
  assert.deepEqual(user.resources, { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '128Mi' } });
});

test('a command in the spec replaces the image entrypoint; XDT passes the key from the Secret and the SDK address', () => {
  const d = desiredDeployment(identity({ container: { image: 'x', command: ['node', 'main.js'], args: ['--fast'] } }), { ...CONFIG, xdtSecret: 'sluice-xdt-key' });
  const [user, qp] = d.spec!.template.spec!.containers;
  assert.deepEqual([user.command, user.args], [['node', 'main.js'], ['--fast']]);
  assert.equal(env(user).SLUICE_XDT_ADDRESS, '$(POD_IP):8014');
  assert.equal(env(qp).SLUICE_QUEUE_PROXY_XDT_KEY, '<sluice-xdt-key>');
});

test('the Service selects the function pods and names the queue-proxy ports the activator uses', () => {
  const s = desiredService(identity({ container: { image: 'x' } }));
  assert.equal(s.metadata?.name, 'hello-sluice');
  assert.deepEqual(s.spec?.selector, { 'sluice.dev/function': 'hello', 'sluice.dev/managed-by': 'sluice-operator' });
  assert.deepEqual(s.spec?.ports?.map((p) => [p.name, p.port]), [['http', 8012], ['xdt', 8013], ['metrics', 9091]]);
  assert.equal(s.metadata?.ownerReferences?.[0].uid, 'uid-1');
});

test('functionUrl routes by host through the activator', () => {
  assert.equal(functionUrl(identity({ container: { image: 'x' } }).definition, 'sluice.local'), 'http://hello.team-a.sluice.local');
});

test('PM: with a host path every pod mounts the node directory and reaches its node agent through the host IP', () => {
  const rows: Array<{
    name: string;
    config: Partial<DesiredConfig>;
    user: Record<string, string | undefined>;
    queueProxy: Record<string, string | undefined>;
    volumes: unknown;
    mounts: unknown;
  }> = [
    {
      name: 'PM off (no host path): no volume, no PM env, as before',
      config: {},
      user: { HOST_IP: undefined, SLUICE_PM_DIR: undefined, SLUICE_PM_ADDRESS: undefined },
      queueProxy: { HOST_IP: undefined, SLUICE_QUEUE_PROXY_PM_ADDRESS: undefined },
      volumes: undefined,
      mounts: undefined,
    },
    {
      name: 'the chart default',
      config: { pmHostPath: '/dev/shm/sluice-pm' },
      user: { HOST_IP: '<status.hostIP>', SLUICE_PM_DIR: '/dev/shm/sluice-pm/$(NODE_NAME)', SLUICE_PM_ADDRESS: '$(HOST_IP):9095' },
      queueProxy: { HOST_IP: '<status.hostIP>', SLUICE_QUEUE_PROXY_PM_ADDRESS: '$(HOST_IP):9095' },
      volumes: [{ name: 'sluice-pm', hostPath: { path: '/dev/shm/sluice-pm', type: 'DirectoryOrCreate' } }],
      mounts: [{ name: 'sluice-pm', mountPath: '/dev/shm/sluice-pm' }],
    },
    {
      name: 'a DAX mount with a trailing slash, another port',
      config: { pmHostPath: '/mnt/pmem0/sluice/', pmPort: 9200 },
      user: { HOST_IP: '<status.hostIP>', SLUICE_PM_DIR: '/mnt/pmem0/sluice/$(NODE_NAME)', SLUICE_PM_ADDRESS: '$(HOST_IP):9200' },
      queueProxy: { HOST_IP: '<status.hostIP>', SLUICE_QUEUE_PROXY_PM_ADDRESS: '$(HOST_IP):9200' },
      volumes: [{ name: 'sluice-pm', hostPath: { path: '/mnt/pmem0/sluice/', type: 'DirectoryOrCreate' } }],
      mounts: [{ name: 'sluice-pm', mountPath: '/mnt/pmem0/sluice/' }],
    },
  ];
  for (const row of rows) {
    const d = desiredDeployment(identity({ container: { image: 'sluice/example-pm:0.1.0', env: [{ name: 'GREETING', value: 'hi' }] } }, 'pm'), { ...CONFIG, ...row.config });
    const pod = d.spec!.template.spec!;
    const [user, qp] = pod.containers;
    const pick = (c: V1Container, want: Record<string, unknown>) => Object.fromEntries(Object.keys(want).map((n) => [n, env(c)[n]]));
    assert.deepEqual(pick(user, row.user), row.user, `${row.name}: user container env`);
    assert.deepEqual(pick(qp, row.queueProxy), row.queueProxy, `${row.name}: queue-proxy env`);
    assert.deepEqual(pod.volumes, row.volumes, `${row.name}: volumes`);
    assert.deepEqual(user.volumeMounts, row.mounts, `${row.name}: user container mounts`);
    assert.equal(qp.volumeMounts, undefined, `${row.name}: the queue-proxy talks gRPC only, it mounts nothing`);
    assertReferencesDefinedEarlier(user);
    assertReferencesDefinedEarlier(qp);
    assert.equal(env(user).GREETING, 'hi', `${row.name}: the spec's env stays`);
  }
});

test("XDT flow profile: with the node agent's port exposed the queue-proxy reports its pulls to its node's agent at the host IP", () => {
  const rows: Array<{ name: string; config: Partial<DesiredConfig>; user: Record<string, string | undefined>; queueProxy: Record<string, string | undefined> }> = [
    {
      name: 'port not exposed: no reports, no HOST_IP',
      config: { xdtSecret: 'sluice-xdt-key' },
      user: { HOST_IP: undefined },
      queueProxy: { HOST_IP: undefined, SLUICE_QUEUE_PROXY_NODE_AGENT_ADDRESS: undefined, SLUICE_QUEUE_PROXY_PM_ADDRESS: undefined },
    },
    {
      name: 'the chart default (PM and flows on): both addresses name the same agent',
      config: { xdtSecret: 'sluice-xdt-key', pmHostPath: '/dev/shm/sluice-pm', nodeAgentPort: 9095 },
      user: { HOST_IP: '<status.hostIP>', SLUICE_PM_ADDRESS: '$(HOST_IP):9095' },
      queueProxy: { HOST_IP: '<status.hostIP>', SLUICE_QUEUE_PROXY_NODE_AGENT_ADDRESS: '$(HOST_IP):9095', SLUICE_QUEUE_PROXY_PM_ADDRESS: '$(HOST_IP):9095' },
    },
    {
      name: 'flows without PM (pm.enabled=false, flows.enabled=true): reports only, the user container is as without PM',
      config: { xdtSecret: 'sluice-xdt-key', nodeAgentPort: 9200 },
      user: { HOST_IP: '<status.hostIP>', SLUICE_PM_DIR: undefined, SLUICE_PM_ADDRESS: undefined },
      queueProxy: { HOST_IP: '<status.hostIP>', SLUICE_QUEUE_PROXY_NODE_AGENT_ADDRESS: '$(HOST_IP):9200', SLUICE_QUEUE_PROXY_PM_ADDRESS: undefined },
    },
  ];
  for (const row of rows) {
    const d = desiredDeployment(identity({ container: { image: 'sluice/example-xdt:0.1.0' } }, 'xdt-consumer'), { ...CONFIG, ...row.config });
    const pod = d.spec!.template.spec!;
    const [user, qp] = pod.containers;
    const pick = (c: V1Container, want: Record<string, unknown>) => Object.fromEntries(Object.keys(want).map((n) => [n, env(c)[n]]));
    assert.deepEqual(pick(user, row.user), row.user, `${row.name}: user container env`);
    assert.deepEqual(pick(qp, row.queueProxy), row.queueProxy, `${row.name}: queue-proxy env`);
    assertReferencesDefinedEarlier(user);
    assertReferencesDefinedEarlier(qp);
    // Flow reports alone need no volume: only PM mounts the host directory.
    assert.equal(pod.volumes === undefined, row.config.pmHostPath === undefined, `${row.name}: volumes`);
  }
  // The key is the queue-proxy's own (queue-proxy/config.ts node-agent-address), spelled as the local node agent spells it.
  const qp = desiredDeployment(identity({ container: { image: 'x' } }), { ...CONFIG, nodeAgentPort: 9095 }).spec!.template.spec!.containers[1];
  assert.ok(qp.env!.some((e) => e.name === queueProxyEnvName('node-agent-address') && e.value === '$(HOST_IP):9095'));
});

test('XDT same-node fast path: the queue-proxy sidecar alone mounts the node segment directory and gets xdt-shm-dir <hostPath>/$(NODE_NAME)', () => {
  const SHM_VOLUME = { name: XDT_SHM_VOLUME, hostPath: { path: '/dev/shm/sluice-xdt-k8s', type: 'DirectoryOrCreate' } };
  const SHM_MOUNT = { name: XDT_SHM_VOLUME, mountPath: '/dev/shm/sluice-xdt-k8s' };
  const PM_VOLUME = { name: 'sluice-pm', hostPath: { path: '/dev/shm/sluice-pm', type: 'DirectoryOrCreate' } };
  const PM_MOUNT = { name: 'sluice-pm', mountPath: '/dev/shm/sluice-pm' };
  const rows: Array<{ name: string; config: Partial<DesiredConfig>; dir: string | undefined; uid: number | undefined; volumes: unknown; userMounts: unknown; qpMounts: unknown }> = [
    { name: 'off ("" host path)', config: { xdtSecret: 'sluice-xdt-key' }, dir: undefined, uid: undefined, volumes: undefined, userMounts: undefined, qpMounts: undefined },
    {
      name: 'XDT off (no key Secret): no data plane, so no directory either',
      config: { xdtShmHostPath: '/dev/shm/sluice-xdt-k8s' },
      dir: undefined,
      uid: undefined,
      volumes: undefined,
      userMounts: undefined,
      qpMounts: undefined,
    },
    {
      name: 'on, PM off',
      config: { xdtSecret: 'sluice-xdt-key', xdtShmHostPath: '/dev/shm/sluice-xdt-k8s' },
      dir: '/dev/shm/sluice-xdt-k8s/$(NODE_NAME)',
      uid: 65532,
      volumes: [SHM_VOLUME],
      userMounts: undefined,
      qpMounts: [SHM_MOUNT],
    },
    {
      name: 'the chart default (PM, flows and the fast path on; a trailing slash; the agent running as another uid)',
      config: { xdtSecret: 'sluice-xdt-key', pmHostPath: '/dev/shm/sluice-pm', nodeAgentPort: 9095, xdtShmHostPath: '/dev/shm/sluice-xdt-k8s/', xdtShmUid: 1000 },
      dir: '/dev/shm/sluice-xdt-k8s/$(NODE_NAME)',
      uid: 1000,
      volumes: [PM_VOLUME, { ...SHM_VOLUME, hostPath: { ...SHM_VOLUME.hostPath, path: '/dev/shm/sluice-xdt-k8s/' } }],
      userMounts: [PM_MOUNT],
      qpMounts: [{ ...SHM_MOUNT, mountPath: '/dev/shm/sluice-xdt-k8s/' }],
    },
  ];
  for (const row of rows) {
    const d = desiredDeployment(identity({ container: { image: 'sluice/example-xdt:0.1.0' } }, 'xdt-consumer'), { ...CONFIG, ...row.config });
    const pod = d.spec!.template.spec!;
    const [user, qp] = pod.containers;
    assert.equal(env(qp).SLUICE_QUEUE_PROXY_XDT_SHM_DIR, row.dir, `${row.name}: queue-proxy xdt-shm-dir`);
    assert.ok(!Object.keys(env(user)).some((n) => n.includes('SHM')), `${row.name}: the user container is told nothing`);
    assert.deepEqual(pod.volumes, row.volumes, `${row.name}: volumes`);
    assert.deepEqual(user.volumeMounts, row.userMounts, `${row.name}: user code never sees the segments`);
    assert.deepEqual(qp.volumeMounts, row.qpMounts, `${row.name}: queue-proxy mounts`);
    // The directory is the agent's, 0700: the sidecar runs as its uid, and is as restricted as ever otherwise.
    assert.equal(qp.securityContext?.runAsUser, row.uid, `${row.name}: queue-proxy uid`);
    assert.deepEqual([qp.securityContext?.runAsNonRoot, qp.securityContext?.allowPrivilegeEscalation, qp.securityContext?.capabilities], [true, false, { drop: ['ALL'] }]);
    assert.equal(user.securityContext, undefined, `${row.name}: the user container's security is the image's`);
    assertReferencesDefinedEarlier(qp);
    // Every mount names a volume of the pod, at the volume's own path (what the virtual kubelet requires, too).
    for (const c of pod.containers) {
      for (const m of c.volumeMounts ?? []) assert.equal(pod.volumes?.find((v) => v.name === m.name)?.hostPath?.path, m.mountPath, `${row.name}: ${c.name} mount ${m.name}`);
    }
  }
});
