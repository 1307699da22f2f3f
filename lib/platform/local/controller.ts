// The local platform's controller: the Functions, desired scales and instances that Kubernetes' API server,
// Deployment controller and EndpointSlice controller hold on a cluster, reconciled against node agents.
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import type { Logger } from '../../logger.js';
import { functionKey, type FunctionDefinition } from '../../function-spec.js';
import type { Endpoint, FunctionEndpoints, FunctionRecord } from '../types.js';
import { planReplicas, type InstanceState, type InstanceView } from './replica-plan.js';
import { getNodeInfo, unary, type NodeAgentClient, type SchedulerClient } from './node-agent-client.js';
import type { Instance__Output } from '../../../protos/generated/sluice/nodeagent/v1/Instance.js';
import type { InstanceEvent__Output } from '../../../protos/generated/sluice/nodeagent/v1/InstanceEvent.js';
import type { NodeInfo__Output } from '../../../protos/generated/sluice/nodeagent/v1/NodeInfo.js';
import type { NodePm__Output } from '../../../protos/generated/sluice/nodeagent/v1/NodePm.js';
import type { NodeFlows__Output } from '../../../protos/generated/sluice/nodeagent/v1/NodeFlows.js';
import type { ScheduleResponse__Output } from '../../../protos/generated/sluice/scheduler/v1/ScheduleResponse.js';
import type { grpc } from '../../grpc.js';
import { mergeNodeFlows } from '../../node-flows.js';

export interface ControllerOptions {
  /** Time between removing an instance from the endpoints and telling its node to stop it, so routers see the removal first. */
  endpointPropagationDelayMs: number;
  /** How long a stopping queue-proxy may drain in-flight requests. */
  drainTimeoutMs: number;
  /** Delay before retrying a function whose instances could not be placed or started. */
  retryDelayMs: number;
  /** Crash-loop backoff after the second consecutive failure: base × 2^(n−2), capped. The first failure is replaced at once. */
  crashLoopBaseDelayMs: number;
  crashLoopMaxDelayMs: number;
  /**
   * Deadline of the per-node GetNodePm and GetNodeFlows asked (in parallel) before each placement; a node
   * not answering in time has an unknown PM view and contributes no flows or link costs.
   */
  nodeViewTimeoutMs: number;
}

/** Delay before replacing the n-th consecutive failed instance: the first is replaced at once. */
export function crashLoopDelayMs(consecutiveFailures: number, baseMs: number, maxMs: number): number {
  if (consecutiveFailures <= 1) return 0;
  return Math.min(maxMs, baseMs * 2 ** (consecutiveFailures - 2));
}

// The pure merge is shared with the scheduler on Kubernetes; exported here too, where it always was.
export { mergeNodeFlows };

export const DEFAULT_CONTROLLER_OPTIONS: ControllerOptions = {
  endpointPropagationDelayMs: 300,
  drainTimeoutMs: 30_000,
  retryDelayMs: 1_000,
  crashLoopBaseDelayMs: 1_000,
  crashLoopMaxDelayMs: 30_000,
  nodeViewTimeoutMs: 250,
};

interface NodeHandle {
  info: NodeInfo__Output;
  client: NodeAgentClient;
  watch?: grpc.ClientReadableStream<InstanceEvent__Output>;
}

interface TrackedInstance {
  instance: Instance__Output;
  /** Set when this controller decided to stop the instance (before the node reports TERMINATING). */
  stopping: boolean;
}

interface FunctionState {
  record: FunctionRecord;
  desired: number;
  /** Instances asked for but not yet returned by a node agent. */
  pendingStarts: number;
  reconciling: boolean;
  dirty: boolean;
  retryTimer?: NodeJS.Timeout;
  /** Last placement or start problem, shown by `sluice status`. */
  lastProblem?: string;
  /** Instances that failed since the last one became ready; drives the crash-loop backoff. */
  consecutiveFailures: number;
  /** No new instance starts before this time (Unix ms), as Kubernetes' CrashLoopBackOff. */
  backoffUntilMs: number;
  lastEndpointsJson: string;
}

