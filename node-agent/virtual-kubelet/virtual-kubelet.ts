// TEST INFRASTRUCTURE (virtual kubelet). Wires one virtual node: Node + Lease, the pods bound to it, the Services for
// their environment, and (optionally) the service proxy.
//
// It stands in for kubelet + a container runtime + kube-proxy on a machine without containers, so a real
// control plane (kube-apiserver, kube-controller-manager, kube-scheduler) runs Deployments, ReplicaSets,
// Pods and EndpointSlices exactly as on a cluster. See README.md in this folder for what differs.
import { readFileSync } from 'node:fs';
import type { Logger } from '../../lib/logger.js';
import { IpAllocator } from '../ip-allocator.js';
import type { VirtualKubeletConfig } from './config.js';
import { Informer } from './informer.js';
import { KubeClient } from './kube-client.js';
import { NodeRegistration } from './node-registration.js';
import type { NodeIdentity } from './node-object.js';
import { PodWorker } from './pod-worker.js';
import { formatBytes, formatMilliCpu } from './quantity.js';
import { ServiceProxy } from './service-proxy.js';
import type { EndpointSlice, Pod, Service } from './types.js';

export interface VirtualKubelet {
  readonly nodeName: string;
  readonly internalIP: string;
  /** Pod workers by pod UID (tests look at pids and IPs). */
  pods(): Array<{ namespace: string; name: string; uid: string; ip: string; pids: Record<string, number> }>;
  readonly serviceProxy: ServiceProxy | undefined;
  /** Stops every container (≤ shutdown-grace), the proxy and the loops; the node posts Ready=False. */
  close(): Promise<void>;
}

export interface VirtualKubeletDeps {
  logger: Logger;
  /** An already loaded client (tests); otherwise from config.kubeconfig. */
  client?: KubeClient;
  now?: () => number;
}

export async function startVirtualKubelet(config: VirtualKubeletConfig, deps: VirtualKubeletDeps): Promise<VirtualKubelet> {
  const logger = deps.logger;
  const now = deps.now ?? Date.now;
  const client = deps.client ?? (await KubeClient.load(config.kubeconfig));
  const internalIP = `${config.subnet}.1`;
  const identity: NodeIdentity = {
    name: config.name,
    internalIP,
    podCIDR: `${config.subnet}.0/24`,
    milliCpu: config.milliCpu,
    memoryBytes: config.memoryBytes,
    pods: config.pods,
    ephemeralStorageBytes: config.ephemeralStorageBytes,
    labels: config.labels,
    kubeletVersion: config.kubeletVersion,
  };
  const allocatable = { cpu: formatMilliCpu(config.milliCpu), memory: formatBytes(config.memoryBytes), 'ephemeral-storage': formatBytes(config.ephemeralStorageBytes) };
  const podApiServer = config.podApiServer || client.server.toString().replace(/\/$/, '');
  const podCaData = config.podCaFile ? readFileSync(config.podCaFile).toString('base64') : client.caData();

  const registration = new NodeRegistration(
    client,
    identity,
    { leaseRenewMs: config.leaseRenewIntervalMs, leaseDurationSeconds: config.leaseDurationSeconds, statusMs: config.nodeStatusIntervalMs },
    logger,
    now,
  );
  await registration.start();

  let proxy: ServiceProxy | undefined;
  const services = new Informer<Service>(client, '/api/v1/services', {}, { onAdd: () => proxy?.changed(), onUpdate: () => proxy?.changed(), onDelete: () => proxy?.changed() }, logger.child({ informer: 'services' }));
  services.start();
  let slices: Informer<EndpointSlice> | undefined;
  if (config.serviceProxy) {
    slices = new Informer<EndpointSlice>(
      client,
      '/apis/discovery.k8s.io/v1/endpointslices',
      {},
      { onAdd: () => proxy?.changed(), onUpdate: () => proxy?.changed(), onDelete: () => proxy?.changed() },
      logger.child({ informer: 'endpointslices' }),
    );
    proxy = new ServiceProxy(services, slices, logger.child({ module: 'service-proxy' }));
    slices.start();
  }
  // kubelet waits for the Service cache before building any environment (KUBERNETES_SERVICE_HOST must be there).
  await services.synced;
  if (slices) await slices.synced;
  proxy?.changed();

  const ips = new IpAllocator(config.subnet);
  const workers = new Map<string, PodWorker>();
  let closing = false;
  const workerDeps = {
    client,
    config,
    nodeName: config.name,
    hostIP: internalIP,
    allocatable,
    ips,
    services: () => [...services.store.values()],
    podApiServer,
    podCaData,
    logger,
    nodeBinary: process.execPath,
    now,
    onFinished: (uid: string) => workers.delete(uid),
  };
  const onPod = (pod: Pod): void => {
    if (closing) return;
    const uid = pod.metadata.uid ?? '';
    const existing = workers.get(uid);
    if (existing) return existing.update(pod);
    const worker = new PodWorker(pod, workerDeps);
    workers.set(uid, worker);
    worker.start();
  };
  const pods = new Informer<Pod>(
    client,
    '/api/v1/pods',
    { fieldSelector: `spec.nodeName=${config.name}` },
    {
      onAdd: onPod,
      onUpdate: onPod,
      onDelete: (pod) => void workers.get(pod.metadata.uid ?? '')?.removed(),
    },
    logger.child({ informer: 'pods' }),
  );
  pods.start();
  await pods.synced;
  logger.info({ internalIP, serviceProxy: config.serviceProxy, logDir: config.logDir }, 'virtual kubelet ready');

  return {
    nodeName: config.name,
    internalIP,
    serviceProxy: proxy,
    pods: () =>
      [...workers.values()].map((w) => ({ namespace: w.namespace, name: w.name, uid: w.uid, ip: w.ip, pids: w.pids() })),
    async close() {
      closing = true;
      await pods.stop();
      await Promise.all([...workers.values()].map((w) => w.shutdown(config.shutdownGraceMs)));
      workers.clear();
      await proxy?.close();
      await services.stop();
      await slices?.stop();
      await registration.stop(true);
      client.close();
      logger.info('virtual kubelet stopped');
    },
  };
}
