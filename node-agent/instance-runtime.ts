// Runs function instances as processes on this node: function server + queue-proxy on their own loopback IP, readiness, failure and drain.
import http from 'node:http';
import { existsSync, mkdirSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { spawnOwned, terminate } from '../lib/process.js';
import { instanceRequests, parseFunctionDefinition } from '../lib/function-spec.js';
import type { FunctionDefinition } from '../lib/function-spec.js';
import { SluiceError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { NodeAgentConfig } from './config.js';
import { IpAllocator } from './ip-allocator.js';
import { launchPlan, QUEUE_PROXY_ADMIN_PORT, QUEUE_PROXY_METRICS_PORT, QUEUE_PROXY_TRAFFIC_PORT, spareQueueProxyPlan } from './launch-plan.js';
import type { ProcessPlan } from './launch-plan.js';
import type { NodeAgentMetrics, PhaseLabel } from './metrics.js';
import { WarmQueueProxies } from './warm-queue-proxies.js';
import type { StartInstanceRequest__Output } from '../protos/generated/sluice/nodeagent/v1/StartInstanceRequest.js';

/*
 * Instance phases:
 *
 * | from                 | event                                 | to          | event sent          |
 * |----------------------|---------------------------------------|-------------|---------------------|
 * | —                    | start()                               | STARTING    | ADDED               |
 * | STARTING             | GET <ip>:8022/ready → 200             | READY       | MODIFIED            |
 * | READY                | /ready → not 200 (probe every 1 s)    | STARTING    | MODIFIED            |
 * | STARTING, READY      | stop()                                | TERMINATING | MODIFIED            |
 * | TERMINATING          | both processes exited                 | (removed)   | DELETED             |
 * | STARTING, READY      | a process exits on its own            | FAILED      | MODIFIED            |
 * | FAILED               | the other process killed, IP released | (removed)   | DELETED             |
 *
 * Until the first READY the probe runs every 10 ms (cold start latency), then every second.
 *
 * The queue-proxy is a warm spare when one is ready (warm-queue-proxies > 0): it gets the instance's
 * config on stdin instead of being spawned, skipping Node boot and module loading. Spares are
 * replenished once no instance is in its first start (or REPLENISH_FALLBACK_MS after a hand-off), so
 * booting a new spare does not compete for CPU with the cold start that used the last one.
 */
export type InstancePhase = 'STARTING' | 'READY' | 'TERMINATING' | 'FAILED';

export interface InstanceStatus {
  name: string;
  namespace: string;
  function: string;
  node: string;
  phase: InstancePhase;
  ip: string;
  trafficPort: number;
  adminPort: number;
  metricsPort: number;
  /** Why the instance is not ready or failed; "" otherwise. */
  message: string;
  createdAtMs: number;
  /** When the instance first became ready; 0 until then. */
  readyAtMs: number;
  generation: number;
  milliCpu: number;
  memoryBytes: number;
}

export type InstanceEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface InstanceEvent {
  type: InstanceEventType;
  instance: InstanceStatus;
}

export type InstanceListener = (event: InstanceEvent) => void;

export interface ProbeIntervals {
  startingMs: number;
  readyMs: number;
}

export const DEFAULT_PROBE_INTERVALS: ProbeIntervals = { startingMs: 10, readyMs: 1_000 };
/** Grace for the function server after its queue-proxy has drained. */
export const FUNCTION_SERVER_GRACE_MS = 2_000;
/** Extra time past the drain timeout before SIGKILL, so the queue-proxy's own drain deadline fires first. */
export const DRAIN_KILL_MARGIN_MS = 1_000;
const PROBE_TIMEOUT_MS = 1_000;
/** Replenish spares at the latest this long after a hand-off, even while some instance is still starting. */
const REPLENISH_FALLBACK_MS = 5_000;

export interface RuntimeDeps {
  logger: Logger;
  metrics?: NodeAgentMetrics;
  now?: () => number;
  probeIntervals?: ProbeIntervals;
  /** Environment the children inherit (minus the agent's SLUICE_* settings); process.env when absent. */
  env?: NodeJS.ProcessEnv;
  /** The node's PM (directory, and the agent's PmNode address once it listens); absent = no PM on this node. */
  pm?: { dir: string; address: () => string };
  /** The agent's gRPC address once it listens (queue-proxies send it their XDT flow reports); absent = no reports. */
  agentAddress?: () => string;
  /** The node's shared-memory directory for same-node XDT pulls (made by the agent); absent = over TCP. */
  xdtShmDir?: string;
}

type ProcessRole = 'function server' | 'queue-proxy';

interface ManagedInstance {
  status: InstanceStatus;
  functionServer: ChildProcess;
  queueProxy: ChildProcess;
  /** The queue-proxy was a warm spare handed this instance's config. */
  warmQueueProxy: boolean;
  everReady: boolean;
  probeTimer?: NodeJS.Timeout;
  /** Set once the instance is going away (stop or failure); later process exits are expected. */
  teardown?: Promise<void>;
}

/** Resolves when the child has exited, including a spawn that failed before the process existed. */
function gone(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', () => {
      if (child.pid === undefined) resolve();
    });
  });
}