export interface ControllerEvents {
  function: [{ type: 'added' | 'modified' | 'deleted'; fn: FunctionRecord }];
  endpoints: [FunctionEndpoints];
  instance: [Instance__Output];
}

export class LocalController extends EventEmitter<ControllerEvents> {
  private readonly nodes = new Map<string, NodeHandle>();
  private readonly instances = new Map<string, TrackedInstance>();
  /** Names of instances already reported deleted, so a late StartInstance answer does not revive them. */
  private readonly deletedNames = new Set<string>();
  private readonly functions = new Map<string, FunctionState>();
  private closed = false;

  constructor(
    private readonly scheduler: SchedulerClient,
    private readonly logger: Logger,
    private readonly options: ControllerOptions = DEFAULT_CONTROLLER_OPTIONS,
  ) {
    super();
    this.setMaxListeners(0);
  }

  /** Connects to a node agent (waiting up to `timeoutMs` for it to answer) and follows its instances. */
  async addNode(client: NodeAgentClient, timeoutMs: number): Promise<NodeInfo__Output> {
    const info = await getNodeInfo(client, timeoutMs);
    const handle: NodeHandle = { info, client };
    this.nodes.set(info.name, handle);
    this.watchNode(handle);
    return info;
  }

  private watchNode(handle: NodeHandle): void {
    if (this.closed) return;
    const stream = handle.client.WatchInstances({});
    handle.watch = stream;
    // Names in this connection's initial list; at SYNCED, instances of the node not in it are gone.
    let initial: Set<string> | undefined = new Set();
    stream.on('data', (event: InstanceEvent__Output) => {
      if (event.type === 'EVENT_TYPE_SYNCED') {
        if (initial) this.forgetMissing(handle.info.name, initial);
        initial = undefined;
        return;
      }
      if (initial && event.instance) initial.add(event.instance.name);
      this.onInstanceEvent(event);
    });
    stream.on('error', () => undefined);
    stream.on('close', () => {
      if (this.closed || handle.watch !== stream) return;
      this.logger.warn({ node: handle.info.name }, 'lost the instance watch of a node; reconnecting');
      setTimeout(() => this.watchNode(handle), 500).unref();
    });
  }

  /** After a (re)connected watch's initial list: instances of `node` it did not contain were deleted during the gap. */
  private forgetMissing(node: string, present: ReadonlySet<string>): void {
    for (const tracked of [...this.instances.values()]) {
      if (tracked.instance.node !== node || present.has(tracked.instance.name)) continue;
      this.onInstanceEvent({ type: 'EVENT_TYPE_DELETED', instance: tracked.instance });
    }
  }

  private onInstanceEvent(event: InstanceEvent__Output): void {
    const instance = event.instance;
    if (!instance) return;
    const key = functionKey({ namespace: instance.namespace, name: instance.function });
    const previousPhase = this.instances.get(instance.name)?.instance.phase;
    if (event.type === 'EVENT_TYPE_DELETED') {
      this.instances.delete(instance.name);
      this.deletedNames.add(instance.name);
      if (this.deletedNames.size > 1_000) this.deletedNames.delete(this.deletedNames.values().next().value as string);
    } else {
      const tracked = this.instances.get(instance.name);
      this.instances.set(instance.name, { instance, stopping: tracked?.stopping ?? false });
    }
    const state = this.functions.get(key);
    const becameFailed = instance.phase === 'INSTANCE_PHASE_FAILED' && previousPhase !== 'INSTANCE_PHASE_FAILED';
    if (state && becameFailed && event.type !== 'EVENT_TYPE_DELETED') {
      state.consecutiveFailures++;
      const delayMs = crashLoopDelayMs(state.consecutiveFailures, this.options.crashLoopBaseDelayMs, this.options.crashLoopMaxDelayMs);
      state.backoffUntilMs = Date.now() + delayMs;
      state.lastProblem = `instance ${instance.name} failed: ${instance.message}${delayMs > 0 ? ` (next start in ${Math.ceil(delayMs / 1000)}s)` : ''}`;
      this.logger.warn({ instance: instance.name, function: key, reason: instance.message, delayMs }, 'instance failed; replacing it');
    } else if (state && instance.phase === 'INSTANCE_PHASE_READY' && state.consecutiveFailures > 0) {
      state.consecutiveFailures = 0;
      state.backoffUntilMs = 0;
      state.lastProblem = undefined;
    }
    this.emit('instance', instance);
    this.publishEndpoints(key);
    if (event.type === 'EVENT_TYPE_DELETED' || instance.phase === 'INSTANCE_PHASE_FAILED') this.reconcile(key);
  }

