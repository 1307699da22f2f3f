// End-to-end test of the virtual kubelet (TEST INFRASTRUCTURE) against a real control plane: etcd, kube-apiserver,
// kube-controller-manager and kube-scheduler v1.36.3 as local processes, two virtual nodes as the kubelets.
// Named *.e2e.ts so `npm test` (which runs *.test.js) leaves it to `npm run e2e`. Needs root and the binaries
// (e2e/control-plane/build-tools.sh).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChildProcess } from 'node:child_process';
import { canConnect } from '../../lib/net.js';
import { spawnOwned, tailFile, terminate, isAlive } from '../../lib/process.js';
import { startControlPlane, type ControlPlane } from '../../e2e/control-plane/control-plane.js';
import { REPO_ROOT } from './config.js';
import { until } from '../../lib/testing/until.js';

const MAIN = path.join(REPO_ROOT, 'dist/node-agent/virtual-kubelet/main.js');
const FIXTURE_IMAGE = 'registry.test:5000/sluice/test-env-server:1.0';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- kubectl's JSON, checked field by field
type Json = any;

interface VirtualNode {
  name: string;
  child: ChildProcess;
  logFile: string;
  logDir: string;
  runDir: string;
  exited: Promise<void>;
}

let cp: ControlPlane;
let tmp: string;
let failed = false;
const nodes: VirtualNode[] = [];

/**
 * Pod ranges of this suite's nodes: not the contract's 10.244.N (node-N) defaults, so that a developer's cluster
 * running at the same time (same machine, same network namespace) does not hand out the same pod IPs.
 */
const subnetOf = (index: number): string => `10.244.${200 + index}`;

/** Starts `node dist/node-agent/virtual-kubelet/main.js` as node-<index> and waits for its "virtual kubelet ready" line. */
async function startNode(index: number, serviceProxy: boolean): Promise<VirtualNode> {
  const name = `node-${index}`;
  // The node's own identity (system:node:<name>), so the Node authorizer and NodeRestriction apply as to a kubelet.
  const kubeconfig = await cp.kubeconfigFor(name, `system:node:${name}`, ['system:nodes']);
  const dir = path.join(tmp, name);
  const logFile = path.join(tmp, `${name}.log`);
  const env = {
    PATH: process.env.PATH,
    SLUICE_LOG_LEVEL: 'info',
    SLUICE_VIRTUAL_KUBELET_NAME: name,
    SLUICE_VIRTUAL_KUBELET_INDEX: String(index),
    SLUICE_VIRTUAL_KUBELET_SUBNET: subnetOf(index),
    SLUICE_VIRTUAL_KUBELET_KUBECONFIG: kubeconfig,
    SLUICE_VIRTUAL_KUBELET_CPU: '4',
    SLUICE_VIRTUAL_KUBELET_MEMORY: '8Gi',
    SLUICE_VIRTUAL_KUBELET_LOG_DIR: path.join(dir, 'logs'),
    SLUICE_VIRTUAL_KUBELET_RUN_DIR: path.join(dir, 'run'),
    SLUICE_VIRTUAL_KUBELET_SERVICE_PROXY: String(serviceProxy),
    SLUICE_VIRTUAL_KUBELET_LEASE_RENEW_INTERVAL: '2s',
    SLUICE_VIRTUAL_KUBELET_BACKOFF: '1s',
    SLUICE_VIRTUAL_KUBELET_BACKOFF_MAX: '4s',
    SLUICE_VIRTUAL_KUBELET_IMAGES: JSON.stringify({ 'sluice/test-env-server': ['node', 'node-agent/virtual-kubelet/testdata/env-server.mjs'] }),
  };
  const child = spawnOwned(process.execPath, [MAIN], { env, logFile });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 30_000;
  while (!readFileSync(logFile, 'utf8').includes('"virtual kubelet ready"')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`${name} did not get ready:\n${tailFile(logFile, 30)}`);
    await sleep(100);
  }
  const node = { name, child, logFile, logDir: path.join(dir, 'logs'), runDir: path.join(dir, 'run'), exited };
  nodes.push(node);
  return node;
}

