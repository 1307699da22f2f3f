// TEST INFRASTRUCTURE (virtual kubelet). The Node object and node Lease a kubelet would register and keep fresh.
//
// Like kubelet's initialNode + node status setters: standard labels (kubernetes.io/hostname, os, arch) plus
// `sluice.dev/virtual-kubelet=true` so nobody mistakes the node for a real one; capacity = allocatable (nothing
// reserved); InternalIP 10.244.N.1; Ready=True with kubelet's reasons and messages. The Lease in
// kube-node-lease (renewed every 10 s, 40 s duration) is what the node lifecycle controller watches.
import { createHash } from 'node:crypto';
import { formatBytes, formatMilliCpu } from './quantity.js';
import type { ObjectMeta } from './types.js';

export const VIRTUAL_NODE_LABEL = 'sluice.dev/virtual-kubelet';
export const NODE_LEASE_NAMESPACE = 'kube-node-lease';

export interface NodeIdentity {
  name: string;
  internalIP: string;
  /** e.g. 10.244.1.0/24 */
  podCIDR: string;
  milliCpu: number;
  memoryBytes: number;
  pods: number;
  ephemeralStorageBytes: number;
  /** Extra labels from the configuration. */
  labels: Readonly<Record<string, string>>;
  kubeletVersion: string;
}

export interface HostInfo {
  kernelVersion: string;
  osImage: string;
  /** Kubernetes spelling: amd64, arm64. */
  architecture: string;
  bootID: string;
  containerRuntimeVersion: string;
}

export interface NodeCondition {
  type: string;
  status: string;
  reason: string;
  message: string;
  lastHeartbeatTime: string;
  lastTransitionTime: string;
}

/** Node.js's process.arch → GOARCH. */
export function goArch(arch: string): string {
  return ({ x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x' } as Record<string, string>)[arch] ?? arch;
}

/** Stable per node name, so the two virtual nodes of one machine differ (kubelet reads /etc/machine-id). */
export function machineId(nodeName: string): string {
  return createHash('sha256').update(`sluice-virtual-kubelet/${nodeName}`).digest('hex').slice(0, 32);
}

export function nodeLabels(node: NodeIdentity, arch: string): Record<string, string> {
  return {
    'beta.kubernetes.io/arch': arch,
    'beta.kubernetes.io/os': 'linux',
    'kubernetes.io/arch': arch,
    'kubernetes.io/hostname': node.name,
    'kubernetes.io/os': 'linux',
    [VIRTUAL_NODE_LABEL]: 'true',
    ...node.labels,
  };
}

function resources(node: NodeIdentity): Record<string, string> {
  return {
    cpu: formatMilliCpu(node.milliCpu),
    'ephemeral-storage': formatBytes(node.ephemeralStorageBytes),
    'hugepages-1Gi': '0',
    'hugepages-2Mi': '0',
    memory: formatBytes(node.memoryBytes),
    pods: String(node.pods),
  };
}

const CONDITIONS: ReadonlyArray<{ type: string; ok: string; reason: string; message: string }> = [
  { type: 'MemoryPressure', ok: 'False', reason: 'KubeletHasSufficientMemory', message: 'kubelet has sufficient memory available' },
  { type: 'DiskPressure', ok: 'False', reason: 'KubeletHasNoDiskPressure', message: 'kubelet has no disk pressure' },
  { type: 'PIDPressure', ok: 'False', reason: 'KubeletHasSufficientPID', message: 'kubelet has sufficient PID available' },
  { type: 'Ready', ok: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' },
];

/** Conditions at `now`; `ready: false` is the agent going away (Ready=False, KubeletNotReady). */
export function nodeConditions(previous: readonly NodeCondition[], now: string, ready: boolean): NodeCondition[] {
  return CONDITIONS.map((c) => {
    const notReady = c.type === 'Ready' && !ready;
    const status = notReady ? 'False' : c.ok;
    const old = previous.find((p) => p.type === c.type);
    return {
      type: c.type,
      status,
      reason: notReady ? 'KubeletNotReady' : c.reason,
      message: notReady ? 'virtual kubelet stopped' : c.message,
      lastHeartbeatTime: now,
      lastTransitionTime: old && old.status === status ? old.lastTransitionTime : now,
    };
  });
}

export function nodeStatus(node: NodeIdentity, host: HostInfo, conditions: NodeCondition[]): Record<string, unknown> {
  const id = machineId(node.name);
  return {
    capacity: resources(node),
    allocatable: resources(node),
    conditions,
    addresses: [
      { type: 'InternalIP', address: node.internalIP },
      { type: 'Hostname', address: node.name },
    ],
    // Nothing listens there: kubectl logs/exec/port-forward do not work on virtual nodes.
    daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
    nodeInfo: {
      machineID: id,
      systemUUID: `${id.slice(0, 8)}-${id.slice(8, 12)}-${id.slice(12, 16)}-${id.slice(16, 20)}-${id.slice(20, 32)}`,
      bootID: host.bootID,
      kernelVersion: host.kernelVersion,
      osImage: host.osImage,
      containerRuntimeVersion: host.containerRuntimeVersion,
      kubeletVersion: node.kubeletVersion,
      kubeProxyVersion: '',
      operatingSystem: 'linux',
      architecture: host.architecture,
    },
  };
}

/** The Node to create. */
export function nodeObject(node: NodeIdentity, host: HostInfo, now: string): { apiVersion: string; kind: string; metadata: ObjectMeta; spec: Record<string, unknown>; status: Record<string, unknown> } {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: node.name,
      labels: nodeLabels(node, host.architecture),
      annotations: {
        'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
        'sluice.dev/test-infrastructure': 'virtual kubelet: pods run as local processes, no container runtime',
      },
    },
    spec: { podCIDR: node.podCIDR, podCIDRs: [node.podCIDR] },
    status: nodeStatus(node, host, nodeConditions([], now, true)),
  };
}

/** metav1.MicroTime's wire format: RFC 3339 with exactly six fractional digits (Date#toISOString has three, which the API server rejects). */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** The node's Lease, owned by the Node so it goes with it. */
export function leaseObject(nodeName: string, nodeUid: string | undefined, durationSeconds: number, renewMs: number): Record<string, unknown> {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      name: nodeName,
      namespace: NODE_LEASE_NAMESPACE,
      ...(nodeUid ? { ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: nodeName, uid: nodeUid }] } : {}),
    },
    spec: { holderIdentity: nodeName, leaseDurationSeconds: durationSeconds, renewTime: microTime(renewMs) },
  };
}
