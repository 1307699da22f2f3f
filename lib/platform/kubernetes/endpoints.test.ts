import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Endpoint, V1EndpointSlice } from '@kubernetes/client-node';
import { readyEndpoints } from './endpoints.js';

function slice(endpoints: V1Endpoint[], ports = [{ name: 'http', port: 8012 }, { name: 'xdt', port: 8013 }], addressType = 'IPv4'): V1EndpointSlice {
  return { addressType, endpoints, ports };
}

function ep(ip: string, pod: string, node: string, conditions?: V1Endpoint['conditions']): V1Endpoint {
  return { addresses: [ip], targetRef: { kind: 'Pod', name: pod }, nodeName: node, ...(conditions ? { conditions } : {}) };
}

test('readyEndpoints keeps ready endpoints with the queue-proxy traffic port, across slices, de-duplicated', () => {
  const cases: Array<[string, V1EndpointSlice[], string[]]> = [
    ['ready, and nil ready counts as ready', [slice([ep('10.244.1.2', 'a', 'node-1', { ready: true }), ep('10.244.2.2', 'b', 'node-2')])], ['a@10.244.1.2:8012/node-1', 'b@10.244.2.2:8012/node-2']],
    ['not ready and terminating are left out', [slice([ep('10.244.1.2', 'a', 'node-1', { ready: false }), ep('10.244.1.3', 'c', 'node-1', { ready: true, terminating: true })])], []],
    ['an endpoint in two slices counts once', [slice([ep('10.244.1.2', 'a', 'node-1')]), slice([ep('10.244.1.2', 'a', 'node-1')])], ['a@10.244.1.2:8012/node-1']],
    ['a slice without the http port says nothing', [slice([ep('10.244.1.2', 'a', 'node-1')], [{ name: 'metrics', port: 9091 }])], []],
    ['FQDN slices are ignored', [slice([ep('x.example', 'a', 'node-1')], undefined, 'FQDN')], []],
    ['no slices, no endpoints', [], []],
  ];
  for (const [name, slices, want] of cases) {
    assert.deepEqual(readyEndpoints(slices).map((e) => `${e.instanceName}@${e.ip}:${e.trafficPort}/${e.node}`), want, name);
  }
});