function dumpAll(): string {
  const parts = [cp?.dumpLogs(30) ?? ''];
  for (const n of nodes) {
    parts.push(`----- ${n.name}: ${n.logFile}\n${tailFile(n.logFile, 40)}`);
    for (const f of safeList(n.logDir)) parts.push(`----- ${n.name} container log ${f}\n${tailFile(path.join(n.logDir, f), 20)}`);
  }
  return parts.join('\n');
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** A test that prints every log (control plane, virtual kubelets, containers) when it fails. */
function e2e(name: string, fn: () => Promise<void>): void {
  test(name, async () => {
    try {
      await fn();
    } catch (err) {
      failed = true;
      console.error(dumpAll());
      throw err;
    }
  });
}

async function getJson<T = Json>(...args: string[]): Promise<T> {
  return JSON.parse(await cp.kubectl(...args, '-o', 'json')) as T;
}

async function apply(yaml: string): Promise<void> {
  const file = path.join(tmp, `manifest-${Date.now()}-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, yaml);
  await cp.kubectl('apply', '-f', file);
}

function httpGet(url: string, options: https.RequestOptions = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const transport = url.startsWith('https:') ? https : http;
    const req = transport.get(url, { ...options, agent: false, timeout: 5_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: timeout`)));
    req.on('error', reject);
  });
}

function isReady(pod: Json): boolean {
  return pod.status?.phase === 'Running' && (pod.status.conditions ?? []).some((c: Json) => c.type === 'Ready' && c.status === 'True');
}

function pidOf(pod: Json, container = 'server'): number {
  const id: string = pod.status.containerStatuses.find((c: Json) => c.name === container).containerID;
  assert.match(id, /^process:\/\/\d+$/);
  return Number(id.slice('process://'.length));
}


async function readyWebPods(count: number): Promise<Json[]> {
  return until(`${count} ready web pods`, 90_000, async () => {
    const pods = (await getJson('get', 'pods', '-l', 'app=web')).items.filter((p: Json) => !p.metadata.deletionTimestamp);
    return pods.length === count && pods.every(isReady) ? pods : undefined;
  });
}

const WEB = `
apiVersion: v1
kind: ConfigMap
metadata: { name: web-config }
data: { GREETING: hello, MODE: e2e }
---
apiVersion: v1
kind: Secret
metadata: { name: web-secret }
stringData: { token: s3cret }
---
apiVersion: v1
kind: Service
metadata: { name: web }
spec:
  selector: { app: web }
  ports: [{ name: http, port: 80, targetPort: http }]
`;

const DEPLOYMENT = `
apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  replicas: 2
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web, tier: front } }
    spec:
      terminationGracePeriodSeconds: 5
      topologySpreadConstraints:
        - { maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: DoNotSchedule, labelSelector: { matchLabels: { app: web } } }
      initContainers:
        - { name: init, image: "${FIXTURE_IMAGE}", command: [node, -e, "console.log('init for ' + process.env.POD_NAME)"], env: [{ name: POD_NAME, valueFrom: { fieldRef: { fieldPath: metadata.name } } }] }
      containers:
        - name: server
          image: ${FIXTURE_IMAGE}
          lifecycle: { preStop: { sleep: { seconds: 1 } } }
          ports: [{ name: http, containerPort: 8080 }]
          resources: { requests: { cpu: 100m, memory: 64Mi }, limits: { cpu: 500m } }
          envFrom:
            - { prefix: CFG_, configMapRef: { name: web-config } }
          env:
            - { name: HOST, valueFrom: { fieldRef: { fieldPath: status.podIP } } }
            - { name: PORT, value: "8080" }
            - { name: POD_NAME, valueFrom: { fieldRef: { fieldPath: metadata.name } } }
            - { name: NODE_NAME, valueFrom: { fieldRef: { fieldPath: spec.nodeName } } }
            - { name: TIER, valueFrom: { fieldRef: { fieldPath: "metadata.labels['tier']" } } }
            - { name: CPU_LIMIT_MILLI, valueFrom: { resourceFieldRef: { resource: limits.cpu, divisor: 1m } } }
            - { name: MEMORY_LIMIT, valueFrom: { resourceFieldRef: { resource: limits.memory } } }
            - { name: GREETING, valueFrom: { configMapKeyRef: { name: web-config, key: GREETING } } }
            - { name: TOKEN, valueFrom: { secretKeyRef: { name: web-secret, key: token } } }
            - { name: MISSING_OPTIONAL, valueFrom: { configMapKeyRef: { name: web-config, key: nope, optional: true } } }
            - { name: WEB_ADDRESS, value: "$(WEB_SERVICE_HOST):$(WEB_SERVICE_PORT_HTTP)" }
            - { name: SELF, value: "$(HOST):$(PORT)" }
            - { name: ESCAPED, value: "$$(HOST) $(UNDEFINED_VAR)" }
          readinessProbe: { httpGet: { path: /, port: http }, periodSeconds: 1 }
          livenessProbe: { tcpSocket: { port: http }, periodSeconds: 2 }
`;

