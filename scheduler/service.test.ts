import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { startScheduler } from './service.js';
import { defaultConfig } from './config.js';
import { CLIENT_OPTIONS, grpc, loadSchedulerProto } from '../lib/grpc.js';
import { silentLogger } from '../lib/logger.js';
import type { ScheduleRequest } from '../protos/generated/sluice/scheduler/v1/ScheduleRequest.js';
import type { ScheduleResponse__Output } from '../protos/generated/sluice/scheduler/v1/ScheduleResponse.js';
import type { SchedulerClient } from '../protos/generated/sluice/scheduler/v1/Scheduler.js';

const SPEC = JSON.stringify({
  apiVersion: 'sluice.dev/v1alpha1',
  kind: 'Function',
  metadata: { name: 'hello' },
  spec: { container: { command: ['node', 'server.js'], resources: { cpu: '500m', memory: '256Mi' } }, placement: { nodeSelector: { zone: 'a' } } },
});

function node(name: string, zone: string, milliCpu: number, instances: Array<{ fn: string; phase?: string; cpu: number }> = []) {
  return {
    node: { name, labels: { zone }, capacity: { milli_cpu: milliCpu, memory_bytes: 2 ** 32, instances: 10 } },
    instances: instances.map((i, n) => ({
      name: `${i.fn}-${n}`,
      namespace: 'default',
      function: i.fn,
      node: name,
      phase: (i.phase ?? 'INSTANCE_PHASE_READY') as 'INSTANCE_PHASE_READY',
      milli_cpu: i.cpu,
      memory_bytes: 2 ** 27,
    })),
  };
}

function call(client: SchedulerClient, request: ScheduleRequest): Promise<ScheduleResponse__Output> {
  return new Promise((resolve, reject) => {
    client.Schedule(request, { deadline: Date.now() + 5_000 }, (err, res) => (err || !res ? reject(err) : resolve(res)));
  });
}

