// TEST INFRASTRUCTURE (virtual kubelet). Registers the Node, renews its Lease and posts its status, as kubelet does.
//
// kubelet: register (create; if it exists, reconcile labels), then renew the Lease in kube-node-lease every
// leaseDuration/4 (10 s of 40 s) and post node status (heartbeat conditions) periodically. The node
// lifecycle controller marks a node NotReady when neither has moved for its grace period, so both loops
// keep going through API errors. On stop the node posts Ready=False (so the controllers take its pods
// out of service at once, as a node going down would after the grace period).
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Logger } from '../../lib/logger.js';
import { isConflict, isNotFound, PATCH } from './kube-client.js';
import type { KubeClient } from './kube-client.js';
import { goArch, leaseObject, nodeConditions, nodeLabels, nodeObject, nodeStatus, NODE_LEASE_NAMESPACE } from './node-object.js';
import type { HostInfo, NodeCondition, NodeIdentity } from './node-object.js';
import type { ObjectMeta } from './types.js';

interface NodeJson {
  metadata: ObjectMeta;
  status?: { conditions?: NodeCondition[] };
}

interface LeaseJson {
  metadata: ObjectMeta;
  spec: Record<string, unknown>;
}

function osImage(): string {
  try {
    const m = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'));
    if (m) return m[1];
  } catch {
    // not Linux, or no os-release
  }
  return `${os.type()} ${os.release()}`;
}

export function hostInfo(): HostInfo {
  return {
    kernelVersion: os.release(),
    osImage: osImage(),
    architecture: goArch(process.arch),
    bootID: randomUUID(),
    containerRuntimeVersion: `process://node-${process.version}`,
  };
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export class NodeRegistration {
  private nodeUid: string | undefined;
  private conditions: NodeCondition[] = [];
  private lease: LeaseJson | undefined;
  private leaseTimer: NodeJS.Timeout | undefined;
  private statusTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly host = hostInfo();

  constructor(
    private readonly client: KubeClient,
    private readonly node: NodeIdentity,
    private readonly intervals: { leaseRenewMs: number; leaseDurationSeconds: number; statusMs: number },
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Creates the Node (or adopts the existing one), posts its status and renews the Lease once; then keeps both fresh. */
  async start(): Promise<void> {
    await this.register();
    await this.postStatus(true);
    await this.renewLease();
    this.scheduleLease();
    this.scheduleStatus();
  }

  private async register(): Promise<void> {
    const body = nodeObject(this.node, this.host, iso(this.now()));
    try {
      const created = await this.client.create<NodeJson>('/api/v1/nodes', body);
      this.nodeUid = created.metadata.uid;
      this.conditions = created.status?.conditions ?? [];
      this.logger.info('node registered');
    } catch (err) {
      if (!isConflict(err)) throw err;
      // Already registered (an earlier run): reconcile the labels, as kubelet does.
      const patched = await this.client.patch<NodeJson>(
        `/api/v1/nodes/${this.node.name}`,
        { metadata: { labels: nodeLabels(this.node, this.host.architecture), annotations: body.metadata.annotations } },
        PATCH.merge,
      );
      this.nodeUid = patched.metadata.uid;
      this.conditions = patched.status?.conditions ?? [];
      this.logger.info('node already registered, adopted');
    }
  }

  private async postStatus(ready: boolean): Promise<void> {
    this.conditions = nodeConditions(this.conditions, iso(this.now()), ready);
    try {
      await this.client.patch(`/api/v1/nodes/${this.node.name}/status`, { status: nodeStatus(this.node, this.host, this.conditions) }, PATCH.strategic);
    } catch (err) {
      if (isNotFound(err) && !this.stopped) {
        // Someone deleted the Node: register again (kubelet would on its next start).
        this.logger.warn('node object gone, registering again');
        await this.register();
        return;
      }
      throw err;
    }
  }

  private async renewLease(): Promise<void> {
    const path = `/apis/coordination.k8s.io/v1/namespaces/${NODE_LEASE_NAMESPACE}/leases/${this.node.name}`;
    const fresh = leaseObject(this.node.name, this.nodeUid, this.intervals.leaseDurationSeconds, this.now()) as unknown as LeaseJson;
    if (!this.lease) {
      try {
        this.lease = await this.client.get<LeaseJson>(path);
      } catch (err) {
        if (!isNotFound(err)) throw err;
        this.lease = await this.client.create<LeaseJson>(`/apis/coordination.k8s.io/v1/namespaces/${NODE_LEASE_NAMESPACE}/leases`, fresh);
        return;
      }
    }
    try {
      this.lease = await this.client.replace<LeaseJson>(path, {
        ...fresh,
        metadata: { ...fresh.metadata, resourceVersion: this.lease.metadata.resourceVersion, ownerReferences: this.lease.metadata.ownerReferences ?? fresh.metadata.ownerReferences },
      });
    } catch (err) {
      // Conflict or gone: read it again next time.
      this.lease = undefined;
      throw err;
    }
  }

  private scheduleLease(): void {
    if (this.stopped) return;
    this.leaseTimer = setTimeout(() => {
      this.renewLease()
        .catch((err) => this.logger.warn({ err: (err as Error).message }, 'lease renewal failed'))
        .finally(() => this.scheduleLease());
    }, this.intervals.leaseRenewMs);
  }

  private scheduleStatus(): void {
    if (this.stopped) return;
    this.statusTimer = setTimeout(() => {
      this.postStatus(true)
        .catch((err) => this.logger.warn({ err: (err as Error).message }, 'node status update failed'))
        .finally(() => this.scheduleStatus());
    }, this.intervals.statusMs);
  }

  /** Stops renewing; with `markNotReady`, posts Ready=False first (best effort). */
  async stop(markNotReady: boolean): Promise<void> {
    this.stopped = true;
    clearTimeout(this.leaseTimer);
    clearTimeout(this.statusTimer);
    if (!markNotReady) return;
    try {
      await this.postStatus(false);
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'could not mark the node NotReady');
    }
  }
}
