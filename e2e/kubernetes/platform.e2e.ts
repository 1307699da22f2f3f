// End to end on Kubernetes: helm install, kubectl apply a Function, Ready, scale from zero through the activator, scale up
// under load and back to zero, XDT across nodes (and the consumer node agent's flow profile, which reaches the scheduler), an invalid
// Function refused, an operator restart without duplicates, helm uninstall leaving nothing behind. On the local harness (real control plane + virtual kubelets) or on any cluster (SLUICE_E2E_KUBECONFIG).
/* eslint-disable @typescript-eslint/no-explicit-any -- the objects come from `kubectl -o json`, checked field by field */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startE2eCluster, type E2eCluster, failureRecorder, step, metricValue, functionYaml, nodeAgentsReady } from './cluster.js';
import { CLIENT_OPTIONS, grpc, loadNodeAgentProto } from '../../lib/grpc.js';
import { until } from '../../lib/testing/until.js';
import type { NodeFlows__Output } from '../../protos/generated/sluice/nodeagent/v1/NodeFlows.js';

const NAMESPACE = 'sluice-system';
const RELEASE = 'sluice';

let cluster: E2eCluster;
const failures = failureRecorder();
const guarded = failures.guarded;


async function json<T = any>(...args: string[]): Promise<T> {
  return JSON.parse(await cluster.kubectl(...args, '-o', 'json')) as T;
}

async function replicas(fn: string): Promise<number> {
  const d = await json('get', 'deployment', `${fn}-sluice`, '-n', 'default');
  return d.spec.replicas ?? 1;
}

