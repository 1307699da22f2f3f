// End to end on Kubernetes: PM-write admission. helm install (PM on, the default), then a PM-writing Function
// (examples/pm) applied with kubectl: its pod mounts the node's PM directory (hostPath) and reaches its node agent at
// status.hostIP (hostPort), its queue-proxy asks that agent for admission, and the agent's metrics show the
// admissions, the device I/O and the function's learnt profile; GetNodePm (what the scheduler asks) shows it too.
// On the local harness (real control plane + virtual kubelets) or on any cluster (SLUICE_E2E_KUBECONFIG).
/* eslint-disable @typescript-eslint/no-explicit-any -- the objects come from `kubectl -o json`, checked field by field */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CLIENT_OPTIONS, grpc, loadNodeAgentProto, loadPmProto } from '../../lib/grpc.js';
import { until } from '../../lib/testing/until.js';
import { step, metricValue, installingSuite, nodeAgentsReady } from './cluster.js';
import type { NodePm__Output } from '../../protos/generated/sluice/nodeagent/v1/NodePm.js';
import type { PmInfo__Output } from '../../protos/generated/sluice/pm/v1/PmInfo.js';

const NAMESPACE = 'sluice-system';
const RELEASE = 'sluice';
/** Fixed for the test (calibration would pick its own, possibly unbounded on a busy machine, and then nobody asks). */
const WRITER_LIMIT = 2;
const PM_PORT = 9095;
const BYTES = 8 * 2 ** 20;
const SEQUENTIAL = 4;
const CONCURRENT = 6;
/** On the harness pod and node IPs are local addresses: the test talks to the agents directly. */
const harness = !process.env.SLUICE_E2E_KUBECONFIG;

const suite = installingSuite({ release: RELEASE, namespace: NAMESPACE, harness });
const { guarded } = suite;
const json = <T = any>(...args: string[]): Promise<T> => suite.json<T>(...args);

