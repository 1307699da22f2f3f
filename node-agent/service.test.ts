import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { Registry } from 'prom-client';
import { startNodeAgent } from './service.js';
import { silentLogger } from '../lib/logger.js';
import { CLIENT_OPTIONS, grpc, loadFlowProto } from '../lib/grpc.js';
import { functionSpecJson, instancePids, isAlive, nodeAgentClient, testConfig, unaryCall, waitFor, WatchCollector } from './fixtures.js';
import type { Instance__Output } from '../protos/generated/sluice/nodeagent/v1/Instance.js';
import type { NodeInfo__Output } from '../protos/generated/sluice/nodeagent/v1/NodeInfo.js';
import type { NodeAgentClient } from '../protos/generated/sluice/nodeagent/v1/NodeAgent.js';
import type { NodeFlows__Output } from '../protos/generated/sluice/nodeagent/v1/NodeFlows.js';

const INDEX = 202;

function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}

function start(client: NodeAgentClient, name: string, spec = functionSpecJson()): Promise<Instance__Output> {
  return unaryCall<Instance__Output>((options, cb) =>
    client.StartInstance({ instance_name: name, namespace: 'default', function: 'hello', function_spec_json: spec, generation: 3 }, options, cb),
  );
}

function stop(client: NodeAgentClient, name: string, drainTimeoutMs = 1_000): Promise<unknown> {
  return unaryCall((options, cb) => client.StopInstance({ instance_name: name, drain_timeout_ms: drainTimeoutMs }, options, cb));
}

async function getJson(url: string): Promise<{ env: Record<string, string>; cwd?: string; argv: string[] }> {
  const res = await fetch(url);
  return (await res.json()) as { env: Record<string, string>; cwd?: string; argv: string[] };
}

