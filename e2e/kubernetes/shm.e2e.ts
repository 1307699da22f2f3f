// End to end on Kubernetes: the XDT same-node fast path. helm install (xdt.shm on, the default), then xdt-producer and
// xdt-consumer pinned to one node: their queue-proxy sidecars (only they, not the user containers) mount the node's
// segment directory <xdt.shm.hostPath>/<node>, which the node agent made 0700, and the objects the producer passes by
// reference reach the consumer through a shared-memory segment (the consumer queue-proxy's pulls_total{path="shm"}),
// digests intact, leaving no segment behind. On the local harness it also checks the directory's modes and that the
// agent sweeps a segment a dead consumer would have leaked. On the local harness (real control plane + virtual
// kubelets) or on any cluster (SLUICE_E2E_KUBECONFIG).
/* eslint-disable @typescript-eslint/no-explicit-any -- the objects come from `kubectl -o json`, checked field by field */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { until } from '../../lib/testing/until.js';
import { isSegmentName } from '../../lib/xdt/segment-name.js';
import { step, metricValue, installingSuite, functionYaml, nodeAgentsReady } from './cluster.js';

const NAMESPACE = 'sluice-system';
const RELEASE = 'sluice';
const OBJECTS = 4;
const BYTES = 5_000_000;
/** Short, so the test sees a sweep (every min(age / 2, 60 s)); the chart's default is 10m. */
const SWEEP_AGE = '10s';
/** On the harness pod IPs are local addresses and hostPaths this machine's directories: the test looks directly. */
const harness = !process.env.SLUICE_E2E_KUBECONFIG;

const suite = installingSuite({ release: RELEASE, namespace: NAMESPACE, harness });
const { guarded } = suite;
const json = <T = any>(...args: string[]): Promise<T> => suite.json<T>(...args);