before(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'sluice-vk-e2e-'));
  cp = await startControlPlane({ port: 0 });
  // Every cluster's `kubernetes` Service is 10.96.0.1:443 (the contract's service range): two service proxies on
  // one machine cannot both have it, and this suite's would lose.
  if (await canConnect('10.96.0.1', 443, 500)) {
    throw new Error('10.96.0.1:443 is already served on this machine: another test cluster with a service proxy is running; stop it first');
  }
  // kube-proxy's role for the node that runs the service proxy (Services and EndpointSlices of every namespace).
  await cp.kubectl('create', 'clusterrolebinding', 'sluice-e2e-node-1-proxier', '--clusterrole=system:node-proxier', '--user=system:node:node-1');
  await startNode(1, true);
  await startNode(2, false);
});

after(async () => {
  await Promise.all(nodes.map((n) => terminate(n.child, 15_000)));
  await cp?.stop();
  if (failed) console.error(`virtual kubelet logs kept in ${tmp}`);
  else rmSync(tmp, { recursive: true, force: true });
});

e2e('both virtual nodes register and are Ready, with their labels, address, capacity and a renewed Lease', async () => {
  // TaintNodesByCondition admission gives a new node the not-ready taint; the node lifecycle controller lifts it
  // once it sees Ready=True.
  const list = await until('two Ready nodes without the not-ready taint', 30_000, async () => {
    const items = (await getJson('get', 'nodes')).items;
    const ready = items.filter((n: Json) => n.status.conditions.some((c: Json) => c.type === 'Ready' && c.status === 'True') && !(n.spec.taints ?? []).length);
    return ready.length === 2 ? items : undefined;
  });
  for (const [i, node] of [...list].sort((a: Json, b: Json) => a.metadata.name.localeCompare(b.metadata.name)).entries()) {
    const name = `node-${i + 1}`;
    assert.equal(node.metadata.name, name);
    assert.equal(node.metadata.labels['kubernetes.io/hostname'], name);
    assert.equal(node.metadata.labels['sluice.dev/virtual-kubelet'], 'true');
    assert.equal(node.metadata.labels['kubernetes.io/os'], 'linux');
    assert.deepEqual(node.status.addresses.find((a: Json) => a.type === 'InternalIP'), { type: 'InternalIP', address: `${subnetOf(i + 1)}.1` });
    assert.equal(node.spec.podCIDR, `${subnetOf(i + 1)}.0/24`);
    assert.equal(node.status.capacity.cpu, '4');
    assert.equal(node.status.allocatable.memory, '8Gi', 'the API server canonicalises 8388608Ki');
    assert.equal(node.status.capacity.pods, '110');
    assert.equal(node.status.nodeInfo.kubeletVersion, 'v1.36.3');
  }
  const lease = await getJson('get', 'lease', '-n', 'kube-node-lease', 'node-1');
  assert.equal(lease.spec.holderIdentity, 'node-1');
  assert.equal(lease.spec.leaseDurationSeconds, 40);
  assert.equal(lease.metadata.ownerReferences?.[0]?.kind, 'Node');
  // lease-renew-interval is 2 s here (10 s by default).
  await until('the Lease renewed', 10_000, async () => {
    const renewed = await getJson('get', 'lease', '-n', 'kube-node-lease', 'node-1');
    return Date.parse(renewed.spec.renewTime) > Date.parse(lease.spec.renewTime) ? true : undefined;
  });
});

