import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pickBackend, proxyRoutes } from './proxy-routes.js';
import type { EndpointSlice, Service } from './types.js';

const service = (name: string, spec: Service['spec'], namespace = 'ns'): Service => ({ metadata: { name, namespace }, spec });
const slice = (name: string, svc: string, ports: EndpointSlice['ports'], endpoints: EndpointSlice['endpoints'], extra: Partial<EndpointSlice> = {}): EndpointSlice => ({
  metadata: { name, namespace: 'ns', labels: { 'kubernetes.io/service-name': svc } },
  addressType: 'IPv4',
  ports,
  endpoints,
  ...extra,
});

test('proxyRoutes: one route per TCP port and cluster IP, backends from the matching slice port, table', () => {
  const web = service('web', { clusterIP: '10.96.0.10', ports: [{ name: 'http', port: 80 }, { name: 'admin', port: 9090 }, { name: 'dns', port: 53, protocol: 'UDP' }] });
  const slices = [
    slice('web-a', 'web', [{ name: 'http', port: 8080, protocol: 'TCP' }, { name: 'admin', port: 9091 }], [
      { addresses: ['10.244.1.3'], conditions: { ready: true } },
      { addresses: ['10.244.2.2'], conditions: { ready: null } },
      { addresses: ['10.244.1.9'], conditions: { ready: false, serving: true, terminating: true } },
    ]),
    slice('web-b', 'web', [{ name: 'http', port: 8080 }], [{ addresses: ['10.244.1.3'] }, { addresses: ['10.244.1.4'], conditions: { ready: true } }]),
    slice('other', 'other', [{ name: 'http', port: 1 }], [{ addresses: ['10.244.9.9'] }]),
    slice('web-v6', 'web', [{ name: 'http', port: 8080 }], [{ addresses: ['fd00::1'] }], { addressType: 'IPv6' }),
  ];
  const routes = proxyRoutes([web], slices);
  assert.deepEqual([...routes.keys()], ['10.96.0.10:80', '10.96.0.10:9090']);
  assert.deepEqual(routes.get('10.96.0.10:80'), {
    key: '10.96.0.10:80',
    ip: '10.96.0.10',
    port: 80,
    namespace: 'ns',
    service: 'web',
    portName: 'http',
    backends: [
      { ip: '10.244.1.3', port: 8080 },
      { ip: '10.244.1.4', port: 8080 },
      { ip: '10.244.2.2', port: 8080 },
    ],
  });
  assert.deepEqual(routes.get('10.96.0.10:9090')?.backends, [{ ip: '10.244.1.3', port: 9091 }, { ip: '10.244.2.2', port: 9091 }]);
});

test('proxyRoutes: what gets no route, and the terminating fallback', () => {
  const rows: Array<{ name: string; services: Service[]; slices?: EndpointSlice[]; keys: string[]; backends?: string[] }> = [
    { name: 'headless', services: [service('h', { clusterIP: 'None', ports: [{ port: 80 }] })], keys: [] },
    { name: 'ExternalName', services: [service('e', { type: 'ExternalName', ports: [{ port: 80 }] })], keys: [] },
    { name: 'dual-stack: the IPv4 cluster IPs only', services: [service('d', { clusterIP: 'fd00::5', clusterIPs: ['fd00::5', '10.96.0.5'], ports: [{ port: 80 }] })], keys: ['10.96.0.5:80'] },
    {
      name: 'the kubernetes Service, unnamed port matching ""',
      services: [service('kubernetes', { clusterIP: '10.96.0.1', ports: [{ name: 'https', port: 443 }] }, 'default')],
      slices: [{ metadata: { name: 'kubernetes', namespace: 'default', labels: { 'kubernetes.io/service-name': 'kubernetes' } }, addressType: 'IPv4', ports: [{ name: 'https', port: 6443, protocol: 'TCP' }], endpoints: [{ addresses: ['10.244.0.1'], conditions: { ready: true } }] }],
      keys: ['10.96.0.1:443'],
      backends: ['10.244.0.1:6443'],
    },
    {
      name: 'nothing ready: serving-and-terminating endpoints serve',
      services: [service('t', { clusterIP: '10.96.0.7', ports: [{ port: 80 }] })],
      slices: [slice('t', 't', [{ port: 8080 }], [{ addresses: ['10.244.1.2'], conditions: { ready: false, serving: true, terminating: true } }, { addresses: ['10.244.1.3'], conditions: { ready: false, serving: false, terminating: true } }])],
      keys: ['10.96.0.7:80'],
      backends: ['10.244.1.2:8080'],
    },
    {
      name: 'another namespace’s slice does not count',
      services: [service('x', { clusterIP: '10.96.0.8', ports: [{ port: 80 }] })],
      slices: [{ ...slice('x', 'x', [{ port: 8080 }], [{ addresses: ['10.244.1.2'] }]), metadata: { name: 'x', namespace: 'other', labels: { 'kubernetes.io/service-name': 'x' } } }],
      keys: ['10.96.0.8:80'],
      backends: [],
    },
  ];
  for (const row of rows) {
    const routes = proxyRoutes(row.services, row.slices ?? []);
    assert.deepEqual([...routes.keys()], row.keys, row.name);
    if (row.backends) assert.deepEqual(routes.get(row.keys[0])?.backends.map((b) => `${b.ip}:${b.port}`), row.backends, row.name);
  }
});

test('pickBackend: round-robin', () => {
  const backends = [{ ip: 'a', port: 1 }, { ip: 'b', port: 1 }, { ip: 'c', port: 1 }];
  assert.deepEqual([0, 1, 2, 3, 4].map((n) => pickBackend(backends, n)?.ip), ['a', 'b', 'c', 'a', 'b']);
  assert.equal(pickBackend([], 0), undefined);
});
