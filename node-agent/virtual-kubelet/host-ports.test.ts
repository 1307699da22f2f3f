import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { silentLogger } from '../../lib/logger.js';
import { freePort } from '../../lib/net.js';
import { HostPortForwarder, hostPortMappings } from './host-ports.js';
import type { Pod } from './types.js';

function pod(spec: Partial<Pod['spec']>): Pod {
  return { metadata: { name: 'p' }, spec: { containers: [], ...spec } };
}

test('hostPortMappings: each TCP hostPort of every container, from the node IP to the pod IP; none for hostNetwork', () => {
  const spec: Partial<Pod['spec']> = {
    initContainers: [{ name: 'init', ports: [{ containerPort: 1, hostPort: 10001 }] }],
    containers: [
      { name: 'agent', ports: [{ name: 'metrics', containerPort: 9090 }, { name: 'grpc', containerPort: 9095, hostPort: 9095, protocol: 'TCP' }] },
      { name: 'dns', ports: [{ containerPort: 53, hostPort: 53, protocol: 'UDP' }] },
    ],
  };
  assert.deepEqual(hostPortMappings(pod(spec), '10.244.1.1', '10.244.1.5'), [
    { container: 'init', hostIP: '10.244.1.1', hostPort: 10001, podIP: '10.244.1.5', containerPort: 1 },
    { container: 'agent', hostIP: '10.244.1.1', hostPort: 9095, podIP: '10.244.1.5', containerPort: 9095 },
  ]);
  assert.deepEqual(hostPortMappings(pod({ ...spec, hostNetwork: true }), '10.244.1.1', '10.244.1.1'), []);
});

function echoServer(host: string): Promise<{ server: net.Server; port: number }> {
  const server = net.createServer((s) => s.pipe(s));
  return new Promise((resolve) => server.listen({ host, port: 0 }, () => resolve({ server, port: (server.address() as net.AddressInfo).port })));
}

function roundTrip(host: string, port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port }, () => socket.end(text));
    let got = '';
    socket.on('data', (d) => (got += d.toString()));
    socket.on('close', () => resolve(got));
    socket.on('error', reject);
  });
}

test('HostPortForwarder forwards host-port connections to the pod, refuses a taken port, and stops on close', async (t) => {
  // Loopback stands in for both addresses: 127.0.0.1 the "node", 127.0.0.2 the "pod".
  const backend = await echoServer('127.0.0.2');
  t.after(() => backend.server.close());
  const hostPort = await freePort();
  const forwarder = new HostPortForwarder(silentLogger());
  await forwarder.open([{ container: 'c', hostIP: '127.0.0.1', hostPort, podIP: '127.0.0.2', containerPort: backend.port }]);
  assert.equal(await roundTrip('127.0.0.1', hostPort, 'hello'), 'hello');

  const second = new HostPortForwarder(silentLogger());
  await assert.rejects(second.open([{ container: 'other', hostIP: '127.0.0.1', hostPort, podIP: '127.0.0.2', containerPort: 1 }]), new RegExp(`hostPort 127.0.0.1:${hostPort} of container "other": EADDRINUSE`));

  await forwarder.close();
  await assert.rejects(roundTrip('127.0.0.1', hostPort, 'x'), /ECONNREFUSED/);
});