  /** Declares the full set of functions (the local analogue of `kubectl apply`). */
  applyFunctions(definitions: readonly FunctionDefinition[]): void {
    const wanted = new Set<string>();
    for (const definition of definitions) {
      const key = functionKey(definition);
      wanted.add(key);
      const existing = this.functions.get(key);
      if (existing && JSON.stringify(existing.record.definition) === JSON.stringify(definition)) continue;
      const record: FunctionRecord = {
        namespace: definition.metadata.namespace ?? 'default',
        name: definition.metadata.name,
        generation: (existing?.record.generation ?? 0) + 1,
        definition,
      };
      if (existing) {
        existing.record = record;
        this.emit('function', { type: 'modified', fn: record });
      } else {
        this.functions.set(key, {
          record,
          desired: 0,
          pendingStarts: 0,
          reconciling: false,
          dirty: false,
          lastEndpointsJson: '',
          consecutiveFailures: 0,
          backoffUntilMs: 0,
        });
        this.emit('function', { type: 'added', fn: record });
        this.publishEndpoints(key);
      }
    }
    for (const [key, state] of this.functions) {
      if (wanted.has(key)) continue;
      state.desired = 0;
      this.functions.delete(key);
      if (state.retryTimer) clearTimeout(state.retryTimer);
      // Directly, not through reconcile: a reconcile in flight would find the function gone and stop nothing.
      for (const tracked of this.instancesOf(key)) this.stopInstance(tracked.instance.name);
      this.emit('function', { type: 'deleted', fn: state.record });
      this.emit('endpoints', { namespace: state.record.namespace, function: state.record.name, ready: [], deleted: true });
    }
  }

  /** The autoscaler's actuation. Unknown functions are an error the caller reports. */
  setScale(namespace: string, name: string, desired: number): boolean {
    const key = functionKey({ namespace, name });
    const state = this.functions.get(key);
    if (!state) return false;
    if (state.desired !== desired) {
      this.logger.info({ function: key, from: state.desired, to: desired }, 'scale changed');
      state.desired = desired;
    }
    this.reconcile(key);
    return true;
  }

  functionRecords(): FunctionRecord[] {
    return [...this.functions.values()].map((s) => s.record);
  }

  allEndpoints(): FunctionEndpoints[] {
    return [...this.functions.values()].map((s) => this.endpointsOf(s.record));
  }

  nodeInfos(): NodeInfo__Output[] {
    return [...this.nodes.values()].map((n) => n.info).sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
  }

  functionStatus(): Array<{ record: FunctionRecord; desired: number; ready: number; instances: Instance__Output[]; problem?: string }> {
    return [...this.functions.entries()].map(([key, s]) => {
      const instances = this.instancesOf(key).map((t) => t.instance);
      return {
        record: s.record,
        desired: s.desired,
        ready: instances.filter((i) => i.phase === 'INSTANCE_PHASE_READY').length,
        instances,
        problem: s.lastProblem,
      };
    });
  }

  private instancesOf(key: string): TrackedInstance[] {
    const out: TrackedInstance[] = [];
    for (const tracked of this.instances.values()) {
      if (functionKey({ namespace: tracked.instance.namespace, name: tracked.instance.function }) === key) out.push(tracked);
    }
    return out;
  }

