import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo, Socket } from 'node:net';
import { KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { CLIENT_OPTIONS, grpc, loadFlowProto, loadNodeAgentProto } from '../../lib/grpc.js';
import { silentLogger } from '../../lib/logger.js';
import { DEFAULT_DAEMON_GRPC_PORT, DEFAULT_SHM_SWEEP_AGE_MS, loadDaemonConfig } from './config.js';
import { instancesByFunction, startDaemon } from './daemon.js';
import type { FlowProfileClient } from '../../protos/generated/sluice/flow/v1/FlowProfile.js';
import type { NodeAgentClient } from '../../protos/generated/sluice/nodeagent/v1/NodeAgent.js';
import type { NodeFlows__Output } from '../../protos/generated/sluice/nodeagent/v1/NodeFlows.js';

function pod(ns: string, fn: string | undefined, phase: string): V1Pod {
  return { metadata: { namespace: ns, name: 'p', labels: fn ? { 'sluice.dev/function': fn } : {} }, status: { phase } };
}

test('instancesByFunction counts unfinished instances per function', () => {
  const got = instancesByFunction([pod('a', 'hello', 'Running'), pod('a', 'hello', 'Pending'), pod('b', 'hello', 'Running'), pod('a', 'hello', 'Succeeded'), pod('a', undefined, 'Running'), pod('a', 'echo', 'Failed')]);
  assert.deepEqual([...got], [['a/hello', 2], ['b/hello', 1]]);
});

test('loadDaemonConfig: the node, the gRPC port and the PM keys of the local node agent', () => {
  const config = loadDaemonConfig({
    name: 'node-1',
    host: '10.244.1.7',
    'grpc-port': '9096',
    'pm-mode': 'emulated',
    'pm-dir': '/dev/shm/sluice-pm/node-1',
    'pm-state-file': '/dev/shm/sluice-pm/.state/node-1.json',
    'pm-writer-limit': '2',
  });
  assert.deepEqual(
    [config.name, config.host, config.metricsPort, config.grpcPort, config.pm.mode, config.pm.dir, config.pm.stateFile, config.pm.writerLimit, config.pm.agingMs],
    ['node-1', '10.244.1.7', 9090, 9096, 'emulated', '/dev/shm/sluice-pm/node-1', '/dev/shm/sluice-pm/.state/node-1.json', 2, 2_000],
  );
  assert.equal(loadDaemonConfig({ name: 'n' }).grpcPort, DEFAULT_DAEMON_GRPC_PORT);
  // The flow table's half-life, the local node agent's key and bounds.
  assert.equal(loadDaemonConfig({ name: 'n' }).flowHalfLifeMs, 60_000);
  assert.equal(loadDaemonConfig({ name: 'n', 'flow-half-life': '2m' }).flowHalfLifeMs, 120_000);
  assert.equal(loadDaemonConfig({ name: 'n' }).pm.mode, 'auto');
  // The same-node fast path's directory: off unless the chart names it; leaked segments swept after 10 min.
  assert.deepEqual([loadDaemonConfig({ name: 'n' }).xdtShmDir, loadDaemonConfig({ name: 'n' }).xdtShmSweepAgeMs], ['', DEFAULT_SHM_SWEEP_AGE_MS]);
  assert.equal(DEFAULT_SHM_SWEEP_AGE_MS, 600_000);
  const shm = loadDaemonConfig({ name: 'node-1', 'xdt-shm-dir': '/dev/shm/sluice-xdt-k8s/node-1', 'xdt-shm-sweep-age': '2m' });
  assert.deepEqual([shm.xdtShmDir, shm.xdtShmSweepAgeMs], ['/dev/shm/sluice-xdt-k8s/node-1', 120_000]);
  const rows: Array<[Record<string, string>, RegExp]> = [
    [{}, /name is required on Kubernetes/],
    [{ name: 'n', 'grpc-port': '70000' }, /grpc-port = 70000/],
    [{ name: 'n', 'pm-mode': 'fast' }, /pm-mode = fast, must be one of auto, dax, emulated, plain, off/],
    [{ name: 'n', 'pm-writer-limit': '0' }, /pm-writer-limit = 0/],
    [{ name: 'n', 'index': '2' }, /unknown config key "index"/],
    [{ name: 'n', 'flow-half-life': '999ms' }, /flow-half-life = 999ms, must be a duration in \[1s; 24h\]/],
    [{ name: 'n', 'xdt-shm-dir': 'dev/shm/x' }, /xdt-shm-dir = dev\/shm\/x, must be an absolute path/],
    [{ name: 'n', 'xdt-shm-sweep-age': '1s' }, /xdt-shm-sweep-age = 1s, must be a duration in \[10s; 24h\]/],
  ];
  for (const [raw, want] of rows) assert.throws(() => loadDaemonConfig(raw), want);
});

/** Just enough of an API server for the daemon's pod informer: an empty pod list, and watches held open. */
async function fakeApiServer(): Promise<{ kubeConfig: KubeConfig; lists: () => number; close: () => Promise<void> }> {
  let lists = 0;
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname !== '/api/v1/pods') {
      res.writeHead(404).end();
      return;
    }
    if (url.searchParams.get('watch') === 'true') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.flushHeaders();
      return;
    }
    lists++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: '1' }, items: [] }));
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'fake', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true }],
    users: [{ name: 'agent' }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'agent' }],
    currentContext: 'fake',
  });
  return {
    kubeConfig,
    lists: () => lists,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function call<Res>(fn: (cb: (err: grpc.ServiceError | null, res?: Res) => void) => void): Promise<Res> {
  return new Promise((resolve, reject) => fn((err, res) => (err ? reject(err) : resolve(res!))));
}

test('the DaemonSet agent keeps the flow table its consumer queue-proxies report to, serves it on GetNodeFlows and counts it in metrics', { timeout: 30_000 }, async (t) => {
  const api = await fakeApiServer();
  t.after(() => api.close());
  const config = loadDaemonConfig({ name: 'node-a', host: '127.0.0.1', 'metrics-port': '0', 'grpc-port': '0', 'pm-mode': 'off', 'flow-half-life': '2m' });
  const daemon = await startDaemon(config, { kubeConfig: api.kubeConfig, logger: silentLogger() });
  t.after(() => daemon.close());
  await daemon.synced;
  assert.ok(api.lists() >= 1);
  assert.equal(daemon.pm, undefined);
  assert.equal(daemon.flows.table.halfLifeMs, 120_000, 'flow-half-life reaches the table');
  const address = `127.0.0.1:${daemon.grpcPort}`;
  // What a consumer's queue-proxy dials (node-agent-address, at its hostIP) and what the scheduler dials (at the pod IP): one server.
  const reporter: FlowProfileClient = new (loadFlowProto().sluice.flow.v1.FlowProfile)(address, grpc.credentials.createInsecure(), CLIENT_OPTIONS);
  const scheduler: NodeAgentClient = new (loadNodeAgentProto().sluice.nodeagent.v1.NodeAgent)(address, grpc.credentials.createInsecure(), CLIENT_OPTIONS);
  t.after(() => {
    reporter.close();
    scheduler.close();
  });
  const deadline = () => ({ deadline: Date.now() + 5_000 });

  assert.deepEqual(await call<NodeFlows__Output>((cb) => scheduler.GetNodeFlows({}, deadline(), cb)), { node: 'node-a', flows: [], links: [] });
  // 4 × 5 MB pulled over TCP from a producer on node-b (the e2e XDT step), and one small same-node pull (flow, no cost sample).
  const BYTES = 4 * 5_000_000;
  await call((cb) =>
    reporter.ReportFlows(
      {
        namespace: 'default',
        function: 'xdt-consumer',
        node: 'node-a',
        samples: [
          { producer_function: 'xdt-producer', producer_node: 'node-b', path: 'TRANSFER_PATH_TCP', objects: 4, bytes: BYTES, transfer_seconds: 0.2, cost_bytes: BYTES },
          { producer_function: 'xdt-producer', producer_node: 'node-a', path: 'TRANSFER_PATH_SHM', objects: 1, bytes: 1_000, transfer_seconds: 0, cost_bytes: 0 },
        ],
      },
      deadline(),
      cb,
    ),
  );
  const view = await call<NodeFlows__Output>((cb) => scheduler.GetNodeFlows({}, deadline(), cb));
  assert.equal(view.node, 'node-a');
  assert.deepEqual(
    view.flows.map((f) => [f.namespace, f.producer_function, f.consumer_function, f.bytes_total]),
    [['default', 'xdt-producer', 'xdt-consumer', BYTES + 1_000]],
  );
  // Just reported: the decayed rate is the bytes × ln2 / half-life, less a hair of decay.
  const rate = view.flows[0].bytes_per_second;
  const fresh = ((BYTES + 1_000) * Math.LN2) / 120;
  assert.ok(rate <= fresh && rate > fresh * 0.99, `rate ${rate}, expected about ${fresh}`);
  assert.deepEqual(view.links, [{ from_node: 'node-b', to_node: 'node-a', seconds_per_gib: (0.2 / BYTES) * 2 ** 30, samples: 4 }]);

  const metrics = await (await fetch(`http://127.0.0.1:${daemon.metricsPort}/metrics`)).text();
  assert.match(metrics, /^sluice_node_agent_xdt_flow_bytes_total\{namespace="default",function="xdt-consumer",path="tcp"\} 20000000$/m);
  assert.match(metrics, /^sluice_node_agent_xdt_flow_bytes_total\{namespace="default",function="xdt-consumer",path="shm"\} 1000$/m);
  assert.match(metrics, /^sluice_node_agent_xdt_link_cost_seconds_per_gib\{from_node="node-b"\} 10\.73741824$/m);
});

test('with xdt-shm-dir the DaemonSet agent makes the node segment directory its own, keeps live segments and sweeps leaked ones', { timeout: 30_000 }, async (t) => {
  const api = await fakeApiServer();
  t.after(() => api.close());
  const hostPath = mkdtempSync(path.join(os.tmpdir(), 'sluice-xdt-k8s-'));
  t.after(() => rmSync(hostPath, { recursive: true, force: true }));
  const dir = path.join(hostPath, 'node-a');
  const base = { name: 'node-a', host: '127.0.0.1', 'metrics-port': '0', 'grpc-port': '0', 'pm-mode': 'off', 'xdt-shm-dir': dir };
  const first = await startDaemon(loadDaemonConfig(base), { kubeConfig: api.kubeConfig, logger: silentLogger() });
  assert.equal(first.xdtShmDir, dir);
  assert.equal(statSync(dir).mode & 0o7777, 0o700);
  await first.close();

  // Restarted with the node's queue-proxies still running: a live segment stays, one a dead consumer left goes.
  const live = `x-${'1'.repeat(32)}`;
  const leaked = `x-${'2'.repeat(32)}`;
  writeFileSync(path.join(dir, live), '');
  writeFileSync(path.join(dir, leaked), '');
  const old = Date.now() / 1000 - 3600;
  utimesSync(path.join(dir, leaked), old, old);
  const daemon = await startDaemon(loadDaemonConfig(base), { kubeConfig: api.kubeConfig, logger: silentLogger() });
  t.after(() => daemon.close());
  await daemon.shmSwept;
  assert.deepEqual(readdirSync(dir), [live]);
  const metrics = await (await fetch(`http://127.0.0.1:${daemon.metricsPort}/metrics`)).text();
  assert.match(metrics, /^sluice_node_agent_xdt_shm_segments_swept_total\{node="node-a"\} 1$/m);

  // A directory it cannot make its own leaves the fast path off on the node, not the agent down.
  writeFileSync(path.join(hostPath, 'node-b'), '');
  const other = await startDaemon(loadDaemonConfig({ ...base, name: 'node-b', 'xdt-shm-dir': path.join(hostPath, 'node-b') }), { kubeConfig: api.kubeConfig, logger: silentLogger() });
  t.after(() => other.close());
  assert.equal(other.xdtShmDir, undefined);
  const off = await startDaemon(loadDaemonConfig({ ...base, name: 'node-c', 'xdt-shm-dir': '' }), { kubeConfig: api.kubeConfig, logger: silentLogger() });
  t.after(() => off.close());
  assert.equal(off.xdtShmDir, undefined);
});