test('Scheduler.Schedule over gRPC on loopback', async (t) => {
  const registry = new Registry();
  const scheduler = await startScheduler(
    { ...defaultConfig(), grpcAddress: '127.0.0.1:0', metricsPort: 0 },
    { logger: silentLogger(), metricsRegistry: registry, random: () => 0 },
  );
  const proto = loadSchedulerProto();
  const client = new proto.sluice.scheduler.v1.Scheduler(`127.0.0.1:${scheduler.port}`, grpc.credentials.createInsecure(), CLIENT_OPTIONS);
  t.after(async () => {
    client.close();
    await scheduler.close();
  });

  const base = { instance_name: 'hello-1', namespace: 'default', function: 'hello', function_spec_json: SPEC };

  await t.test('scheduled on the fitting, matching node; failed instances hold no resources', async () => {
    const res = await call(client, {
      ...base,
      nodes: [
        node('node-1', 'b', 4000),
        node('node-2', 'a', 1000, [{ fn: 'other', cpu: 800, phase: 'INSTANCE_PHASE_FAILED' }]),
        node('node-3', 'a', 1000, [{ fn: 'other', cpu: 800 }]),
      ],
    });
    assert.equal(res.code, 'SCHEDULE_CODE_SCHEDULED');
    assert.equal(res.node, 'node-2');
    assert.deepEqual(res.scores.map((s) => s.node), ['node-2']);
    // cpu 50, memory 93.75; hello is no predicted PM writer, names no data and has no XDT flows: pm-writer-spread, data-affinity and cost-model are neutral.
    assert.deepEqual(res.scores[0].by_plugin, { 'least-allocated': 72, spread: 100, 'data-affinity': 100, 'pm-writer-spread': 100, 'cost-model': 100 });
    assert.equal(res.scores[0].total, 72 + 2 * 100 + 2 * 100 + 2 * 100 + 3 * 100);
  });

  await t.test('unschedulable with reasons per node', async () => {
    const res = await call(client, { ...base, nodes: [node('node-1', 'b', 4000), node('node-3', 'a', 1000, [{ fn: 'other', cpu: 800 }])] });
    assert.equal(res.code, 'SCHEDULE_CODE_UNSCHEDULABLE');
    assert.deepEqual(res.reasons, {
      'node-1': 'node-selector: node selector does not match: label zone=b, want zone=a',
      'node-3': 'node-resources-fit: insufficient cpu: requests 500m, 200m free of 1000m',
    });
    assert.match(res.message, /^0\/2 nodes are available: node-1: .* \| node-3: /);
  });

  await t.test("a predicted PM writer goes to the node with the lower writer load, from the nodes' PM views", async () => {
    const writer = JSON.stringify({ apiVersion: 'sluice.dev/v1alpha1', kind: 'Function', metadata: { name: 'w' }, spec: { container: { command: ['node', 'w.js'] } } });
    const pm = { mode: 'NODE_PM_MODE_EMULATED' as const, writer_limit: 2, calibrated: true, functions: [{ namespace: 'default', function: 'w', written_bytes: 2 ** 21, samples: 3 }] };
    const res = await call(client, {
      instance_name: 'w-1',
      namespace: 'default',
      function: 'w',
      function_spec_json: writer,
      nodes: [
        // node-1 already runs a writer ("other", known to node-2's profiler only) and is emptier otherwise.
        { ...node('node-1', 'a', 4000, [{ fn: 'other', cpu: 100 }]), pm },
        { ...node('node-2', 'a', 4000, [{ fn: 'filler', cpu: 1000 }]), pm: { ...pm, functions: [...pm.functions, { namespace: 'default', function: 'other', written_bytes: 2 ** 20, samples: 1 }] } },
      ],
    });
    assert.equal(res.code, 'SCHEDULE_CODE_SCHEDULED');
    assert.equal(res.node, 'node-2');
    assert.deepEqual(
      res.scores.map((s) => [s.node, s.by_plugin['pm-writer-spread']]),
      [['node-2', 67], ['node-1', 50]],
    );
  });

  await t.test("a consumer goes to its producer's node, from the request's flows and link costs; junk entries are ignored", async () => {
    const consumer = JSON.stringify({ apiVersion: 'sluice.dev/v1alpha1', kind: 'Function', metadata: { name: 'c' }, spec: { container: { command: ['node', 'c.js'] } } });
    const res = await call(client, {
      instance_name: 'c-1',
      namespace: 'default',
      function: 'c',
      function_spec_json: consumer,
      // Spread alone prefers node-1: node-2 already runs a c.
      nodes: [node('node-1', 'a', 4000), node('node-2', 'a', 4000, [{ fn: 'p', cpu: 100 }, { fn: 'c', cpu: 100 }])],
      flows: [
        { namespace: 'default', producer_function: 'p', consumer_function: 'c', bytes_per_second: 2 ** 28, bytes_total: 2 ** 34 },
        { namespace: 'default', producer_function: '', consumer_function: 'c', bytes_per_second: 2 ** 40, bytes_total: 0 },
        { namespace: 'default', producer_function: 'c', consumer_function: 'x', bytes_per_second: -1, bytes_total: 0 },
      ],
      link_costs: [
        { from_node: 'node-2', to_node: 'node-1', seconds_per_gib: 9.1, samples: 4 },
        { from_node: 'node-2', to_node: 'node-2', seconds_per_gib: 0.3, samples: 4 },
        { from_node: '', to_node: 'node-1', seconds_per_gib: 1, samples: 1 },
        { from_node: 'node-1', to_node: 'node-2', seconds_per_gib: Number.NaN, samples: 1 },
      ],
    });
    assert.equal(res.code, 'SCHEDULE_CODE_SCHEDULED');
    assert.equal(res.node, 'node-2');
    assert.deepEqual(
      res.scores.map((s) => [s.node, s.by_plugin['cost-model'], s.by_plugin.spread]),
      [['node-2', 100, 0], ['node-1', 0, 100]],
    );
  });

  await t.test('malformed requests are answered with SCHEDULE_CODE_ERROR', async () => {
    const bad = await call(client, { ...base, function_spec_json: '{"kind":', nodes: [] });
    assert.equal(bad.code, 'SCHEDULE_CODE_ERROR');
    assert.match(bad.message, /function_spec_json is not JSON/);
    const invalid = await call(client, { ...base, function_spec_json: JSON.stringify({ kind: 'Function' }), nodes: [] });
    assert.equal(invalid.code, 'SCHEDULE_CODE_ERROR');
    assert.match(invalid.message, /invalid Function/);
    const noInfo = await call(client, { ...base, nodes: [{ instances: [] }] });
    assert.equal(noInfo.code, 'SCHEDULE_CODE_ERROR');
    assert.match(noInfo.message, /nodes\[0\]: node info with a name is required/);
  });

  await t.test('metrics count attempts by result', async () => {
    const text = await registry.metrics();
    assert.match(text, /sluice_scheduler_schedule_attempts_total\{result="scheduled"\} 3/);
    assert.match(text, /sluice_scheduler_schedule_attempts_total\{result="unschedulable"\} 1/);
    assert.match(text, /sluice_scheduler_schedule_attempts_total\{result="error"\} 3/);
    assert.match(text, /sluice_scheduler_scheduling_duration_seconds_count 7/);
  });
});

test('metrics server serves /metrics when metrics-port is set', async () => {
  const scheduler = await startScheduler({ ...defaultConfig(), grpcAddress: '127.0.0.1:0', metricsPort: 0 }, { logger: silentLogger() });
  await scheduler.close();
  assert.equal(scheduler.metricsPort, undefined);
  const { freePort } = await import('../lib/net.js');
  const port = await freePort();
  const withMetrics = await startScheduler({ ...defaultConfig(), grpcAddress: '127.0.0.1:0', metricsPort: port }, { logger: silentLogger() });
  try {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /sluice_scheduler_schedule_attempts_total/);
  } finally {
    await withMetrics.close();
  }
});