  private endpointsOf(record: FunctionRecord): FunctionEndpoints {
    const ready: Endpoint[] = this.instancesOf(functionKey(record))
      .filter((t) => !t.stopping && t.instance.phase === 'INSTANCE_PHASE_READY')
      .map((t) => ({ instanceName: t.instance.name, node: t.instance.node, ip: t.instance.ip, trafficPort: t.instance.traffic_port }))
      .sort((a, b) => a.instanceName.localeCompare(b.instanceName));
    return { namespace: record.namespace, function: record.name, ready, deleted: false };
  }

  private publishEndpoints(key: string): void {
    const state = this.functions.get(key);
    if (!state) return;
    const endpoints = this.endpointsOf(state.record);
    const json = JSON.stringify(endpoints.ready);
    if (json === state.lastEndpointsJson) return;
    state.lastEndpointsJson = json;
    this.emit('endpoints', endpoints);
  }

  private viewOf(tracked: TrackedInstance): InstanceView {
    const phase = tracked.instance.phase;
    let state: InstanceState = 'starting';
    if (tracked.stopping || phase === 'INSTANCE_PHASE_TERMINATING' || phase === 'INSTANCE_PHASE_FAILED') state = 'terminating';
    else if (phase === 'INSTANCE_PHASE_READY') state = 'ready';
    return { name: tracked.instance.name, state, createdAtMs: tracked.instance.created_at_ms };
  }

  /** Serialized per function: a call while one runs marks it dirty and it runs again. */
  reconcile(key: string): void {
    const state = this.functions.get(key);
    if (!state || this.closed) return;
    if (state.reconciling) {
      state.dirty = true;
      return;
    }
    state.reconciling = true;
    void this.reconcileOnce(key, state)
      .catch((err: unknown) => this.logger.error({ function: key, err: (err as Error).message }, 'reconcile failed'))
      .finally(() => {
        state.reconciling = false;
        if (state.dirty) {
          state.dirty = false;
          this.reconcile(key);
        }
      });
  }

  private async reconcileOnce(key: string, state: FunctionState): Promise<void> {
    const views = this.instancesOf(key).map((t) => this.viewOf(t));
    for (let i = 0; i < state.pendingStarts; i++) views.push({ name: `pending-${i}`, state: 'starting', createdAtMs: Date.now() });
    const plan = planReplicas(state.desired, views);
    for (const name of plan.stop) this.stopInstance(name);
    if (plan.start === 0) return;
    const waitMs = state.backoffUntilMs - Date.now();
    if (waitMs > 0) {
      this.retryLater(key, state, waitMs);
      return;
    }
    state.pendingStarts += plan.start;
    let failures = 0;
    // Sequential so each placement sees the previous one in the snapshot.
    for (let i = 0; i < plan.start; i++) {
      try {
        await this.startInstance(state.record);
        state.lastProblem = undefined;
      } catch (err) {
        failures++;
        state.lastProblem = (err as Error).message;
        this.logger.warn({ function: key, err: state.lastProblem }, 'could not start an instance');
      } finally {
        state.pendingStarts--;
      }
    }
    if (failures > 0) this.retryLater(key, state, this.options.retryDelayMs);
  }

  private retryLater(key: string, state: FunctionState, delayMs: number): void {
    if (state.retryTimer) return;
    state.retryTimer = setTimeout(() => {
      state.retryTimer = undefined;
      this.reconcile(key);
    }, delayMs);
    state.retryTimer.unref();
  }

