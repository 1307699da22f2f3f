import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Pod } from '@kubernetes/client-node';
import { nodeAgentTargets } from './node-agents.js';

const AGENT = { 'app.kubernetes.io/name': 'sluice', 'app.kubernetes.io/instance': 'sluice', 'app.kubernetes.io/component': 'node-agent' };

function agent(
  name: string,
  node: string | undefined,
  extra: { ip?: string; phase?: string; ready?: boolean; created?: string; deleting?: boolean; labels?: Record<string, string>; port?: number | null } = {},
): V1Pod {
  const port = extra.port === undefined ? 9095 : extra.port;
  return {
    metadata: {
      name,
      namespace: 'sluice-system',
      labels: extra.labels ?? AGENT,
      creationTimestamp: new Date(extra.created ?? '2026-01-01T00:00:00Z'),
      ...(extra.deleting ? { deletionTimestamp: new Date('2026-01-02T00:00:00Z') } : {}),
    },
    spec: {
      nodeName: node,
      containers: [{ name: 'node-agent', ports: [{ name: 'metrics', containerPort: 9090 }, ...(port === null ? [] : [{ name: 'grpc', containerPort: port, hostPort: port }])] }],
    },
    status: {
      phase: extra.phase ?? 'Running',
      podIP: extra.ip,
      conditions: [{ type: 'Ready', status: extra.ready === false ? 'False' : 'True' }],
    },
  };
}

test('nodeAgentTargets: each node agent pod by node, at its pod IP and its grpc port', () => {
  const rows: Array<{ name: string; pods: V1Pod[]; want: Array<[string, string]> }> = [
    { name: 'one agent per node', pods: [agent('a', 'node-1', { ip: '10.244.1.2' }), agent('b', 'node-2', { ip: '10.244.2.3' })], want: [['node-1', '10.244.1.2:9095'], ['node-2', '10.244.2.3:9095']] },
    { name: 'the grpc port the pod names', pods: [agent('a', 'node-1', { ip: '10.0.0.5', port: 9200 })], want: [['node-1', '10.0.0.5:9200']] },
    { name: 'no grpc port named: the default', pods: [agent('a', 'node-1', { ip: '10.0.0.5', port: null })], want: [['node-1', '10.0.0.5:9095']] },
    { name: 'IPv6 pod IP', pods: [agent('a', 'node-1', { ip: 'fd00::5' })], want: [['node-1', '[fd00::5]:9095']] },
    {
      name: 'not yet or no longer serving: no IP, pending, unbound, deleting',
      pods: [agent('a', 'node-1'), agent('b', 'node-2', { ip: '10.0.0.2', phase: 'Pending' }), agent('c', undefined, { ip: '10.0.0.3' }), agent('d', 'node-4', { ip: '10.0.0.4', deleting: true })],
      want: [],
    },
    {
      name: 'other pods (function instances, another component) are not agents',
      pods: [agent('a', 'node-1', { ip: '10.0.0.2', labels: { 'sluice.dev/function': 'pm' } }), agent('b', 'node-1', { ip: '10.0.0.3', labels: { ...AGENT, 'app.kubernetes.io/component': 'scheduler' } })],
      want: [],
    },
    {
      name: 'a rolling update: the ready one, then the newer',
      pods: [
        agent('old', 'node-1', { ip: '10.0.0.2' }),
        agent('new-not-ready', 'node-1', { ip: '10.0.0.3', ready: false, created: '2026-01-03T00:00:00Z' }),
        agent('old2', 'node-2', { ip: '10.0.1.2' }),
        agent('new2', 'node-2', { ip: '10.0.1.3', created: '2026-01-03T00:00:00Z' }),
      ],
      want: [['node-1', '10.0.0.2:9095'], ['node-2', '10.0.1.3:9095']],
    },
  ];
  for (const row of rows) assert.deepEqual([...nodeAgentTargets(row.pods)].sort(), row.want, row.name);
});
