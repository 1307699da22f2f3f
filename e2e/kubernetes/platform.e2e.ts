// End to end on Kubernetes: helm install, kubectl apply a Function, Ready, scale from zero through the activator, scale up
// under load and back to zero, an invalid Function refused, an operator restart without duplicates, helm uninstall leaving
// nothing behind. On the local harness (real control plane + virtual kubelets) or on any cluster (SLUICE_E2E_KUBECONFIG).
/* eslint-disable @typescript-eslint/no-explicit-any -- the objects come from `kubectl -o json`, checked field by field */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startE2eCluster, type E2eCluster } from './cluster.js';

const NAMESPACE = 'sluice-system';
const RELEASE = 'sluice';

let cluster: E2eCluster;
let failed = false;

function step(message: string): void {
  console.log(`==> ${message}`);
}

/** Polls `check` every 250 ms until it returns a value (not undefined) or `timeoutMs` passes; throws `what` then. */
async function until<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    await sleep(250);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
}

async function json<T = any>(...args: string[]): Promise<T> {
  return JSON.parse(await cluster.kubectl(...args, '-o', 'json')) as T;
}

async function replicas(fn: string): Promise<number> {
  const d = await json('get', 'deployment', `${fn}-sluice`, '-n', 'default');
  return d.spec.replicas ?? 1;
}

function functionYaml(name: string, example: string, spec = ''): string {
  return [
    'apiVersion: sluice.dev/v1alpha1',
    'kind: Function',
    'metadata:',
    `  name: ${name}`,
    '  namespace: default',
    'spec:',
    '  container:',
    `    image: sluice/example-${example}:0.1.0`,
    '    readinessPath: /healthz',
    spec,
  ].join('\n');
}

/** A request through the activator's Service, by path routing; resolves to status and body. */
async function invoke(fn: string, query = ''): Promise<{ status: number; body: string; ms: number }> {
  const started = performance.now();
  const res = await fetch(`${await cluster.activatorUrl()}/fn/default/${fn}/${query}`, { signal: AbortSignal.timeout(60_000) });
  const body = await res.text();
  return { status: res.status, body, ms: performance.now() - started };
}

before(async () => {
  cluster = await startE2eCluster();
  step(`cluster: ${cluster.description}`);
});

after(async () => {
  if (failed && cluster) console.log(await cluster.dumpState());
  await cluster?.stop();
});

/** node:test has no "a test failed" hook for after(); this records it so the state is dumped once, at the end. */
async function guarded(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    failed = true;
    throw err;
  }
}

test('helm install brings every component up', { timeout: 300_000 }, () =>
  guarded(async () => {
    step('helm install');
    await cluster.helm('install', RELEASE, cluster.chartPath, '-n', NAMESPACE, '--create-namespace', '-f', cluster.valuesFile, '--wait', '--timeout', '240s');
    const deployments = await json('get', 'deployments', '-n', NAMESPACE);
    const ready = deployments.items.map((d: any) => `${d.metadata.name}=${d.status.readyReplicas ?? 0}/${d.spec.replicas}`).sort();
    step(`components: ${ready.join(' ')}`);
    assert.deepEqual(ready, ['sluice-activator=1/1', 'sluice-autoscaler=1/1', 'sluice-operator=1/1', 'sluice-scheduler=1/1']);
    const ds = await json('get', 'daemonset', 'sluice-node-agent', '-n', NAMESPACE);
    assert.equal(ds.status.numberReady, ds.status.desiredNumberScheduled, 'a node agent on every node');
    assert.ok(ds.status.desiredNumberScheduled >= 1);
  }));

test('kubectl apply of a Function: Ready with a URL, scaled to zero when idle, started again by a request', { timeout: 240_000 }, () =>
  guarded(async () => {
    step('kubectl apply Function hello');
    await cluster.kubectlApply(functionYaml('hello', 'hello', '  scaling:\n    stableWindow: 6s\n    scaleToZeroGracePeriod: 1s\n'));
    await cluster.kubectl('wait', '--for=condition=Ready', 'function/hello', '-n', 'default', '--timeout=120s');
    const fn = await json('get', 'function', 'hello', '-n', 'default');
    assert.equal(fn.status.url, `http://hello.default.${cluster.domain}`);
    const pods = await json('get', 'pods', '-n', 'default', '-l', 'sluice.dev/function=hello');
    assert.ok(pods.items.every((p: any) => p.spec.schedulerName === 'sluice-scheduler' && p.spec.nodeName), 'placed by the Sluice scheduler');

    step('waiting for hello to scale to zero');
    await until('hello at zero replicas', 90_000, async () => ((await replicas('hello')) === 0 ? true : undefined));
    const atZero = await json('get', 'function', 'hello', '-n', 'default');
    const readyCondition = atZero.status.conditions.find((c: any) => c.type === 'Ready');
    assert.deepEqual([readyCondition.status, readyCondition.reason], ['True', 'ScaledToZero']);

    step('invoking hello through the activator (cold start from zero)');
    const res = await invoke('hello');
    step(`  → ${res.status} in ${res.ms.toFixed(0)} ms: ${res.body.trim().slice(0, 80)}`);
    assert.equal(res.status, 200, res.body);
    assert.ok((await replicas('hello')) >= 1, 'the request scaled hello up');
    const warm = await invoke('hello');
    assert.equal(warm.status, 200);
    step(`  warm request: ${warm.ms.toFixed(1)} ms`);
  }));