  private async startInstance(record: FunctionRecord): Promise<void> {
    const name = `${record.name}-${randomBytes(4).toString('hex')}`;
    const specJson = JSON.stringify(record.definition);
    const [pm, flows] = await Promise.all([this.pmViews(), this.flowViews()]);
    const decision = await unary<unknown, ScheduleResponse__Output>(
      (req, options, cb) => this.scheduler.Schedule(req as never, options, cb),
      {
        instance_name: name,
        namespace: record.namespace,
        function: record.name,
        function_spec_json: specJson,
        nodes: this.snapshot(pm),
        // In node order, so the request does not depend on which node answered first.
        ...mergeNodeFlows([...this.nodes.keys()].flatMap((node) => flows.get(node) ?? [])),
      },
      5_000,
    );
    if (decision.code !== 'SCHEDULE_CODE_SCHEDULED') {
      const reasons = Object.entries(decision.reasons).map(([n, r]) => `${n}: ${r}`).join('; ');
      throw new Error(`unschedulable: ${decision.message}${reasons ? ` (${reasons})` : ''}`);
    }
    const node = this.nodes.get(decision.node);
    if (!node) throw new Error(`scheduler chose unknown node "${decision.node}"`);
    const instance = await unary<unknown, Instance__Output>(
      (req, options, cb) => node.client.StartInstance(req as never, options, cb),
      { instance_name: name, namespace: record.namespace, function: record.name, function_spec_json: specJson, generation: record.generation },
      10_000,
    );
    if (!this.instances.has(instance.name) && !this.deletedNames.has(instance.name)) {
      this.instances.set(instance.name, { instance, stopping: false });
    }
    // The function was deleted while this instance was being started.
    if (!this.functions.has(functionKey(record))) this.stopInstance(instance.name);
  }

  private snapshot(pm: ReadonlyMap<string, NodePm__Output>): Array<{ node: NodeInfo__Output; instances: Instance__Output[]; pm: NodePm__Output | null }> {
    return [...this.nodes.values()].map((n) => ({
      node: n.info,
      instances: [...this.instances.values()]
        .filter((t) => t.instance.node === n.info.name && t.instance.phase !== 'INSTANCE_PHASE_FAILED')
        .map((t) => t.instance),
      pm: pm.get(n.info.name) ?? null,
    }));
  }

  /**
   * One view of every node, asked now (PM predictions and flows change with every invocation): one cheap unary
   * call per node, in parallel, with a short deadline. A node that does not answer in time (or an agent without
   * the call) is left out: its PM is unknown and it contributes no flows, so placement never waits long on it
   * or fails for it (the scheduler falls back on its priors).
   */
  private async nodeViews<T>(what: string, ask: (client: NodeAgentClient, options: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: T) => void) => unknown): Promise<Map<string, T>> {
    const out = new Map<string, T>();
    await Promise.all(
      [...this.nodes.values()].map(async (n) => {
        try {
          out.set(n.info.name, await unary<unknown, T>((_req, options, cb) => ask(n.client, options, cb), {}, this.options.nodeViewTimeoutMs));
        } catch (err) {
          this.logger.debug({ node: n.info.name, err: (err as Error).message }, `no ${what} view of the node for this placement`);
        }
      }),
    );
    return out;
  }

  private pmViews(): Promise<Map<string, NodePm__Output>> {
    return this.nodeViews<NodePm__Output>('PM', (client, options, cb) => client.GetNodePm({}, options, cb));
  }

  private flowViews(): Promise<Map<string, NodeFlows__Output>> {
    return this.nodeViews<NodeFlows__Output>('flow', (client, options, cb) => client.GetNodeFlows({}, options, cb));
  }

  private stopInstance(name: string): void {
    const tracked = this.instances.get(name);
    if (!tracked || tracked.stopping) return;
    tracked.stopping = true;
    const key = functionKey({ namespace: tracked.instance.namespace, name: tracked.instance.function });
    this.publishEndpoints(key);
    const node = this.nodes.get(tracked.instance.node);
    if (!node) return;
    setTimeout(() => {
      node.client.StopInstance(
        { instance_name: name, drain_timeout_ms: this.options.drainTimeoutMs },
        { deadline: Date.now() + this.options.drainTimeoutMs + 10_000 },
        (err) => {
          if (!err) return;
          this.logger.warn({ instance: name, err: err.message }, 'stop failed; retrying');
          // Try again later rather than leave the instance counted as terminating forever.
          setTimeout(() => {
            const again = this.instances.get(name);
            if (!again || this.closed) return;
            again.stopping = false;
            this.stopInstance(name);
          }, this.options.retryDelayMs).unref();
        },
      );
    }, this.options.endpointPropagationDelayMs).unref();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const state of this.functions.values()) if (state.retryTimer) clearTimeout(state.retryTimer);
    for (const node of this.nodes.values()) {
      node.watch?.cancel();
      node.client.close();
    }
    this.scheduler.close();
  }
}
