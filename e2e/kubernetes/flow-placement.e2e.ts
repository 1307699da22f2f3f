// End to end on Kubernetes: the scheduler's cost-model places a consumer next to its producer from the XDT flow
// the node agents measured (the local platform's twin is e2e/local/flow-placement.test.ts).
//
// The setup makes the wrong answer the one the other plugins give: the producer is pinned to the second node and
// asks for a whole CPU, so least-allocated prefers the first node for anything else. The consumer (one instance) is
// pinned to the first node while traffic teaches that node's agent the flow; then it is deleted and applied again
// without the pin, and sluice-scheduler must put the new pod on the producer's node, by the flow alone. Deleted, not
// re-applied in place: the pin is the Function's placement, which sluice-scheduler reads when it binds, not part of the
// pod template, so dropping it changes no Deployment and moves no pod; and with the old pod gone spread sees no
// instance of the consumer (an old pod on the first node would send the new one away by itself). cost-model's full
// scale is 0 (scheduler plugin-args): on the harness a cross-node pull costs little, and this test is about the
// wiring, not how much a flow must weigh.
// (Install with --set scheduler.config.score-weights=least-allocated=1\,spread=2 to see it fail.)
/* eslint-disable @typescript-eslint/no-explicit-any -- the objects come from `kubectl -o json`, checked field by field */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { until } from '../../lib/testing/until.js';
import { step, metricValue, installingSuite, functionYaml, nodeAgentsReady } from './cluster.js';

const NAMESPACE = 'sluice-system';
const RELEASE = 'sluice';
const MiB = 2 ** 20;
const ROUNDS = 8;
const OBJECTS = 3;
const harness = !process.env.SLUICE_E2E_KUBECONFIG;

const suite = installingSuite({ release: RELEASE, namespace: NAMESPACE, harness });
const json = <T = any>(...args: string[]): Promise<T> => suite.json<T>(...args);

const pin = (node: string): string => `  placement:\n    nodeSelector:\n      kubernetes.io/hostname: ${node}\n`;
const producerYaml = (node: string): string =>
  functionYaml('flow-producer', 'xdt', `    resources:\n      cpu: 1000m\n  scaling: { minScale: 1 }\n${pin(node)}`);
const consumerYaml = (node?: string): string => functionYaml('flow-consumer', 'xdt', `  scaling: { minScale: 1, maxScale: 1 }\n${node ? pin(node) : ''}`);

/** The live pods of a function. */
async function pods(fn: string): Promise<any[]> {
  return (await json('get', 'pods', '-n', 'default', '-l', `sluice.dev/function=${fn}`)).items.filter((p: any) => !p.metadata.deletionTimestamp);
}

