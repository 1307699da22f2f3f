// Builders of pods and nodes for the scheduler tests.
import { instanceRequests, parseFunctionDefinition } from '../lib/function-spec.js';
import type { NodePm, NodeState, PlacedInstance, Pod } from './framework.js';

export const MI = 2 ** 20;
export const GI = 2 ** 30;

export function makePod(
  options: { name?: string; namespace?: string; cpu?: string; memory?: string; nodeSelector?: Record<string, string> } = {},
): Pod {
  const definition = parseFunctionDefinition(
    {
      apiVersion: 'sluice.dev/v1alpha1',
      kind: 'Function',
      metadata: { name: options.name ?? 'hello', namespace: options.namespace ?? 'default' },
      spec: {
        container: { command: ['node', 'server.js'], resources: { cpu: options.cpu ?? '100m', memory: options.memory ?? '128Mi' } },
        ...(options.nodeSelector ? { placement: { nodeSelector: options.nodeSelector } } : {}),
      },
    },
    'test',
  );
  return {
    namespace: definition.metadata.namespace ?? 'default',
    function: definition.metadata.name,
    definition,
    requests: instanceRequests(definition),
  };
}

export function placed(fn: string, milliCpu = 100, memoryBytes = 128 * MI, namespace = 'default'): PlacedInstance {
  return { namespace, function: fn, milliCpu, memoryBytes };
}

export function makeNode(
  name: string,
  options: { milliCpu?: number; memoryBytes?: number; maxInstances?: number; labels?: Record<string, string>; instances?: PlacedInstance[]; pm?: NodePm } = {},
): NodeState {
  return {
    name,
    labels: options.labels ?? {},
    capacity: { milliCpu: options.milliCpu ?? 2000, memoryBytes: options.memoryBytes ?? 4 * GI, instances: options.maxInstances ?? 100 },
    instances: options.instances ?? [],
    ...(options.pm ? { pm: options.pm } : {}),
  };
}

/** A node's PM view: `writerLimit` (Infinity = unbounded, undefined = calibrating), predicted bytes written by function key. */
export function pmView(writerLimit: number | undefined, written: Record<string, number> = {}, mode: NodePm['mode'] = 'emulated', samples = 5): NodePm {
  return { mode, writerLimit, functions: Object.fromEntries(Object.entries(written).map(([fn, writtenBytes]) => [fn, { writtenBytes, samples }])) };
}