test('load scales a function up, and it returns to zero when the load stops', { timeout: 240_000 }, () =>
  guarded(async () => {
    step('kubectl apply Function sleep (containerConcurrency 1)');
    await cluster.kubectlApply(
      functionYaml('sleep', 'sleep', '  containerConcurrency: 1\n  scaling:\n    maxScale: 4\n    stableWindow: 6s\n    scaleToZeroGracePeriod: 1s\n'),
    );
    await cluster.kubectl('wait', '--for=condition=Ready', 'function/sleep', '-n', 'default', '--timeout=120s');
    step('6 clients × 500 ms requests for 20 s');
    let running = true;
    let peak = 0;
    const statuses = new Map<number, number>();
    const client = async (): Promise<void> => {
      while (running) {
        const r = await invoke('sleep', '?ms=500').catch(() => ({ status: 0, body: '', ms: 0 }));
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      }
    };
    const clients = Array.from({ length: 6 }, () => client());
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      peak = Math.max(peak, await replicas('sleep'));
      await sleep(500);
    }
    running = false;
    await Promise.all(clients);
    step(`  peak replicas ${peak}; statuses ${JSON.stringify(Object.fromEntries(statuses))}`);
    assert.ok(peak >= 2, `sleep never scaled past ${peak}`);
    assert.deepEqual([...statuses.keys()], [200], 'every request succeeded');
    step('waiting for sleep to scale back to zero');
    await until('sleep at zero replicas', 90_000, async () => ((await replicas('sleep')) === 0 ? true : undefined));
  }));

test('an invalid Function is refused by the API server with field-level messages', { timeout: 60_000 }, () =>
  guarded(async () => {
    step('kubectl apply of an invalid Function');
    const bad = functionYaml('bad', 'hello', '  timeoutSeconds: 0\n  scaling:\n    minScale: 3\n    maxScale: 2\n    stableWindow: 1s\n');
    const err = await cluster.kubectlApply(bad).then(
      () => undefined,
      (e: Error) => e,
    );
    assert.ok(err, 'kubectl apply succeeded');
    step(`  refused: ${err.message.split('\n').slice(-4).join(' | ')}`);
    assert.match(err.message, /spec\.timeoutSeconds/);
    assert.match(err.message, /minScale must not exceed maxScale/);
    assert.match(err.message, /spec\.scaling\.stableWindow.*must be a duration in \[6s; 1h\]/);
    const unknown = await cluster.kubectlApply(functionYaml('bad', 'hello', '  replicas: 3\n')).then(
      () => undefined,
      (e: Error) => e,
    );
    assert.match(unknown?.message ?? '', /unknown field "spec.replicas"/);
    await assert.rejects(cluster.kubectl('get', 'function', 'bad', '-n', 'default'), /NotFound/);
  }));

test('an operator restart creates no duplicate objects', { timeout: 120_000 }, () =>
  guarded(async () => {
    const owned = async (kind: string): Promise<string[]> =>
      (await json(`get`, kind, '-n', 'default', '-l', 'sluice.dev/function=hello')).items.map((o: any) => `${o.metadata.name}/${o.metadata.uid}`);
    const before = { deployments: await owned('deployments'), services: await owned('services') };
    step('restarting the operator');
    const oldPod = (await json('get', 'pods', '-n', NAMESPACE, '-l', 'app.kubernetes.io/component=operator')).items[0].metadata.name;
    await cluster.kubectl('delete', 'pod', oldPod, '-n', NAMESPACE, '--wait=true');
    await until('a new operator pod ready', 60_000, async () => {
      const pods = (await json('get', 'pods', '-n', NAMESPACE, '-l', 'app.kubernetes.io/component=operator')).items;
      return pods.some((p: any) => p.metadata.name !== oldPod && p.status.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True')) ? true : undefined;
    });
    // The new operator reconciles every Function on its first list; let that happen, then touch one to be sure.
    await cluster.kubectl('annotate', 'function', 'hello', '-n', 'default', `e2e/restarted=${Date.now()}`, '--overwrite');
    await sleep(3_000);
    assert.deepEqual({ deployments: await owned('deployments'), services: await owned('services') }, before);
    await cluster.kubectl('wait', '--for=condition=Ready', 'function/hello', '-n', 'default', '--timeout=30s');
  }));

test('helm uninstall leaves no Sluice objects behind', { timeout: 180_000 }, () =>
  guarded(async () => {
    step('helm uninstall');
    await cluster.helm('uninstall', RELEASE, '-n', NAMESPACE, '--wait', '--timeout', '120s');
    await until('the Function CRD gone', 60_000, async () =>
      (await cluster.kubectl('get', 'crd', '-o', 'name')).includes('functions.sluice.dev') ? undefined : true,
    );
    const leftovers = async (): Promise<string[]> => {
      const kinds = 'deployments,daemonsets,replicasets,services,serviceaccounts,configmaps,secrets,pods';
      const byRelease = (await cluster.kubectl('get', kinds, '-A', '-l', `app.kubernetes.io/instance=${RELEASE}`, '-o', 'name')).split('\n');
      const byOperator = (await cluster.kubectl('get', kinds, '-A', '-l', 'sluice.dev/managed-by=sluice-operator', '-o', 'name')).split('\n');
      const cluster_ = (await cluster.kubectl('get', 'clusterroles,clusterrolebindings', '-l', `app.kubernetes.io/instance=${RELEASE}`, '-o', 'name')).split('\n');
      return [...byRelease, ...byOperator, ...cluster_].filter((l) => l.trim() !== '');
    };
    const left = await until('no Sluice objects left', 90_000, async () => {
      const l = await leftovers();
      return l.length === 0 ? l : undefined;
    }).catch(async (err: Error) => {
      throw new Error(`${err.message}: still there: ${(await leftovers()).join(', ')}`);
    });
    assert.deepEqual(left, []);
    step('nothing left behind');
  }));