e2e('a Deployment of 2 replicas runs on both nodes, Ready, with distinct pod IPs and an EndpointSlice listing both', async () => {
  await apply(WEB);
  await until('Service web has a cluster IP', 10_000, async () => (await getJson('get', 'service', 'web')).spec.clusterIP || undefined);
  await apply(DEPLOYMENT);
  const pods = await readyWebPods(2);
  const ips = pods.map((p: Json) => p.status.podIP);
  assert.notEqual(ips[0], ips[1]);
  assert.deepEqual(pods.map((p: Json) => p.spec.nodeName).sort(), ['node-1', 'node-2']);
  for (const p of pods) {
    const subnet = subnetOf(Number(p.spec.nodeName.slice('node-'.length)));
    assert.ok(p.status.podIP.startsWith(`${subnet}.`), `${p.status.podIP} in ${subnet}.0/24`);
    assert.deepEqual(p.status.podIPs, [{ ip: p.status.podIP }]);
    assert.equal(p.status.hostIP, `${subnet}.1`);
    assert.ok(p.status.startTime);
    const types = Object.fromEntries(p.status.conditions.map((c: Json) => [c.type, c.status]));
    assert.deepEqual(types, { PodReadyToStartContainers: 'True', Initialized: 'True', ContainersReady: 'True', Ready: 'True', PodScheduled: 'True' });
    const [init] = p.status.initContainerStatuses;
    assert.equal(init.name, 'init');
    assert.equal(init.state.terminated?.reason, 'Completed');
    assert.equal(init.ready, true);
    const [cs] = p.status.containerStatuses;
    assert.equal(cs.name, 'server');
    assert.equal(cs.ready, true);
    assert.equal(cs.started, true);
    assert.equal(cs.restartCount, 0);
    assert.equal(cs.image, FIXTURE_IMAGE);
    assert.ok(cs.state.running?.startedAt);
    assert.ok(isAlive(pidOf(p)));
  }
  const slice = await until('EndpointSlice with both pods ready', 30_000, async () => {
    const [s] = (await getJson('get', 'endpointslices', '-l', 'kubernetes.io/service-name=web')).items;
    const ready = (s?.endpoints ?? []).filter((e: Json) => e.conditions.ready).flatMap((e: Json) => e.addresses);
    return ready.length === 2 ? s : undefined;
  });
  assert.deepEqual(slice.endpoints.flatMap((e: Json) => e.addresses).sort(), [...ips].sort());
  assert.deepEqual(slice.ports, [{ name: 'http', port: 8080, protocol: 'TCP' }]);
  assert.deepEqual(slice.endpoints.map((e: Json) => e.nodeName).sort(), ['node-1', 'node-2']);
});