/** A node agent's /metrics: directly on the harness (pod IPs are local addresses), through the API server's pod proxy elsewhere. */
async function agentMetrics(agent: any): Promise<string> {
  if (!process.env.SLUICE_E2E_KUBECONFIG) return (await fetch(`http://${agent.status.podIP}:9090/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
  return cluster.kubectl('get', '--raw', `/api/v1/namespaces/${NAMESPACE}/pods/http:${agent.metadata.name}:9090/proxy/metrics`);
}

/** NodeAgent.GetNodeFlows at the agent's pod IP and grpc port, as the scheduler asks it. */
async function nodeFlows(agent: any): Promise<NodeFlows__Output> {
  const port = agent.spec.containers[0].ports.find((p: any) => p.name === 'grpc').containerPort;
  const client = new (loadNodeAgentProto().sluice.nodeagent.v1.NodeAgent)(`${agent.status.podIP}:${port}`, grpc.credentials.createInsecure(), CLIENT_OPTIONS);
  try {
    return await new Promise<NodeFlows__Output>((resolve, reject) => client.GetNodeFlows({}, { deadline: Date.now() + 5_000 }, (err, res) => (err ? reject(err) : resolve(res!))));
  } finally {
    client.close();
  }
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
  if (failures.failed && cluster) console.log(await cluster.dumpState());
  await cluster?.stop();
});


test('helm install brings every component up', { timeout: 300_000 }, () =>
  guarded(async () => {
    step('helm install');
    await cluster.helm('install', RELEASE, cluster.chartPath, '-n', NAMESPACE, '--create-namespace', '-f', cluster.valuesFile, ...cluster.helmInstallArgs, '--wait', '--timeout', '240s');
    const deployments = await json('get', 'deployments', '-n', NAMESPACE);
    const ready = deployments.items.map((d: any) => `${d.metadata.name}=${d.status.readyReplicas ?? 0}/${d.spec.replicas}`).sort();
    step(`components: ${ready.join(' ')}`);
    assert.deepEqual(ready, ['sluice-activator=1/1', 'sluice-autoscaler=1/1', 'sluice-operator=1/1', 'sluice-scheduler=1/1']);
    await nodeAgentsReady(cluster, NAMESPACE);
    const ds = await json('get', 'daemonset', 'sluice-node-agent', '-n', NAMESPACE);
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

test('XDT on Kubernetes: a producer on one node passes objects by reference to a consumer on another', { timeout: 180_000 }, () =>
  guarded(async () => {
    const nodes = (await json('get', 'nodes')).items.map((n: any) => n.metadata.name).sort();
    const [producerNode, consumerNode] = [nodes[0], nodes[nodes.length - 1]];
    step(`kubectl apply Functions xdt-producer (${producerNode}) and xdt-consumer (${consumerNode})`);
    for (const [name, node] of [['xdt-producer', producerNode], ['xdt-consumer', consumerNode]]) {
      await cluster.kubectlApply(functionYaml(name, 'xdt', `  placement:\n    nodeSelector:\n      kubernetes.io/hostname: ${node}\n`));
    }
    for (const name of ['xdt-producer', 'xdt-consumer']) {
      await cluster.kubectl('wait', '--for=condition=Ready', `function/${name}`, '-n', 'default', '--timeout=120s');
    }
    step('4 × 5 MB objects, producer → consumer by reference');
    const res = await invoke('xdt-producer', 'produce?to=xdt-consumer&bytes=5000000&count=4');
    assert.equal(res.status, 200, res.body);
    const { results } = JSON.parse(res.body) as { results: Array<{ status: number; expected: unknown; got: unknown; ms: number }> };
    step(`  → ${results.map((r) => `${r.status} in ${r.ms.toFixed(0)} ms`).join(', ')}`);
    assert.equal(results.length, 4);
    for (const r of results) {
      assert.equal(r.status, 200);
      assert.deepEqual(r.got, r.expected, 'the consumer digested exactly the object the producer sent');
    }
    const consumers = (await json('get', 'pods', '-n', 'default', '-l', 'sluice.dev/function=xdt-consumer')).items;
    assert.ok(consumers.every((p: any) => p.spec.nodeName === consumerNode));
    if (!process.env.SLUICE_E2E_KUBECONFIG) {
      // Pod IPs are local addresses on the harness: the consumer queue-proxies' own count of bytes pulled over XDT.
      let received = 0;
      for (const pod of consumers) {
        const text = await (await fetch(`http://${pod.status.podIP}:9091/metrics`)).text();
        for (const line of text.split('\n')) {
          if (line.startsWith('sluice_queue_proxy_xdt_bytes_total') && line.includes('direction="received"')) received += Number(line.split(' ').pop());
        }
      }
      step(`  consumer queue-proxies received ${received} bytes over XDT`);
      assert.ok(received >= 4 * 5_000_000, `only ${received} bytes came by XDT`);
    }

    // The flow profile (chart flows.enabled, the default): the consumer's queue-proxy reports its pulls to its node's
    // agent at the node IP (hostPort), about once a second; the agent serves them on GetNodeFlows to the scheduler.
    const qp = consumers[0].spec.containers.find((c: any) => c.name === 'queue-proxy');
    const agentPort = qp.env.find((e: any) => e.name === 'SLUICE_QUEUE_PROXY_NODE_AGENT_ADDRESS')?.value;
    step(`the consumer's node agent (${consumerNode}) profiles the flow; queue-proxy node-agent-address ${agentPort}`);
    assert.match(agentPort ?? '', /^\$\(HOST_IP\):\d+$/, 'the operator gives the queue-proxy its node agent');
    const agents = (await json('get', 'pods', '-n', NAMESPACE, '-l', 'app.kubernetes.io/component=node-agent')).items;
    const agent = agents.find((a: any) => a.spec.nodeName === consumerNode);
    assert.ok(agent, `a node agent on ${consumerNode}`);
    const flowLabels = { namespace: 'default', function: 'xdt-consumer', path: 'tcp' };
    const pulled = await until('the consumer node agent counted the pulled bytes', 30_000, async () => {
      const v = metricValue(await agentMetrics(agent), 'sluice_node_agent_xdt_flow_bytes_total', flowLabels) ?? 0;
      return v >= 4 * 5_000_000 ? v : undefined;
    });
    step(`  sluice_node_agent_xdt_flow_bytes_total{function="xdt-consumer",path="tcp"} ${pulled}`);
    if (!process.env.SLUICE_E2E_KUBECONFIG) {
      // What the scheduler asks before each placement, at the agent's pod IP.
      const view = await nodeFlows(agent);
      const edge = view.flows.find((f) => f.namespace === 'default' && f.producer_function === 'xdt-producer' && f.consumer_function === 'xdt-consumer');
      const link = view.links.find((l) => l.from_node === producerNode);
      step(
        `  GetNodeFlows(${view.node}): xdt-producer → xdt-consumer ${edge?.bytes_total} bytes, ${edge?.bytes_per_second.toFixed(0)} B/s; ` +
          `link ${producerNode} → ${consumerNode} ${link?.seconds_per_gib.toFixed(3)} s/GiB over ${link?.samples} objects`,
      );
      assert.equal(view.node, consumerNode);
      assert.ok(edge && edge.bytes_total >= 4 * 5_000_000 && edge.bytes_per_second > 0, JSON.stringify(view.flows));
      assert.ok(link && link.to_node === consumerNode && link.samples >= 4 && link.seconds_per_gib > 0, JSON.stringify(view.links));

      // The next placement sees the flow: a new Function's pod is bound with the merged flows and link costs in its snapshot.
      step('kubectl apply Function xdt-next: the scheduler places it with the flows in its snapshot');
      await cluster.kubectlApply(functionYaml('xdt-next', 'hello'));
      await cluster.kubectl('wait', '--for=condition=Ready', 'function/xdt-next', '-n', 'default', '--timeout=120s');
      const [next] = (await json('get', 'pods', '-n', 'default', '-l', 'sluice.dev/function=xdt-next')).items;
      const [scheduler] = (await json('get', 'pods', '-n', NAMESPACE, '-l', 'app.kubernetes.io/component=scheduler')).items;
      const bound = (cluster.podLog?.(NAMESPACE, scheduler.metadata.name, scheduler.spec.containers[0].name) ?? '')
        .split('\n')
        .filter((line) => line.includes('"pod bound"') && line.includes(`default/${next.metadata.name}`))
        .map((line) => JSON.parse(line) as { flowViews: number; flows: number; linkCosts: number; node: string });
      step(`  scheduler: ${JSON.stringify(bound.at(-1))}`);
      assert.equal(bound.length, 1, `one "pod bound" line for default/${next.metadata.name}`);
      assert.ok(bound[0].flowViews >= 1 && bound[0].flows >= 1 && bound[0].linkCosts >= 1, JSON.stringify(bound[0]));
    }
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

test('a pod no node can take stays Pending with an event and a condition saying why, and is placed once a node fits', { timeout: 120_000 }, () =>
  guarded(async () => {
    step('kubectl apply Function picky (nodeSelector disktype=ssd, which no node has)');
    await cluster.kubectlApply(functionYaml('picky', 'hello', '  placement:\n    nodeSelector:\n      disktype: ssd\n'));
    const pending = await until('picky pod marked unschedulable', 60_000, async () => {
      const pods = (await json('get', 'pods', '-n', 'default', '-l', 'sluice.dev/function=picky')).items;
      const condition = pods[0]?.status?.conditions?.find((c: any) => c.type === 'PodScheduled');
      return condition?.status === 'False' ? { pod: pods[0], condition } : undefined;
    });
    step(`  ${pending.pod.metadata.name}: ${pending.condition.reason}: ${pending.condition.message}`);
    assert.equal(pending.condition.reason, 'Unschedulable');
    assert.match(pending.condition.message, /^0\/\d+ nodes are available: .*node selector does not match: missing label disktype=ssd/);
    const events = await json('get', 'events', '-n', 'default', '--field-selector', `involvedObject.name=${pending.pod.metadata.name},reason=FailedScheduling`);
    assert.ok(events.items.length >= 1, 'a FailedScheduling event');
    assert.equal(events.items[0].source.component, 'sluice-scheduler');

    const nodes = (await json('get', 'nodes')).items.map((n: any) => n.metadata.name).sort();
    const target = nodes[nodes.length - 1];
    step(`labelling ${target} disktype=ssd`);
    await cluster.kubectl('label', 'node', target, 'disktype=ssd', '--overwrite');
    await cluster.kubectl('wait', '--for=condition=Ready', 'function/picky', '-n', 'default', '--timeout=60s');
    const placed = (await json('get', 'pods', '-n', 'default', '-l', 'sluice.dev/function=picky')).items;
    assert.deepEqual([...new Set(placed.map((p: any) => p.spec.nodeName))], [target]);
    await cluster.kubectl('label', 'node', target, 'disktype-');
    await cluster.kubectl('delete', 'function', 'picky', '-n', 'default', '--wait=true');
  }));

test(
  'controllers survive an API server restart: watches resume or relist (410 Gone) and a new Function is served',
  { timeout: 180_000, skip: process.env.SLUICE_E2E_KUBECONFIG ? 'needs the local control plane (it restarts kube-apiserver)' : false },
  () =>
    guarded(async () => {
      step('restarting kube-apiserver');
      await cluster.restartApiServer!();
      step('kubectl apply Function echo after the restart');
      await cluster.kubectlApply(functionYaml('echo', 'echo', '  scaling:\n    stableWindow: 6s\n    scaleToZeroGracePeriod: 1s\n'));
      await cluster.kubectl('wait', '--for=condition=Ready', 'function/echo', '-n', 'default', '--timeout=120s');
      const res = await until('echo answering through the activator', 60_000, async () => {
        const r = await invoke('echo');
        return r.status === 200 ? r : undefined;
      });
      step(`  echo → ${res.status} in ${res.ms.toFixed(0)} ms`);
      // The operator still reacts to changes of Functions that existed before the restart.
      await cluster.kubectlApply(functionYaml('hello', 'hello', '  containerConcurrency: 7\n  scaling:\n    stableWindow: 6s\n    scaleToZeroGracePeriod: 1s\n'));
      await until('hello Deployment updated to containerConcurrency 7', 60_000, async () => {
        const d = await json('get', 'deployment', 'hello-sluice', '-n', 'default');
        const qp = d.spec.template.spec.containers.find((c: any) => c.name === 'queue-proxy');
        return qp.env.some((e: any) => e.name === 'SLUICE_QUEUE_PROXY_CONTAINER_CONCURRENCY' && e.value === '7') ? true : undefined;
      });
    }),
);

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
