import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dataAffinityScore } from './data-affinity.js';
import type { NodeState } from '../framework.js';

function node(labels: Record<string, string>): NodeState {
  return { name: 'n', labels, capacity: { milliCpu: 1000, memoryBytes: 2 ** 30, instances: 10 }, instances: [] };
}

test('dataAffinityScore rewards the share of the data labels a node carries', () => {
  const affinity = { 'sluice.dev/dataset': 'logs', zone: 'a' };
  const cases: Array<[string, Record<string, string> | undefined, Record<string, string>, number]> = [
    ['no affinity is neutral', undefined, {}, 100],
    ['empty affinity is neutral', {}, { zone: 'a' }, 100],
    ['every label', affinity, { 'sluice.dev/dataset': 'logs', zone: 'a', other: 'x' }, 100],
    ['half the labels', affinity, { zone: 'a' }, 50],
    ['a label with another value does not count', affinity, { 'sluice.dev/dataset': 'metrics', zone: 'b' }, 0],
    ['none', affinity, {}, 0],
  ];
  for (const [name, a, labels, want] of cases) assert.equal(dataAffinityScore(a, node(labels)), want, name);
});

test('with the default weights a function goes where its data is, even onto the busier node', async () => {
  const { defaultConfig } = await import('../config.js');
  const { defaultRegistry, profileFromWeights } = await import('../default-registry.js');
  const { schedule } = await import('../schedule.js');
  const { parseFunctionDefinition } = await import('../../lib/function-spec.js');
  const definition = parseFunctionDefinition(
    { apiVersion: 'sluice.dev/v1alpha1', kind: 'Function', metadata: { name: 'etl' }, spec: { container: { command: ['x'] }, placement: { dataAffinity: { 'sluice.dev/dataset': 'logs' } } } },
    'test',
  );
  const busy = { ...node({ 'sluice.dev/dataset': 'logs' }), name: 'with-data', instances: [{ namespace: 'default', function: 'other', milliCpu: 600, memoryBytes: 2 ** 28 }] };
  const idle = { ...node({}), name: 'idle' };
  const profile = profileFromWeights(defaultRegistry(), defaultConfig().scoreWeights);
  const pod = { namespace: 'default', function: 'etl', definition, requests: { milliCpu: 100, memoryBytes: 2 ** 27 } };
  const result = schedule(pod, { nodes: [busy, idle] }, profile, () => 0);
  assert.equal(result.code, 'scheduled');
  assert.equal(result.code === 'scheduled' && result.node, 'with-data');
  // Without an affinity the idle node wins: the plugin is neutral then.
  const plain = schedule({ ...pod, definition: { ...definition, spec: { ...definition.spec, placement: undefined } } }, { nodes: [busy, idle] }, profile, () => 0);
  assert.equal(plain.code === 'scheduled' && plain.node, 'idle');
});