/** SIGKILL the child's whole process group, even after the leader died (its children may remain). */
function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // group already empty
  }
}

/** One GET /ready on the queue-proxy admin port: true on 200. A fresh connection each time so idle-socket races never fail a probe. */
function probeReady(ip: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ host: ip, port: QUEUE_PROXY_ADMIN_PORT, path: '/ready', agent: false, timeout: PROBE_TIMEOUT_MS }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

function describeExit(role: ProcessRole, code: number | null, signal: NodeJS.Signals | null): string {
  return signal !== null ? `${role} was killed by signal ${signal}` : `${role} exited with code ${code ?? 'unknown'}`;
}

export class InstanceRuntime {
  private readonly instances = new Map<string, ManagedInstance>();
  private readonly listeners = new Set<InstanceListener>();
  private readonly ips: IpAllocator;
  private readonly now: () => number;
  private readonly probeIntervals: ProbeIntervals;
  private readonly logger: Logger;
  private closing = false;
  private replenishTimer: NodeJS.Timeout | undefined;
  /** Spare queue-proxies (never instances: not listed, counted or watched). */
  readonly warmQueueProxies: WarmQueueProxies;

  constructor(
    private readonly config: NodeAgentConfig,
    private readonly deps: RuntimeDeps,
  ) {
    this.ips = new IpAllocator(config.subnet);
    this.now = deps.now ?? Date.now;
    this.probeIntervals = deps.probeIntervals ?? DEFAULT_PROBE_INTERVALS;
    this.logger = deps.logger;
    this.warmQueueProxies = new WarmQueueProxies(
      config.warmQueueProxies,
      () =>
        existsSync(config.queueProxyScript)
          ? spareQueueProxyPlan({
              queueProxyScript: config.queueProxyScript,
              logDir: config.logDir,
              workDir: config.workDir,
              baseEnv: deps.env ?? process.env,
              nodeBinary: process.execPath,
            })
          : undefined,
      this.logger,
    );
    this.warmQueueProxies.fill();
  }

  /** Pid of an instance's queue-proxy process. */
  queueProxyPid(name: string): number | undefined {
    return this.instances.get(name)?.queueProxy.pid;
  }

  /** Every current instance (copies). */
  list(): InstanceStatus[] {
    return [...this.instances.values()].map((m) => ({ ...m.status }));
  }

  get(name: string): InstanceStatus | undefined {
    const m = this.instances.get(name);
    return m ? { ...m.status } : undefined;
  }