/** The node agent's /metrics: directly on the harness, through the API server's pod proxy elsewhere. */
async function agentMetrics(agent: any): Promise<string> {
  if (harness) return (await fetch(`http://${agent.status.podIP}:9090/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
  return suite.cluster.kubectl('get', '--raw', `/api/v1/namespaces/${NAMESPACE}/pods/http:${agent.metadata.name}:9090/proxy/metrics`);
}

function unary<Res>(fn: (deadline: { deadline: number }, cb: (err: grpc.ServiceError | null, res?: Res) => void) => void): Promise<Res> {
  return new Promise((resolve, reject) => fn({ deadline: Date.now() + 5_000 }, (err, res) => (err ? reject(err) : resolve(res!))));
}

async function invoke(query: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`${await suite.cluster.activatorUrl()}/fn/default/pm/${query}`, { signal: AbortSignal.timeout(120_000) });
  return { status: res.status, body: await res.text() };
}

test('PM on Kubernetes: a PM-writing function is admitted and profiled by its node agent', { timeout: 420_000 }, () =>
  guarded(async () => {
    step(`helm install (PM on, writer limit ${WRITER_LIMIT})`);
    await suite.cluster.helm(
      'install', RELEASE, suite.cluster.chartPath, '-n', NAMESPACE, '--create-namespace', '-f', suite.cluster.valuesFile, ...suite.cluster.helmInstallArgs,
      '--set', `nodeAgent.config.pm-writer-limit=${WRITER_LIMIT}`,
      '--wait', '--timeout', '240s',
    );
    suite.installed();
    await nodeAgentsReady(suite.cluster, NAMESPACE);
    const ds = await json('get', 'daemonset', 'sluice-node-agent', '-n', NAMESPACE);
    const agents = (await json('get', 'pods', '-n', NAMESPACE, '-l', 'app.kubernetes.io/component=node-agent')).items;
    const hostPath = ds.spec.template.spec.volumes.find((v: any) => v.name === 'sluice-pm').hostPath.path;
    step(`node agents: ${agents.map((a: any) => `${a.spec.nodeName} pod ${a.status.podIP} host ${a.status.hostIP}`).join(', ')}; PM in ${hostPath}`);

    step('kubectl apply Function pm (examples/pm)');
    await suite.cluster.kubectlApply(
      [
        'apiVersion: sluice.dev/v1alpha1',
        'kind: Function',
        'metadata:',
        '  name: pm',
        '  namespace: default',
        'spec:',
        '  container:',
        '    image: sluice/example-pm:0.1.0',
        '    readinessPath: /healthz',
        '    resources: { memory: 256Mi }',
        '  timeoutSeconds: 120',
        '  scaling:',
        '    minScale: 1',
        '    maxScale: 1',
      ].join('\n'),
    );
    await suite.cluster.kubectl('wait', '--for=condition=Ready', 'function/pm', '-n', 'default', '--timeout=120s');
    const [pod] = (await json('get', 'pods', '-n', 'default', '-l', 'sluice.dev/function=pm')).items;
    const node = pod.spec.nodeName;
    const agent = agents.find((a: any) => a.spec.nodeName === node);
    assert.ok(agent, `a node agent on ${node}`);
    const user = pod.spec.containers.find((c: any) => c.name === 'user-container');
    const qp = pod.spec.containers.find((c: any) => c.name === 'queue-proxy');
    const envOf = (c: any, name: string) => c.env.find((e: any) => e.name === name);
    assert.deepEqual(pod.spec.volumes.find((v: any) => v.name === 'sluice-pm')?.hostPath, { path: hostPath, type: 'DirectoryOrCreate' });
    assert.deepEqual(user.volumeMounts?.find((m: any) => m.name === 'sluice-pm')?.mountPath, hostPath);
    assert.equal(envOf(user, 'SLUICE_PM_DIR').value, `${hostPath}/$(NODE_NAME)`);
    assert.equal(envOf(user, 'SLUICE_PM_ADDRESS').value, `$(HOST_IP):${PM_PORT}`);
    assert.equal(envOf(qp, 'SLUICE_QUEUE_PROXY_PM_ADDRESS').value, `$(HOST_IP):${PM_PORT}`);
    assert.deepEqual(envOf(user, 'HOST_IP').valueFrom, { fieldRef: { apiVersion: 'v1', fieldPath: 'status.hostIP' } });
    step(`  pm on ${node} (pod ${pod.status.podIP}, host ${pod.status.hostIP}); its agent ${agent.metadata.name}`);

    if (harness) {
      // What the function's SDK and queue-proxy dial: the node IP and the hostPort (forwarded to the agent's pod IP).
      const pmNode = new (loadPmProto().sluice.pm.v1.PmNode)(`${pod.status.hostIP}:${PM_PORT}`, grpc.credentials.createInsecure(), CLIENT_OPTIONS);
      try {
        const info = await unary<PmInfo__Output>((o, cb) => pmNode.GetPmInfo({}, o, cb));
        step(`  PmNode at ${pod.status.hostIP}:${PM_PORT}: ${info.node} ${info.mode} limit ${info.writer_limit} dir ${info.dir}`);
        assert.deepEqual([info.node, info.mode, info.writer_limit], [node, 'PM_MODE_EMULATED', WRITER_LIMIT]);
        assert.ok(info.dir.endsWith(`/${node}`), info.dir);
      } finally {
        pmNode.close();
      }
    }

    step(`${SEQUENTIAL} sequential writes of ${BYTES} bytes, then ${CONCURRENT} at once`);
    for (let i = 0; i < SEQUENTIAL; i++) {
      const r = await invoke(`write?bytes=${BYTES}`);
      assert.equal(r.status, 200, r.body);
      assert.equal(JSON.parse(r.body).written, BYTES);
    }
    const burst = await Promise.all(Array.from({ length: CONCURRENT }, () => invoke(`write?bytes=${BYTES}`)));
    for (const r of burst) assert.equal(r.status, 200, r.body);
    const total = SEQUENTIAL + CONCURRENT;

    const labels = { namespace: 'default', function: 'pm' };
    // The queue-proxy releases (and the SDK reports) just after answering: wait for the counts to settle.
    const text = await until('the node agent counted every admission', 30_000, async () => {
      const t = await agentMetrics(agent);
      const admitted = (metricValue(t, 'sluice_node_agent_pm_admissions_total', { ...labels, result: 'reader' }) ?? 0) + (metricValue(t, 'sluice_node_agent_pm_admissions_total', { ...labels, result: 'writer' }) ?? 0);
      return admitted >= total && (metricValue(t, 'sluice_node_agent_pm_profile', { ...labels, value: 'duration_seconds' }) ?? 0) > 0 ? t : undefined;
    });
    const value = (name: string, l: Record<string, string> = {}) => metricValue(text, name, l) ?? 0;
    const writers = value('sluice_node_agent_pm_admissions_total', { ...labels, result: 'writer' });
    const readers = value('sluice_node_agent_pm_admissions_total', { ...labels, result: 'reader' });
    const written = value('sluice_node_agent_pm_io_bytes_total', { kind: 'write' });
    const profile = value('sluice_node_agent_pm_profile', { ...labels, value: 'written_bytes' });
    step(
      `  agent ${node}: admissions writer=${writers} reader=${readers}, device writes ${written} bytes, profile written_bytes=${profile} ` +
        `duration=${value('sluice_node_agent_pm_profile', { ...labels, value: 'duration_seconds' }).toFixed(3)}s, limit ${value('sluice_node_agent_pm_writer_limit')}, ` +
        `max wait ${value('sluice_node_agent_pm_max_wait_seconds').toFixed(3)}s`,
    );
    assert.equal(value('sluice_node_agent_pm_info', { node, mode: 'emulated' }), 1, 'emulated PM on the node');
    assert.equal(value('sluice_node_agent_pm_writer_limit'), WRITER_LIMIT);
    // The first invocation comes before any usage report (a function never seen is a reader); from then on it is a writer.
    assert.ok(writers >= total - 1, `only ${writers} of ${total} invocations admitted as writers`);
    assert.ok(written >= total * BYTES, `the device timed only ${written} bytes of writes`);
    assert.ok(Math.abs(profile - BYTES) / BYTES < 0.01, `profile written_bytes ${profile}, expected about ${BYTES}`);

    if (harness) {
      // The placement view (NodeAgent.GetNodePm at the agent's pod IP, as the scheduler asks it).
      const client = new (loadNodeAgentProto().sluice.nodeagent.v1.NodeAgent)(`${agent.status.podIP}:${PM_PORT}`, grpc.credentials.createInsecure(), CLIENT_OPTIONS);
      try {
        const view = await unary<NodePm__Output>((o, cb) => client.GetNodePm({}, o, cb));
        const fn = view.functions.find((f) => f.namespace === 'default' && f.function === 'pm');
        step(`  GetNodePm: ${view.mode} limit ${view.writer_limit} calibrated ${view.calibrated}, pm predicted ${fn?.written_bytes} bytes over ${fn?.samples} reports`);
        assert.deepEqual([view.mode, view.writer_limit, view.calibrated], ['NODE_PM_MODE_EMULATED', WRITER_LIMIT, true]);
        assert.ok(fn && fn.samples >= total && Math.abs(Number(fn.written_bytes) - BYTES) / BYTES < 0.01, JSON.stringify(fn));
      } finally {
        client.close();
      }
    }
    await suite.cluster.kubectl('delete', 'function', 'pm', '-n', 'default', '--wait=true');
  }));
