import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromServices, serviceEnvVars } from './service-env.js';
import type { Service } from './types.js';

function svc(namespace: string, name: string, clusterIP: string | undefined, ports: Service['spec']['ports'] = [{ port: 80 }]): Service {
  return { metadata: { namespace, name }, spec: { clusterIP, ports } };
}

test('fromServices: host, ports (first port unnamed-compatible), named ports and Docker-link variables', () => {
  const got = fromServices([
    svc('ns', 'sluice-autoscaler', '10.96.0.20', [
      { name: 'grpc', port: 8090, protocol: 'TCP' },
      { name: 'metrics', port: 9090 },
      { name: 'dns-udp', port: 53, protocol: 'UDP' },
    ]),
  ]);
  assert.deepEqual(Object.fromEntries(got), {
    SLUICE_AUTOSCALER_SERVICE_HOST: '10.96.0.20',
    SLUICE_AUTOSCALER_SERVICE_PORT: '8090',
    SLUICE_AUTOSCALER_SERVICE_PORT_GRPC: '8090',
    SLUICE_AUTOSCALER_SERVICE_PORT_METRICS: '9090',
    SLUICE_AUTOSCALER_SERVICE_PORT_DNS_UDP: '53',
    SLUICE_AUTOSCALER_PORT: 'tcp://10.96.0.20:8090',
    SLUICE_AUTOSCALER_PORT_8090_TCP: 'tcp://10.96.0.20:8090',
    SLUICE_AUTOSCALER_PORT_8090_TCP_PROTO: 'tcp',
    SLUICE_AUTOSCALER_PORT_8090_TCP_PORT: '8090',
    SLUICE_AUTOSCALER_PORT_8090_TCP_ADDR: '10.96.0.20',
    SLUICE_AUTOSCALER_PORT_9090_TCP: 'tcp://10.96.0.20:9090',
    SLUICE_AUTOSCALER_PORT_9090_TCP_PROTO: 'tcp',
    SLUICE_AUTOSCALER_PORT_9090_TCP_PORT: '9090',
    SLUICE_AUTOSCALER_PORT_9090_TCP_ADDR: '10.96.0.20',
    SLUICE_AUTOSCALER_PORT_53_UDP: 'udp://10.96.0.20:53',
    SLUICE_AUTOSCALER_PORT_53_UDP_PROTO: 'udp',
    SLUICE_AUTOSCALER_PORT_53_UDP_PORT: '53',
    SLUICE_AUTOSCALER_PORT_53_UDP_ADDR: '10.96.0.20',
  });
});

test('fromServices: IPv6 cluster IPs are bracketed in URLs', () => {
  const got = fromServices([svc('ns', 'v6', 'fd00::1', [{ port: 443 }])]);
  assert.equal(got.get('V6_PORT'), 'tcp://[fd00::1]:443');
  assert.equal(got.get('V6_SERVICE_HOST'), 'fd00::1');
});

test('serviceEnvVars: which Services a pod sees (kubelet getServiceEnvVarMap)', () => {
  const kubernetes = svc('default', 'kubernetes', '10.96.0.1', [{ name: 'https', port: 443 }]);
  const rows: Array<{ name: string; services: Service[]; namespace: string; links: boolean; hosts: Record<string, string> }> = [
    {
      name: "the pod's namespace plus default/kubernetes",
      services: [kubernetes, svc('ns', 'web', '10.96.0.10'), svc('other', 'db', '10.96.0.11'), svc('default', 'web2', '10.96.0.12')],
      namespace: 'ns',
      links: true,
      hosts: { KUBERNETES_SERVICE_HOST: '10.96.0.1', WEB_SERVICE_HOST: '10.96.0.10' },
    },
    {
      name: 'enableServiceLinks false: only the master service',
      services: [kubernetes, svc('ns', 'web', '10.96.0.10')],
      namespace: 'ns',
      links: false,
      hosts: { KUBERNETES_SERVICE_HOST: '10.96.0.1' },
    },
    {
      name: 'enableServiceLinks false in default: still the master service, not the others',
      services: [kubernetes, svc('default', 'web', '10.96.0.10')],
      namespace: 'default',
      links: false,
      hosts: { KUBERNETES_SERVICE_HOST: '10.96.0.1' },
    },
    {
      name: 'headless and ExternalName Services have no variables',
      services: [svc('ns', 'headless', 'None'), svc('ns', 'external', undefined), svc('ns', 'empty', '')],
      namespace: 'ns',
      links: true,
      hosts: {},
    },
    {
      name: "a Service named kubernetes in the pod's namespace wins over default's (whatever the order)",
      services: [svc('ns', 'kubernetes', '10.96.0.99'), kubernetes],
      namespace: 'ns',
      links: true,
      hosts: { KUBERNETES_SERVICE_HOST: '10.96.0.99' },
    },
    {
      name: 'same, other order',
      services: [kubernetes, svc('ns', 'kubernetes', '10.96.0.99')],
      namespace: 'ns',
      links: true,
      hosts: { KUBERNETES_SERVICE_HOST: '10.96.0.99' },
    },
  ];
  for (const row of rows) {
    const env = serviceEnvVars(row.services, row.namespace, row.links);
    const hosts = Object.fromEntries([...env].filter(([k]) => k.endsWith('_SERVICE_HOST')));
    assert.deepEqual(hosts, row.hosts, row.name);
  }
});