  /** Listens to every later change; returns the unsubscribe function. */
  subscribe(listener: InstanceListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  countByPhase(): Record<PhaseLabel, number> {
    const counts: Record<PhaseLabel, number> = { starting: 0, ready: 0, terminating: 0, failed: 0 };
    for (const m of this.instances.values()) counts[m.status.phase.toLowerCase() as PhaseLabel]++;
    return counts;
  }

  /**
   * Spawns the instance's function server and queue-proxy and returns at once
   * with phase STARTING. Throws SluiceError: BAD_REQUEST (bad name or spec,
   * duplicate), NO_CAPACITY (max instances or addresses), SHUTTING_DOWN.
   */
  start(request: StartInstanceRequest__Output): InstanceStatus {
    if (this.closing) throw new SluiceError('SHUTTING_DOWN', `node ${this.config.name} is shutting down`);
    const name = request.instance_name;
    if (this.instances.has(name)) throw new SluiceError('BAD_REQUEST', `instance ${name} already exists on node ${this.config.name}`);
    if (this.instances.size >= this.config.maxInstances) {
      throw new SluiceError('NO_CAPACITY', `node ${this.config.name} runs its maximum of ${this.config.maxInstances} instances`);
    }
    let definition: FunctionDefinition;
    try {
      definition = parseFunctionDefinition(JSON.parse(request.function_spec_json), `instance ${name}`);
    } catch (err) {
      throw new SluiceError('BAD_REQUEST', `function_spec_json: ${(err as Error).message}`);
    }
    if (!existsSync(this.config.queueProxyScript)) {
      throw new SluiceError('INTERNAL', `queue-proxy script ${this.config.queueProxyScript} does not exist (build it, or set queue-proxy-script)`);
    }
    const namespace = request.namespace || (definition.metadata.namespace ?? 'default');
    const fn = request.function || definition.metadata.name;

    const ip = this.ips.allocate();
    let plan;
    try {
      plan = launchPlan({
        instance: name,
        namespace,
        function: fn,
        ip,
        definition,
        queueProxyScript: this.config.queueProxyScript,
        autoscalerAddress: this.config.autoscalerAddress,
        drainTimeoutMs: this.config.drainTimeoutMs,
        logDir: this.config.logDir,
        workDir: this.config.workDir,
        baseEnv: this.deps.env ?? process.env,
        nodeBinary: process.execPath,
        node: this.config.name,
        xdt: {
          keyFile: this.config.xdtKeyFile,
          socketDir: this.config.xdtSocketDir,
          drainTimeoutMs: this.config.xdtDrainTimeoutMs,
          activatorUrl: this.config.activatorUrl,
          shmDir: this.deps.xdtShmDir,
        },
        nodeAgentAddress: this.deps.agentAddress?.(),
        pm: this.deps.pm ? { dir: this.deps.pm.dir, address: this.deps.pm.address() } : undefined,
      });
      if (this.config.xdtKeyFile !== '') mkdirSync(this.config.xdtSocketDir, { recursive: true, mode: 0o700 });
      mkdirSync(this.config.logDir, { recursive: true });
    } catch (err) {
      this.ips.release(ip);
      throw err;
    }

    let functionServer: ChildProcess | undefined;
    let queueProxy: ChildProcess;
    let warmQueueProxy = false;
    try {
      functionServer = this.spawn(plan.functionServer);
      const spare = this.warmQueueProxies.handOff({ ...plan.queueProxyConfig, 'log-file': plan.queueProxy.logFile });
      warmQueueProxy = spare !== undefined;
      queueProxy = spare ?? this.spawn(plan.queueProxy);
    } catch (err) {
      if (functionServer) killGroup(functionServer);
      this.ips.release(ip);
      throw new SluiceError('INTERNAL', `could not spawn instance ${name}: ${(err as Error).message}`, { cause: err });
    }

    const requests = instanceRequests(definition);
    const managed: ManagedInstance = {
      status: {
        name,
        namespace,
        function: fn,
        node: this.config.name,
        phase: 'STARTING',
        ip,
        trafficPort: QUEUE_PROXY_TRAFFIC_PORT,
        adminPort: QUEUE_PROXY_ADMIN_PORT,
        metricsPort: QUEUE_PROXY_METRICS_PORT,
        message: '',
        createdAtMs: this.now(),
        readyAtMs: 0,
        generation: Number(request.generation),
        milliCpu: requests.milliCpu,
        memoryBytes: requests.memoryBytes,
      },
      functionServer,
      queueProxy,
      warmQueueProxy,
      everReady: false,
    };
    this.instances.set(name, managed);
    this.watchExit(managed, functionServer, 'function server', plan.functionServer.logFile);
    this.watchExit(managed, queueProxy, 'queue-proxy', plan.queueProxy.logFile);
    this.deps.metrics?.starts.inc({ namespace, function: fn });
    this.logger.info(
      { instance: name, namespace, function: fn, ip, functionPid: functionServer.pid, queueProxyPid: queueProxy.pid, warmQueueProxy },
      'instance starting',
    );
    if (warmQueueProxy && !this.replenishTimer) {
      this.replenishTimer = setTimeout(() => this.replenishSpares(true), REPLENISH_FALLBACK_MS);
      this.replenishTimer.unref();
    }
    this.emit('ADDED', managed);
    this.scheduleProbe(managed, 0);
    return { ...managed.status };
  }

  /**
   * Drains and stops an instance: TERMINATING, SIGTERM to the queue-proxy (it
   * drains; SIGKILL after `drainTimeoutMs`), then the function server (2 s
   * grace), then DELETED. Resolves when both processes have exited; stopping an
   * unknown or already departing instance waits for that departure.
   */
  stop(name: string, drainTimeoutMs: number = this.config.drainTimeoutMs, nodeGoing = false): Promise<void> {
    const managed = this.instances.get(name);
    if (!managed) return Promise.resolve();
    managed.teardown ??= this.drainAndStop(managed, drainTimeoutMs, nodeGoing);
    return managed.teardown;
  }

  /** Stops every instance in parallel and refuses new ones (shutdown: requests drain, XDT objects go with the node). */
  async stopAll(drainTimeoutMs: number = this.config.drainTimeoutMs): Promise<void> {
    this.closing = true;
    clearTimeout(this.replenishTimer);
    await Promise.all([this.warmQueueProxies.close(), ...[...this.instances.keys()].map((name) => this.stop(name, drainTimeoutMs, true))]);
  }

  private spawn(plan: ProcessPlan): ChildProcess {
    const child = spawnOwned(plan.command, plan.args, { env: plan.env, cwd: plan.cwd, logFile: plan.logFile });
    child.on('error', (err) => this.logger.warn({ err: err.message, command: plan.command }, 'process error'));
    return child;
  }

  private watchExit(managed: ManagedInstance, child: ChildProcess, role: ProcessRole, logFile: string): void {
    const onGone = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (managed.teardown) return; // stopping, or already failing because of the other process
      const message = `${describeExit(role, code, signal)} (log: ${logFile})`;
      managed.teardown = this.fail(managed, message);
    };
    child.once('exit', onGone);
    child.once('error', (err) => {
      if (child.pid === undefined) onGone(null, null);
      else this.logger.warn({ err: err.message, instance: managed.status.name, role }, 'process error');
    });
  }