test('node agent over gRPC with real processes', async (t) => {
  const { config, cleanup } = testConfig(INDEX, { labels: { zone: 'a' }, milliCpu: 4000, memoryBytes: 2 ** 33, maxInstances: 3 });
  const registry = new Registry();
  const agent = await startNodeAgent(config, { logger: silentLogger(), metricsRegistry: registry, env: { PATH: process.env.PATH } });
  const client = nodeAgentClient(agent.address);
  const watch = new WatchCollector(client);
  t.after(async () => {
    watch.close();
    client.close();
    await agent.close(1_000);
    cleanup();
  });

  await t.test('GetNode describes the node', async () => {
    const info = await unaryCall<NodeInfo__Output>((options, cb) => client.GetNode({}, options, cb));
    assert.equal(agent.address.startsWith(`127.0.${INDEX}.1:`), true);
    assert.deepEqual(info, {
      name: `test-node-${INDEX}`,
      labels: { zone: 'a' },
      capacity: { milli_cpu: 4000, memory_bytes: 2 ** 33, instances: 3 },
      address_range: `127.0.${INDEX}.0/24`,
      agent_address: agent.address,
    });
  });

  await t.test('GetNodePm of a node without PM says off', async () => {
    const view = await unaryCall((options, cb) => client.GetNodePm({}, options, cb));
    assert.deepEqual(view, { mode: 'NODE_PM_MODE_OFF', writer_limit: 0, calibrated: true, functions: [] });
  });

  await t.test('FlowProfile.ReportFlows, then GetNodeFlows shows the edge and the link', async () => {
    const flowClient = new (loadFlowProto().sluice.flow.v1.FlowProfile)(agent.address, grpc.credentials.createInsecure(), CLIENT_OPTIONS);
    try {
      const empty = await unaryCall<NodeFlows__Output>((options, cb) => client.GetNodeFlows({}, options, cb));
      assert.deepEqual(empty, { node: config.name, flows: [], links: [] });

      const gib = 2 ** 30;
      await unaryCall((options, cb) =>
        flowClient.ReportFlows(
          {
            namespace: 'default',
            function: 'consumer',
            node: config.name,
            samples: [
              { producer_function: 'producer', producer_node: 'node-2', path: 'TRANSFER_PATH_TCP', objects: 2, bytes: 3 * gib, transfer_seconds: 4, cost_bytes: 2 * gib },
              // Junk is ignored on its own; the report still succeeds.
              { producer_function: '', producer_node: 'node-2', path: 'TRANSFER_PATH_TCP', objects: 1, bytes: 10 },
            ],
          },
          options,
          cb,
        ),
      );
      const view = await unaryCall<NodeFlows__Output>((options, cb) => client.GetNodeFlows({}, options, cb));
      assert.equal(view.node, config.name);
      assert.equal(view.flows.length, 1);
      const [flow] = view.flows;
      assert.deepEqual(
        { namespace: flow.namespace, producer_function: flow.producer_function, consumer_function: flow.consumer_function, bytes_total: flow.bytes_total },
        { namespace: 'default', producer_function: 'producer', consumer_function: 'consumer', bytes_total: 3 * gib },
      );
      // 3 GiB · ln2 / 60 s just now, decaying since; never more.
      const fresh = (3 * gib * Math.LN2) / 60;
      assert.ok(flow.bytes_per_second > 0.99 * fresh && flow.bytes_per_second <= fresh, `bytes_per_second ${flow.bytes_per_second}`);
      assert.deepEqual(view.links, [{ from_node: 'node-2', to_node: config.name, seconds_per_gib: 2, samples: 2 }]);

      const codeOf = (p: Promise<unknown>): Promise<number | undefined> => p.then(() => undefined, (err: grpc.ServiceError) => err.code);
      assert.equal(await codeOf(unaryCall((options, cb) => flowClient.ReportFlows({ namespace: 'default', samples: [] }, options, cb))), grpc.status.INVALID_ARGUMENT);
      assert.equal(await codeOf(unaryCall((options, cb) => flowClient.ReportFlows({ function: 'consumer' }, options, cb))), grpc.status.INVALID_ARGUMENT);

      const text = await registry.metrics();
      assert.match(text, new RegExp(`sluice_node_agent_xdt_flow_bytes_total\\{namespace="default",function="consumer",path="tcp"\\} ${3 * gib}$`, 'm'));
      assert.match(text, /^sluice_node_agent_xdt_link_cost_seconds_per_gib\{from_node="node-2"\} 2$/m);
    } finally {
      flowClient.close();
    }
  });

  let readyName = '';
  await t.test('StartInstance returns STARTING, the watch reports READY, env and args reach both processes', async () => {
    const name = uniqueName('ready');
    readyName = name;
    const started = await start(client, name, functionSpecJson({ env: { GREETING: 'hi', PORT: '1' }, extra: { containerConcurrency: 4, timeoutSeconds: 30 } }));
    assert.equal(started.phase, 'INSTANCE_PHASE_STARTING');
    assert.equal(started.node, `test-node-${INDEX}`);
    assert.match(started.ip, new RegExp(`^127\\.0\\.${INDEX}\\.\\d+$`));
    assert.deepEqual([started.traffic_port, started.admin_port, started.metrics_port], [8012, 8022, 9091]);
    assert.deepEqual([started.generation, started.milli_cpu, started.memory_bytes], [3, 100, 128 * 2 ** 20]);

    const ready = await watch.waitFor('READY', (e) => e.instance?.name === name && e.instance.phase === 'INSTANCE_PHASE_READY');
    assert.equal(ready.type, 'EVENT_TYPE_MODIFIED');
    assert.ok(ready.instance!.ready_at_ms >= ready.instance!.created_at_ms);
    assert.deepEqual(watch.history(name), ['EVENT_TYPE_ADDED/INSTANCE_PHASE_STARTING', 'EVENT_TYPE_MODIFIED/INSTANCE_PHASE_READY']);

    const fn = await getJson(`http://${started.ip}:8080/env`);
    assert.deepEqual(fn.env, {
      GREETING: 'hi',
      PORT: '8080', // the platform's PORT wins over the spec's
      HOST: started.ip,
      SLUICE_NAMESPACE: 'default',
      SLUICE_FUNCTION: 'hello',
      SLUICE_INSTANCE: name,
    });
    assert.equal(fn.cwd, config.workDir);
    const qp = await getJson(`http://${started.ip}:8022/env`);
    assert.deepEqual(qp.env, {
      SLUICE_QUEUE_PROXY_NAMESPACE: 'default',
      SLUICE_QUEUE_PROXY_FUNCTION: 'hello',
      SLUICE_QUEUE_PROXY_INSTANCE: name,
      SLUICE_QUEUE_PROXY_BIND_ADDRESS: started.ip,
      SLUICE_QUEUE_PROXY_TRAFFIC_PORT: '8012',
      SLUICE_QUEUE_PROXY_ADMIN_PORT: '8022',
      SLUICE_QUEUE_PROXY_METRICS_PORT: '9091',
      SLUICE_QUEUE_PROXY_USER_HOST: started.ip,
      SLUICE_QUEUE_PROXY_USER_PORT: '8080',
      SLUICE_QUEUE_PROXY_CONTAINER_CONCURRENCY: '4',
      SLUICE_QUEUE_PROXY_TIMEOUT: '30s',
      SLUICE_QUEUE_PROXY_READINESS_PATH: '',
      SLUICE_QUEUE_PROXY_AUTOSCALER_ADDRESS: '',
      SLUICE_QUEUE_PROXY_DRAIN_TIMEOUT: '2s',
      SLUICE_QUEUE_PROXY_NODE: config.name,
      // Its flow reports go to this agent.
      SLUICE_QUEUE_PROXY_NODE_AGENT_ADDRESS: agent.address,
    });
    assert.ok(existsSync(`${config.logDir}/${name}.function.log`));
    assert.ok(existsSync(`${config.logDir}/${name}.queue-proxy.log`));
  });

  await t.test('a new watcher first gets every current instance as ADDED', async () => {
    const late = new WatchCollector(client);
    try {
      const added = await late.waitFor('ADDED', (e) => e.instance?.name === readyName);
      assert.equal(added.type, 'EVENT_TYPE_ADDED');
      assert.equal(added.instance!.phase, 'INSTANCE_PHASE_READY');
      // The initial list ends with SYNCED, so a reconnected watcher can drop what it no longer lists.
      const synced = await late.waitFor('SYNCED', (e) => e.type === 'EVENT_TYPE_SYNCED');
      assert.equal(synced.instance, null);
      assert.ok(late.events.indexOf(synced) > late.events.indexOf(added), 'SYNCED came before the initial list ended');
    } finally {
      late.close();
    }
  });

  await t.test('kill -9 of the function server: FAILED, then DELETED, and the queue-proxy is gone', async () => {
    const name = uniqueName('crash');
    await start(client, name);
    await watch.waitFor('READY', (e) => e.instance?.name === name && e.instance.phase === 'INSTANCE_PHASE_READY');
    const pids = instancePids(name);
    assert.ok(pids.functionServer && pids.queueProxy, `both processes found: ${JSON.stringify(pids)}`);
    process.kill(pids.functionServer!, 'SIGKILL');
    const deleted = await watch.waitFor('DELETED', (e) => e.instance?.name === name && e.type === 'EVENT_TYPE_DELETED');
    assert.equal(deleted.instance!.phase, 'INSTANCE_PHASE_FAILED');
    assert.match(deleted.instance!.message, /^function server was killed by signal SIGKILL \(log: .*\.function\.log\)$/);
    assert.deepEqual(watch.history(name), [
      'EVENT_TYPE_ADDED/INSTANCE_PHASE_STARTING',
      'EVENT_TYPE_MODIFIED/INSTANCE_PHASE_READY',
      'EVENT_TYPE_MODIFIED/INSTANCE_PHASE_FAILED',
      'EVENT_TYPE_DELETED/INSTANCE_PHASE_FAILED',
    ]);
    assert.equal(isAlive(pids.queueProxy!), false, 'queue-proxy killed');
    assert.equal(isAlive(pids.functionServer!), false);
    assert.match(await registry.metrics(), /sluice_node_agent_instance_failures_total\{namespace="default",function="hello"\} 1/);
  });

  await t.test('StopInstance drains: TERMINATING, DELETED, both processes gone when it returns', async () => {
    const name = uniqueName('stop');
    await start(client, name);
    await watch.waitFor('READY', (e) => e.instance?.name === name && e.instance.phase === 'INSTANCE_PHASE_READY');
    const pids = instancePids(name);
    assert.ok(pids.functionServer && pids.queueProxy);
    await stop(client, name);
    assert.equal(isAlive(pids.functionServer!), false);
    assert.equal(isAlive(pids.queueProxy!), false);
    await watch.waitFor('DELETED', (e) => e.instance?.name === name && e.type === 'EVENT_TYPE_DELETED');
    assert.deepEqual(watch.history(name), [
      'EVENT_TYPE_ADDED/INSTANCE_PHASE_STARTING',
      'EVENT_TYPE_MODIFIED/INSTANCE_PHASE_READY',
      'EVENT_TYPE_MODIFIED/INSTANCE_PHASE_TERMINATING',
      'EVENT_TYPE_DELETED/INSTANCE_PHASE_TERMINATING',
    ]);
    await stop(client, name); // stopping an instance that is gone is not an error
  });

  await t.test('refusals carry gRPC status codes', async () => {
    const codeOf = (p: Promise<unknown>): Promise<number | undefined> => p.then(() => undefined, (err: grpc.ServiceError) => err.code);
    assert.equal(await codeOf(start(client, readyName)), grpc.status.INVALID_ARGUMENT, 'duplicate name');
    assert.equal(await codeOf(start(client, 'Bad_Name')), grpc.status.INVALID_ARGUMENT, 'bad name');
    assert.equal(await codeOf(start(client, uniqueName('x'), '{')), grpc.status.INVALID_ARGUMENT, 'bad JSON');
    assert.equal(await codeOf(start(client, uniqueName('x'), JSON.stringify({ kind: 'Function' }))), grpc.status.INVALID_ARGUMENT);
    const noCommand = functionSpecJson().replace('"command":["node","http-server.mjs"],', '"image":"x",');
    await assert.rejects(start(client, uniqueName('x'), noCommand), /spec.container.command is required on the local platform/);
  });

  await t.test('max-instances is enforced', async () => {
    const names = [uniqueName('fill'), uniqueName('fill')];
    for (const name of names) await start(client, name);
    await assert.rejects(start(client, uniqueName('over')), (err: grpc.ServiceError) => {
      assert.equal(err.code, grpc.status.RESOURCE_EXHAUSTED);
      assert.match(err.details, /runs its maximum of 3 instances/);
      return true;
    });
    await Promise.all(names.map((n) => stop(client, n)));
  });

  await t.test('metrics', async () => {
    const text = await registry.metrics();
    assert.match(text, /sluice_node_agent_instances\{phase="ready"\} 1/);
    assert.match(text, /sluice_node_agent_instances\{phase="starting"\} 0/);
    assert.match(text, /sluice_node_agent_instance_starts_total\{namespace="default",function="hello"\} 5/);
  });

  await t.test('close stops every instance', async () => {
    const pids = instancePids(readyName);
    assert.ok(pids.functionServer && pids.queueProxy);
    await agent.close(1_000);
    assert.equal(isAlive(pids.functionServer!), false);
    assert.equal(isAlive(pids.queueProxy!), false);
    await waitFor('DELETED of the last instance', () => watch.history(readyName).includes('EVENT_TYPE_DELETED/INSTANCE_PHASE_TERMINATING'));
  });
});