e2e('the container environment is resolved as kubelet does (downward API, Service variables, $(VAR), ConfigMap, Secret)', async () => {
  const [pod] = await readyWebPods(2);
  const service = await getJson('get', 'service', 'web');
  const { status, body } = await httpGet(`http://${pod.status.podIP}:8080/env`);
  assert.equal(status, 200);
  const { env, cwd } = JSON.parse(body) as { env: Record<string, string>; cwd: string };
  assert.equal(cwd, REPO_ROOT);
  assert.equal(env.HOST, pod.status.podIP);
  assert.equal(env.POD_NAME, pod.metadata.name);
  assert.equal(env.NODE_NAME, pod.spec.nodeName);
  assert.equal(env.HOSTNAME, pod.metadata.name);
  assert.equal(env.TIER, 'front');
  assert.equal(env.CPU_LIMIT_MILLI, '500');
  assert.equal(env.MEMORY_LIMIT, String(8 * 1024 ** 3), 'an unset limit is the node allocatable');
  assert.equal(env.GREETING, 'hello');
  assert.equal(env.CFG_MODE, 'e2e');
  assert.equal(env.TOKEN, 's3cret');
  assert.equal('MISSING_OPTIONAL' in env, false);
  assert.equal(env.WEB_SERVICE_HOST, service.spec.clusterIP);
  assert.equal(env.WEB_SERVICE_PORT, '80');
  assert.equal(env.WEB_SERVICE_PORT_HTTP, '80');
  assert.equal(env.WEB_PORT, `tcp://${service.spec.clusterIP}:80`);
  assert.equal(env.WEB_PORT_80_TCP_ADDR, service.spec.clusterIP);
  assert.equal(env.WEB_ADDRESS, `${service.spec.clusterIP}:80`);
  assert.equal(env.SELF, `${pod.status.podIP}:8080`);
  assert.equal(env.ESCAPED, '$(HOST) $(UNDEFINED_VAR)');
  assert.equal(env.KUBERNETES_SERVICE_HOST, '10.96.0.1');
  assert.equal(env.KUBERNETES_SERVICE_PORT_HTTPS, '443');
  assert.equal(env.SLUICE_VIRTUAL_KUBELET_KUBECONFIG, undefined, "the agent's own settings do not leak into containers");

  // In-cluster credentials: a kubeconfig with a token of the pod's service account, bound to the pod.
  assert.ok(env.KUBECONFIG, 'KUBECONFIG is set');
  const kubeconfig = JSON.parse(readFileSync(env.KUBECONFIG, 'utf8'));
  assert.equal(kubeconfig.contexts[0].context.namespace, 'default');
  const whoami = JSON.parse(await cp.kubectl(`--kubeconfig=${env.KUBECONFIG}`, 'auth', 'whoami', '-o', 'json'));
  assert.equal(whoami.status.userInfo.username, 'system:serviceaccount:default:default');
  assert.deepEqual(whoami.status.userInfo.extra['authentication.kubernetes.io/pod-name'], [pod.metadata.name]);
});

e2e('the service proxy forwards the ClusterIP to both ready endpoints, and 10.96.0.1:443 to the API server', async () => {
  const service = await getJson('get', 'service', 'web');
  const seen = new Set<string>();
  await until('answers from both pods through the ClusterIP', 30_000, async () => {
    const { status, body } = await httpGet(`http://${service.spec.clusterIP}:80/`);
    assert.equal(status, 200);
    seen.add(body.trim());
    return seen.size === 2 ? true : undefined;
  });
  const version = await httpGet('https://10.96.0.1:443/version', { ca: cp.caPem });
  assert.equal(version.status, 200);
  assert.equal(JSON.parse(version.body).gitVersion, 'v1.36.3');
});

e2e('a container that exits is restarted (restartPolicy Always) with its restart count and last state', async () => {
  const [pod] = await readyWebPods(2);
  const oldPid = pidOf(pod);
  await httpGet(`http://${pod.status.podIP}:8080/exit?code=3`);
  const restarted = await until('the container restarted and is Ready again', 30_000, async () => {
    const p = await getJson('get', 'pod', pod.metadata.name);
    const cs = p.status.containerStatuses[0];
    return cs.restartCount === 1 && cs.state.running && isReady(p) ? p : undefined;
  });
  const cs = restarted.status.containerStatuses[0];
  assert.equal(cs.lastState.terminated.exitCode, 3);
  assert.equal(cs.lastState.terminated.reason, 'Error');
  assert.notEqual(pidOf(restarted), oldPid);
  assert.equal(isAlive(oldPid), false);
  assert.equal(restarted.status.podIP, pod.status.podIP, 'a container restart keeps the pod IP');
});