  private async fail(managed: ManagedInstance, message: string): Promise<void> {
    this.clearProbe(managed);
    const { status } = managed;
    status.phase = 'FAILED';
    status.message = message;
    this.deps.metrics?.failures.inc({ namespace: status.namespace, function: status.function });
    this.logger.warn({ instance: status.name, namespace: status.namespace, function: status.function, reason: message }, 'instance failed');
    this.emit('MODIFIED', managed);
    // No drain: the instance is broken, in-flight requests fail either way.
    killGroup(managed.functionServer);
    killGroup(managed.queueProxy);
    await Promise.all([gone(managed.functionServer), gone(managed.queueProxy)]);
    this.remove(managed);
  }

  private async drainAndStop(managed: ManagedInstance, drainTimeoutMs: number, nodeGoing: boolean): Promise<void> {
    this.clearProbe(managed);
    const { status } = managed;
    status.phase = 'TERMINATING';
    status.message = '';
    this.logger.info({ instance: status.name, drainTimeoutMs }, 'instance draining');
    this.emit('MODIFIED', managed);
    // The queue-proxy drains requests, then (with XDT) serves objects not yet retrieved: both deadlines fit before SIGKILL.
    // SIGINT when the whole node goes: the queue-proxy then drains requests only.
    const xdtDrainMs = this.config.xdtKeyFile !== '' && !nodeGoing ? this.config.xdtDrainTimeoutMs : 0;
    await terminate(managed.queueProxy, drainTimeoutMs + xdtDrainMs + DRAIN_KILL_MARGIN_MS, nodeGoing ? 'SIGINT' : 'SIGTERM');
    await terminate(managed.functionServer, FUNCTION_SERVER_GRACE_MS);
    this.remove(managed);
  }

  private remove(managed: ManagedInstance): void {
    this.ips.release(managed.status.ip);
    this.instances.delete(managed.status.name);
    this.logger.info({ instance: managed.status.name, phase: managed.status.phase }, 'instance removed');
    this.emit('DELETED', managed);
    this.replenishSpares(false);
  }

  /** Tops the spares up, unless an instance is still in its first start (then its READY or removal will). */
  private replenishSpares(evenWhileStarting: boolean): void {
    if (!evenWhileStarting && [...this.instances.values()].some((m) => !m.everReady && !m.teardown)) return;
    clearTimeout(this.replenishTimer);
    this.replenishTimer = undefined;
    this.warmQueueProxies.fill();
  }

  private scheduleProbe(managed: ManagedInstance, delayMs: number): void {
    managed.probeTimer = setTimeout(() => void this.probe(managed), delayMs);
    managed.probeTimer.unref();
  }

  private clearProbe(managed: ManagedInstance): void {
    if (managed.probeTimer) clearTimeout(managed.probeTimer);
    managed.probeTimer = undefined;
  }

  private async probe(managed: ManagedInstance): Promise<void> {
    managed.probeTimer = undefined;
    if (managed.teardown) return;
    const ready = await probeReady(managed.status.ip);
    if (managed.teardown) return;
    const { status } = managed;
    if (ready && status.phase === 'STARTING') {
      status.phase = 'READY';
      status.message = '';
      if (!managed.everReady) status.readyAtMs = this.now();
      managed.everReady = true;
      this.logger.info({ instance: status.name, startupMs: status.readyAtMs - status.createdAtMs, warmQueueProxy: managed.warmQueueProxy }, 'instance ready');
      this.emit('MODIFIED', managed);
      this.replenishSpares(false);
    } else if (!ready && status.phase === 'READY') {
      status.phase = 'STARTING';
      status.message = 'readiness probe failed';
      this.logger.warn({ instance: status.name }, 'instance not ready');
      this.emit('MODIFIED', managed);
    }
    this.scheduleProbe(managed, managed.everReady ? this.probeIntervals.readyMs : this.probeIntervals.startingMs);
  }

  private emit(type: InstanceEventType, managed: ManagedInstance): void {
    const event: InstanceEvent = { type, instance: { ...managed.status } };
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        this.logger.error({ err }, 'instance listener failed');
      }
    }
  }
}