/** A node agent's /metrics: directly on the harness (pod IPs are local addresses), through the API server's pod proxy elsewhere. */
async function agentMetrics(agent: any): Promise<string> {
  if (harness) return (await fetch(`http://${agent.status.podIP}:9090/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
  return suite.cluster.kubectl('get', '--raw', `/api/v1/namespaces/${NAMESPACE}/pods/http:${agent.metadata.name}:9090/proxy/metrics`);
}

test('cost-model places the consumer on its producer node from the measured XDT flow', { timeout: 420_000 }, () =>
  suite.guarded(async () => {
    step('helm install (scheduler plugin-args: cost-model fullScaleSecondsPerSecond 0)');
    const pluginArgs = JSON.stringify({ 'cost-model': { fullScaleSecondsPerSecond: 0 } });
    await suite.cluster.helm(
      'install', RELEASE, suite.cluster.chartPath, '-n', NAMESPACE, '--create-namespace', '-f', suite.cluster.valuesFile, ...suite.cluster.helmInstallArgs,
      '--set-json', `scheduler.config.plugin-args=${JSON.stringify(pluginArgs)}`,
      '--wait', '--timeout', '240s',
    );
    suite.installed();
    await nodeAgentsReady(suite.cluster, NAMESPACE);
    const scheduler = await json('get', 'deployment', 'sluice-scheduler', '-n', NAMESPACE);
    const env = scheduler.spec.template.spec.containers[0].env;
    assert.equal(env.find((e: any) => e.name === 'SLUICE_SCHEDULER_PLUGIN_ARGS')?.value, pluginArgs);
    const nodes: string[] = (await json('get', 'nodes')).items.map((n: any) => n.metadata.name).sort();
    assert.ok(nodes.length >= 2, 'two nodes');
    const [consumerNode, producerNode] = [nodes[0], nodes[1]];

    step(`kubectl apply flow-producer (${producerNode}, cpu 1000m) and flow-consumer (pinned to ${consumerNode})`);
    await suite.cluster.kubectlApply(producerYaml(producerNode));
    await suite.cluster.kubectlApply(consumerYaml(consumerNode));
    for (const name of ['flow-producer', 'flow-consumer']) await suite.cluster.kubectl('wait', '--for=condition=Ready', `function/${name}`, '-n', 'default', '--timeout=120s');
    assert.deepEqual((await pods('flow-consumer')).map((p) => p.spec.nodeName), [consumerNode], 'precondition: the consumer runs on the first node');

    step(`${ROUNDS} rounds of ${OBJECTS} × 2 MiB, flow-producer → flow-consumer by reference`);
    const activator = await suite.cluster.activatorUrl();
    for (let round = 0; round < ROUNDS; round++) {
      const url = `${activator}/fn/default/flow-producer/produce?to=flow-consumer&bytes=${2 * MiB}&count=${OBJECTS}&seed=${round + 1}`;
      const res = await fetch(url, { signal: AbortSignal.timeout(60_000) });
      const body = await res.text();
      assert.equal(res.status, 200, body);
      for (const r of (JSON.parse(body) as { results: Array<{ got: unknown; expected: unknown }> }).results) assert.deepEqual(r.got, r.expected, 'digest intact');
    }

    const agent = (await json('get', 'pods', '-n', NAMESPACE, '-l', 'app.kubernetes.io/component=node-agent')).items.find((a: any) => a.spec.nodeName === consumerNode);
    assert.ok(agent, `a node agent on ${consumerNode}`);
    const flowed = await until(`${consumerNode}'s agent counted the flow`, 30_000, async () => {
      const v = metricValue(await agentMetrics(agent), 'sluice_node_agent_xdt_flow_bytes_total', { namespace: 'default', function: 'flow-consumer', path: 'tcp' }) ?? 0;
      return v >= ROUNDS * OBJECTS * 2 * MiB ? v : undefined;
    });
    step(`  ${consumerNode}: sluice_node_agent_xdt_flow_bytes_total{function="flow-consumer",path="tcp"} ${flowed}`);

    step('delete flow-consumer, then kubectl apply it without the pin');
    await suite.cluster.kubectl('delete', 'function', 'flow-consumer', '-n', 'default', '--wait=true');
    await until('the pinned consumer pod is gone', 60_000, async () => ((await json('get', 'pods', '-n', 'default', '-l', 'sluice.dev/function=flow-consumer')).items.length === 0 ? true : undefined));
    await suite.cluster.kubectlApply(consumerYaml());
    await suite.cluster.kubectl('wait', '--for=condition=Ready', 'function/flow-consumer', '-n', 'default', '--timeout=120s');
    const [pod] = await pods('flow-consumer');
    assert.ok(pod && pod.spec.schedulerName === 'sluice-scheduler', 'the new consumer pod, placed by sluice-scheduler');

    const [sched] = (await json('get', 'pods', '-n', NAMESPACE, '-l', 'app.kubernetes.io/component=scheduler')).items;
    const log = suite.cluster.podLog?.(NAMESPACE, sched.metadata.name, sched.spec.containers[0].name) ?? (await suite.cluster.kubectl('logs', '-n', NAMESPACE, sched.metadata.name));
    const bound = log.split('\n').filter((l) => l.includes('"pod bound"') && l.includes(`default/${pod.metadata.name}`)).map((l) => JSON.parse(l));
    step(`  scheduler: ${JSON.stringify(bound.at(-1))}`);
    assert.equal(bound.length, 1, `one "pod bound" line for default/${pod.metadata.name}`);
    assert.ok(bound[0].flows >= 1 && bound[0].linkCosts >= 1, `placed with the flow known: ${JSON.stringify(bound[0])}`);
    assert.equal(pod.spec.nodeName, producerNode, 'the consumer was not placed next to its producer');

    for (const name of ['flow-consumer', 'flow-producer']) await suite.cluster.kubectl('delete', 'function', name, '-n', 'default', '--wait=true');
  }));