/** A pod's /metrics on `port`: directly on the harness, through the API server's pod proxy elsewhere. */
async function podMetrics(pod: any, port: number): Promise<string> {
  if (harness) return (await fetch(`http://${pod.status.podIP}:${port}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
  return suite.cluster.kubectl('get', '--raw', `/api/v1/namespaces/${pod.metadata.namespace}/pods/http:${pod.metadata.name}:${port}/proxy/metrics`);
}

/** One instance, kept while the test reads its metrics, on `node`. */
function pinnedXdt(name: string, node: string): string {
  return functionYaml(name, 'xdt', `  scaling: { minScale: 1, maxScale: 1 }\n  placement:\n    nodeSelector:\n      kubernetes.io/hostname: ${node}\n`);
}

test('XDT same-node fast path on Kubernetes: producer and consumer on one node pass objects through a shared-memory segment', { timeout: 420_000 }, () =>
  guarded(async () => {
    step(`helm install (xdt.shm on, sweep age ${SWEEP_AGE})`);
    await suite.cluster.helm(
      'install', RELEASE, suite.cluster.chartPath, '-n', NAMESPACE, '--create-namespace', '-f', suite.cluster.valuesFile, ...suite.cluster.helmInstallArgs,
      '--set', `nodeAgent.config.xdt-shm-sweep-age=${SWEEP_AGE}`,
      '--wait', '--timeout', '240s',
    );
    suite.installed();
    await nodeAgentsReady(suite.cluster, NAMESPACE);
    const ds = await json('get', 'daemonset', 'sluice-node-agent', '-n', NAMESPACE);
    const hostPath: string = ds.spec.template.spec.volumes.find((v: any) => v.name === 'sluice-xdt-shm').hostPath.path;
    const node: string = (await json('get', 'nodes')).items.map((n: any) => n.metadata.name).sort()[0];
    const agent = (await json('get', 'pods', '-n', NAMESPACE, '-l', 'app.kubernetes.io/component=node-agent')).items.find((a: any) => a.spec.nodeName === node);
    assert.ok(agent, `a node agent on ${node}`);
    const dir = `${hostPath}/${node}`;
    step(`segment directory of ${node}: ${dir}`);
    if (harness) {
      // The init container made the hostPath 1733 (root cannot chown with every capability dropped); the agent made its node's directory 0700, its own.
      assert.equal(statSync(hostPath).mode & 0o7777, 0o1733, `${hostPath} mode`);
      assert.equal(statSync(dir).mode & 0o7777, 0o700, `${dir} mode`);
    }

    step(`kubectl apply Functions xdt-producer and xdt-consumer, both on ${node}`);
    for (const name of ['xdt-producer', 'xdt-consumer']) await suite.cluster.kubectlApply(pinnedXdt(name, node));
    for (const name of ['xdt-producer', 'xdt-consumer']) {
      await suite.cluster.kubectl('wait', '--for=condition=Ready', `function/${name}`, '-n', 'default', '--timeout=120s');
    }
    const podOf = async (fn: string): Promise<any> => {
      const pods = (await json('get', 'pods', '-n', 'default', '-l', `sluice.dev/function=${fn}`)).items.filter((p: any) => !p.metadata.deletionTimestamp);
      assert.equal(pods.length, 1, `one ${fn} pod`);
      assert.equal(pods[0].spec.nodeName, node, `${fn} on ${node}`);
      return pods[0];
    };
    const [producer, consumer] = [await podOf('xdt-producer'), await podOf('xdt-consumer')];
    for (const pod of [producer, consumer]) {
      const user = pod.spec.containers.find((c: any) => c.name === 'user-container');
      const qp = pod.spec.containers.find((c: any) => c.name === 'queue-proxy');
      assert.deepEqual(pod.spec.volumes.find((v: any) => v.name === 'sluice-xdt-shm')?.hostPath, { path: hostPath, type: 'DirectoryOrCreate' });
      assert.deepEqual(qp.volumeMounts?.find((m: any) => m.name === 'sluice-xdt-shm')?.mountPath, hostPath, 'the sidecar mounts it at its own path');
      assert.equal(qp.env.find((e: any) => e.name === 'SLUICE_QUEUE_PROXY_XDT_SHM_DIR')?.value, `${hostPath}/$(NODE_NAME)`);
      assert.equal(qp.securityContext.runAsUser, 65532, "the sidecar runs as the agent's uid");
      assert.ok(!(user.volumeMounts ?? []).some((m: any) => m.name === 'sluice-xdt-shm'), 'the user container does not see the segments');
      assert.ok(!user.env.some((e: any) => e.name.includes('SHM')), 'nor is it told where they are');
    }

    step(`${OBJECTS} × ${BYTES} B objects, xdt-producer → xdt-consumer by reference, on one node`);
    const res = await fetch(`${await suite.cluster.activatorUrl()}/fn/default/xdt-producer/produce?to=xdt-consumer&bytes=${BYTES}&count=${OBJECTS}`, { signal: AbortSignal.timeout(120_000) });
    const body = await res.text();
    assert.equal(res.status, 200, body);
    const { results } = JSON.parse(body) as { results: Array<{ status: number; expected: unknown; got: unknown; ms: number; byReference: boolean }> };
    step(`  → ${results.map((r) => `${r.status} in ${r.ms.toFixed(0)} ms`).join(', ')}`);
    assert.equal(results.length, OBJECTS);
    for (const r of results) {
      assert.equal(r.status, 200);
      assert.deepEqual(r.got, r.expected, 'the consumer digested exactly the object the producer sent');
    }

    // The consumer's queue-proxy counts each pull by the path it took: every one through a segment, none over TCP.
    const labels = { namespace: 'default', function: 'xdt-consumer' };
    const text = await podMetrics(consumer, 9091);
    const pulls = (p: string) => metricValue(text, 'sluice_queue_proxy_xdt_pulls_total', { ...labels, path: p }) ?? 0;
    const received = metricValue(text, 'sluice_queue_proxy_xdt_bytes_total', { ...labels, direction: 'received' }) ?? 0;
    step(`  consumer queue-proxy: pulls shm=${pulls('shm')} tcp=${pulls('tcp')} local=${pulls('local')}, ${received} bytes received`);
    assert.equal(pulls('shm'), OBJECTS, 'every pull took the shared-memory path');
    assert.equal(pulls('tcp'), 0, 'no pull went over TCP');
    assert.ok(received >= OBJECTS * BYTES, `only ${received} bytes came by XDT`);
    // And the consumer's node agent learns the flow as a same-node one (flows.enabled, the default).
    const flowed = await until('the node agent counted the same-node flow', 30_000, async () => {
      const v = metricValue(await podMetrics(agent, 9090), 'sluice_node_agent_xdt_flow_bytes_total', { ...labels, path: 'shm' }) ?? 0;
      return v >= OBJECTS * BYTES ? v : undefined;
    });
    step(`  sluice_node_agent_xdt_flow_bytes_total{function="xdt-consumer",path="shm"} ${flowed}`);

    if (harness) {
      // Producer and consumer each removed the segment's name: nothing is left in the directory.
      const segments = () => readdirSync(dir).filter(isSegmentName);
      await until('no segment left in the directory', 10_000, async () => (segments().length === 0 ? true : undefined)).catch(() => {
        throw new Error(`segments left in ${dir}: ${segments().join(', ')}`);
      });

      // The one leak window (a consumer killed between creating its segment and its Pull reaching the producer): the
      // agent removes such a file once it is older than the sweep age; anything not named like a segment stays.
      const leaked = path.join(dir, `x-${'5e9e'.repeat(8)}`);
      const other = path.join(dir, 'not-a-segment');
      for (const file of [leaked, other]) {
        writeFileSync(file, '');
        const old = Date.now() / 1000 - 3600;
        utimesSync(file, old, old);
      }
      step(`a leaked segment planted in ${dir}: the agent sweeps it`);
      const swept = await until('the agent swept the leaked segment', 30_000, async () => {
        if (existsSync(leaked)) return undefined;
        const v = metricValue(await podMetrics(agent, 9090), 'sluice_node_agent_xdt_shm_segments_swept_total', { node }) ?? 0;
        return v >= 1 ? v : undefined;
      });
      step(`  sluice_node_agent_xdt_shm_segments_swept_total{node="${node}"} ${swept}`);
      assert.ok(existsSync(other), 'a file not named like a segment is left alone');
      rmSync(other, { force: true });
    }
    for (const name of ['xdt-producer', 'xdt-consumer']) await suite.cluster.kubectl('delete', 'function', name, '-n', 'default', '--wait=true');
  }));