e2e('a deleted pod is stopped, removed for good by its node, and replaced by the ReplicaSet', async () => {
  const [victim] = await readyWebPods(2);
  const pid = pidOf(victim);
  await cp.kubectl('delete', 'pod', victim.metadata.name, '--wait=false');
  await until('the old pod object is gone (the virtual kubelet deleted it after stopping)', 30_000, async () => {
    const names = (await getJson('get', 'pods', '-l', 'app=web')).items.map((p: Json) => p.metadata.name);
    return names.includes(victim.metadata.name) ? undefined : true;
  });
  assert.equal(isAlive(pid), false, 'the old process is gone');
  const pods = await readyWebPods(2);
  assert.ok(!pods.some((p: Json) => p.metadata.uid === victim.metadata.uid));
  const replacement = pods.find((p: Json) => p.spec.nodeName === victim.spec.nodeName);
  assert.ok(replacement, 'the spread constraint puts the replacement on the same node');
  await until('the EndpointSlice lists the replacement, not the deleted pod', 30_000, async () => {
    const [s] = (await getJson('get', 'endpointslices', '-l', 'kubernetes.io/service-name=web')).items;
    const ready = (s?.endpoints ?? []).filter((e: Json) => e.conditions.ready).map((e: Json) => e.targetRef.name).sort();
    return JSON.stringify(ready) === JSON.stringify(pods.map((p: Json) => p.metadata.name).sort()) ? true : undefined;
  });
  const logs = safeList(nodes[0].logDir).concat(safeList(nodes[1].logDir));
  assert.ok(logs.includes(`default_${victim.metadata.name}_server.log`), `container log file for ${victim.metadata.name} in ${logs.join(', ')}`);
});

e2e('an unknown image waits with ErrImagePull; an unsupported volume fails the pod with a clear message', async () => {
  await apply(`
apiVersion: v1
kind: Pod
metadata: { name: unknown-image }
spec:
  nodeSelector: { kubernetes.io/hostname: node-2 }
  containers: [{ name: c, image: docker.io/library/nginx:1.27 }]
---
apiVersion: v1
kind: Pod
metadata: { name: with-volume }
spec:
  restartPolicy: Never
  containers: [{ name: c, image: ${FIXTURE_IMAGE}, volumeMounts: [{ name: scratch, mountPath: /scratch }] }]
  volumes: [{ name: scratch, emptyDir: {} }]
`);
  const waiting = await until('unknown-image waiting', 30_000, async () => {
    const p = await getJson('get', 'pod', 'unknown-image');
    return p.status.containerStatuses?.[0]?.state.waiting?.reason?.match(/ErrImagePull|ImagePullBackOff/) ? p : undefined;
  });
  assert.equal(waiting.status.phase, 'Pending');
  assert.match(waiting.status.containerStatuses[0].state.waiting.message, /no local command for image "docker.io\/library\/nginx:1.27"/);
  const failed = await until('with-volume failed', 30_000, async () => {
    const p = await getJson('get', 'pod', 'with-volume');
    return p.status.phase === 'Failed' ? p : undefined;
  });
  assert.equal(failed.status.reason, 'UnsupportedPodSpec');
  assert.match(failed.status.message, /volume "scratch" \(emptyDir\) is not supported/);
  await cp.kubectl('delete', 'pod', 'unknown-image', 'with-volume', '--wait=true', '--timeout=30s');
});

e2e('a virtual node that stops takes its processes with it and reports NotReady', async () => {
  const pods = await readyWebPods(2);
  const onNode2 = pods.filter((p: Json) => p.spec.nodeName === 'node-2');
  const pids = onNode2.map((p: Json) => pidOf(p));
  assert.ok(pids.length > 0);
  const node2 = nodes.find((n) => n.name === 'node-2')!;
  await terminate(node2.child, 15_000);
  for (const pid of pids) assert.equal(isAlive(pid), false, `process ${pid} of node-2 is gone`);
  const node = await getJson('get', 'node', 'node-2');
  assert.equal(node.status.conditions.find((c: Json) => c.type === 'Ready').status, 'False');
});
