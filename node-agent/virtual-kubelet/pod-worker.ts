// TEST INFRASTRUCTURE (virtual kubelet). One pod bound to this virtual node, from first sight to kubelet's final delete.
//
//   refuse unsupported specs (Failed, UnsupportedPodSpec)
//   → "sandbox": pod IP from 10.244.N.2–254 (hostNetwork: the node IP), hostPorts forwarded from the node IP,
//     hostPath directories checked or created, bound service account token → per-pod kubeconfig
//   → init containers one after another, each to success
//   → the containers, each with its restart policy, probes and back-off (container-runner.ts)
//   → pod finished (restartPolicy Never / OnFailure): terminal phase, IP released
// and, whenever the pod gets a deletionTimestamp: preStop + SIGTERM to every container, SIGKILL after the grace
// period, the terminal status, then DELETE with gracePeriodSeconds 0 and the pod's UID as precondition (what
// kubelet's status manager does once a pod is fully stopped), IP released.
// Status goes to pods/status as a strategic merge patch (with metadata.uid, so a same-named successor pod is
// never patched), coalesced and only when it changed.
import { mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../lib/logger.js';
import type { IpAllocator } from '../ip-allocator.js';
import type { VirtualKubeletConfig } from './config.js';
import { ContainerRunner, MIN_GRACE_MS } from './container-runner.js';
import type { PreparedEnv } from './container-runner.js';
import { referencedObjects, resolveEnv } from './env.js';
import { HostPortForwarder, hostPortMappings } from './host-ports.js';
import type { ImageEntry } from './images.js';
import { isConflict, isNotFound, KubeApiError, PATCH } from './kube-client.js';
import type { KubeClient } from './kube-client.js';
import { podKubeconfig, tokenRefreshDelayMs, tokenRequest } from './pod-kubeconfig.js';
import { buildPodStatus } from './pod-status.js';
import type { PodView } from './pod-status.js';
import { isServiceAccountTokenVolume, UNSUPPORTED_REASON, unsupportedReason } from './pod-support.js';
import type { ConfigMap, Container, Pod, Secret, Service } from './types.js';

export interface PodWorkerDeps {
  client: KubeClient;
  config: VirtualKubeletConfig;
  nodeName: string;
  hostIP: string;
  /** The node's allocatable resources (downward API default for unset limits). */
  allocatable: Readonly<Record<string, string>>;
  ips: IpAllocator;
  /** The cluster's Services as the virtual kubelet's informer has them. */
  services(): Service[];
  /** Written into pod kubeconfigs. */
  podApiServer: string;
  podCaData: string;
  logger: Logger;
  nodeBinary: string;
  now(): number;
  /** The worker is done (pod deleted or agent stopping): forget it. */
  onFinished(uid: string): void;
}

const STATUS_RETRY_MS = 1_000;

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function isTerminalPhase(phase: string | undefined): boolean {
  return phase === 'Succeeded' || phase === 'Failed';
}

/** resourceVersions are opaque, but the API server's are integers: never go back to an older copy. */
function isOlder(candidate: Pod, current: Pod): boolean {
  const a = candidate.metadata.resourceVersion;
  const b = current.metadata.resourceVersion;
  if (!a || !b || !/^\d+$/.test(a) || !/^\d+$/.test(b)) return false;
  return BigInt(a) < BigInt(b);
}

export class PodWorker {
  private pod: Pod;
  readonly uid: string;
  private podIPs: string[] = [];
  private allocatedIP: string | undefined;
  private readonly startTime: string;
  private sandboxReady = false;
  private rejected: { reason: string; message: string } | undefined;
  private readonly initRunners: ContainerRunner[];
  private readonly runners: ContainerRunner[];
  private terminal = false;
  /** Nothing more goes to the API (pod gone, or agent stopping). */
  private silent = false;
  /** No status writes (a pod that was terminal before this agent saw it keeps its status). */
  private statusFrozen = false;
  private readonly stopping = new AbortController();
  private main: Promise<void> = Promise.resolve();
  private termination: Promise<void> | undefined;
  private dirty = false;
  private syncing: Promise<void> | undefined;
  private lastSent = '';
  private tokenVolume: string | undefined;
  private kubeconfigFile: string | undefined;
  private tokenTimer: NodeJS.Timeout | undefined;
  private hostPorts: HostPortForwarder | undefined;
  private readonly logger: Logger;

  constructor(
    pod: Pod,
    private readonly deps: PodWorkerDeps,
  ) {
    this.pod = pod;
    this.uid = pod.metadata.uid ?? '';
    this.startTime = pod.status?.startTime ?? iso(deps.now());
    this.logger = deps.logger.child({ pod: `${this.namespace}/${this.name}`, uid: this.uid });
    const hasInit = (pod.spec.initContainers ?? []).length > 0;
    const runner = (c: Container, kind: 'init' | 'regular', reason: string) =>
      new ContainerRunner(c, kind, this.runnerContext(path.join(deps.config.logDir, `${this.namespace}_${this.name}_${c.name}.log`)), reason);
    this.initRunners = (pod.spec.initContainers ?? []).map((c) => runner(c, 'init', 'PodInitializing'));
    this.runners = pod.spec.containers.map((c) => runner(c, 'regular', hasInit ? 'PodInitializing' : 'ContainerCreating'));
  }

  get name(): string {
    return this.pod.metadata.name;
  }

  get namespace(): string {
    return this.pod.metadata.namespace ?? 'default';
  }

  /** The pod's IP once set up ("" before). */
  get ip(): string {
    return this.podIPs[0] ?? '';
  }

  /** Pids of the containers' running processes, by container name. */
  pids(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of [...this.initRunners, ...this.runners]) if (r.pid !== undefined) out[r.name] = r.pid;
    return out;
  }

  private runnerContext(logFile: string) {
    const { config } = this.deps;
    return {
      pod: () => this.pod,
      podIP: () => this.ip,
      nodeBinary: this.deps.nodeBinary,
      workDir: config.workDir,
      logFile,
      images: config.images,
      backoff: { initialMs: config.backoffInitialMs, maxMs: config.backoffMaxMs },
      prepareEnv: (c: Container, image: ImageEntry) => this.prepareEnv(c, image),
      onChange: () => this.markDirty(),
      logger: this.logger,
      now: this.deps.now,
    };
  }

  start(): void {
    this.main = this.run().catch((err) => this.logger.error({ err }, 'pod worker failed'));
  }

  /** A newer copy of the pod from the API. */
  update(pod: Pod): void {
    if (isOlder(pod, this.pod)) return;
    this.pod = pod;
    if (pod.metadata.deletionTimestamp) void this.terminate();
    else this.markDirty();
  }

  private async run(): Promise<void> {
    const pod = this.pod;
    if (isTerminalPhase(pod.status?.phase)) {
      // Finished before this agent saw it (e.g. an earlier agent): nothing to run, keep the status as it is.
      this.terminal = true;
      this.statusFrozen = true;
      this.logger.info({ phase: pod.status?.phase }, 'pod already terminal');
      if (pod.metadata.deletionTimestamp) void this.terminate();
      return;
    }
    if (pod.metadata.deletionTimestamp) return void this.terminate();
    const reason = unsupportedReason(pod);
    if (reason) {
      this.rejected = { reason: UNSUPPORTED_REASON, message: reason };
      this.logger.warn({ reason }, 'pod refused');
      this.markDirty();
      return;
    }
    if (pod.spec.hostNetwork) {
      this.podIPs = [this.deps.hostIP];
    } else {
      try {
        this.allocatedIP = this.deps.ips.allocate();
        this.podIPs = [this.allocatedIP];
      } catch (err) {
        this.rejected = { reason: 'OutOfPodIPs', message: `virtual kubelet: ${(err as Error).message}` };
        this.markDirty();
        return;
      }
    }
    this.logger.info({ ip: this.ip }, 'pod accepted');
    mkdirSync(this.deps.config.logDir, { recursive: true });
    this.markDirty();
    await this.untilSetUp(() => this.setUpHostPorts());
    if (this.stopped) return;
    await this.untilSetUp(() => this.setUpHostPaths());
    if (this.stopped) return;
    await this.setUpCredentials();
    if (this.stopped) return;
    this.sandboxReady = true;
    this.markDirty();
    for (const init of this.initRunners) {
      const outcome = await init.run();
      if (outcome === 'stopped' || this.stopped) return;
      if (outcome === 'failed') {
        // restartPolicy Never: the pod fails (getPhase), nothing else runs.
        this.finish();
        return;
      }
    }
    if (this.initRunners.length > 0) {
      for (const r of this.runners) if (r.status.state.waiting?.reason === 'PodInitializing') r.status.state = { waiting: { reason: 'ContainerCreating' } };
      this.markDirty();
    }
    const outcomes = await Promise.all(this.runners.map((r) => r.run()));
    if (outcomes.includes('stopped') || this.stopped) return;
    this.finish();
  }

  private get stopped(): boolean {
    return this.stopping.signal.aborted;
  }

  /** Every container is done for good (restartPolicy Never/OnFailure): terminal phase, the "sandbox" goes. */
  private finish(): void {
    this.terminal = true;
    this.releaseSandbox();
    this.logger.info('pod finished');
    this.markDirty();
  }

  private releaseSandbox(): void {
    if (this.allocatedIP) this.deps.ips.release(this.allocatedIP);
    this.allocatedIP = undefined;
    void this.hostPorts?.close();
    this.hostPorts = undefined;
    clearTimeout(this.tokenTimer);
    if (this.kubeconfigFile) rmSync(path.dirname(this.kubeconfigFile), { recursive: true, force: true });
    this.kubeconfigFile = undefined;
  }

  // --- sandbox: host ports, hostPath volumes ------------------------------------------------------------------

  /**
   * Runs one sandbox step until it succeeds or the pod stops; meanwhile every container waits with the step's
   * error as its message (kubelet's FailedCreatePodSandBox / FailedMount, retried with back-off).
   */
  private async untilSetUp(step: () => Promise<void>, what = 'pod sandbox set-up failed'): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        await step();
        if (failures > 0) {
          for (const r of [...this.initRunners, ...this.runners]) if (r.status.state.waiting) r.status.state = { waiting: { reason: r.status.state.waiting.reason } };
          this.markDirty();
        }
        return;
      } catch (err) {
        failures++;
        const message = (err as Error).message;
        this.logger.warn({ err: message }, `${what}, retrying`);
        for (const r of [...this.initRunners, ...this.runners]) r.status.state = { waiting: { reason: r.status.state.waiting?.reason ?? 'ContainerCreating', message } };
        this.markDirty();
        try {
          await sleep(Math.min(500 * 2 ** (failures - 1), 10_000), undefined, { signal: this.stopping.signal });
        } catch {
          return;
        }
      }
    }
  }

  private async setUpHostPorts(): Promise<void> {
    const mappings = hostPortMappings(this.pod, this.deps.hostIP, this.ip);
    if (mappings.length === 0) return;
    const forwarder = new HostPortForwarder(this.logger);
    try {
      await forwarder.open(mappings);
    } catch (err) {
      throw new Error(`FailedCreatePodSandBox: ${(err as Error).message}`);
    }
    if (this.stopped) return void forwarder.close();
    this.hostPorts = forwarder;
  }

  /** hostPath directories are the machine's own paths (pod-support.ts accepts only mounts at the same path). */
  private async setUpHostPaths(): Promise<void> {
    for (const volume of this.pod.spec.volumes ?? []) {
      const source = volume.hostPath;
      if (!source) continue;
      if (source.type === 'DirectoryOrCreate') {
        // kubelet creates it with mode 0755 (owned by kubelet's user).
        mkdirSync(source.path, { recursive: true, mode: 0o755 });
        continue;
      }
      if (source.type === 'Directory') {
        let isDirectory = false;
        try {
          isDirectory = statSync(source.path).isDirectory();
        } catch {
          // missing
        }
        if (!isDirectory) throw new Error(`MountVolume.SetUp failed for volume "${volume.name}" : hostPath type check failed: ${source.path} is not a directory`);
      }
    }
  }

  // --- credentials -------------------------------------------------------------------------------------------

  private async setUpCredentials(): Promise<void> {
    const volume = (this.pod.spec.volumes ?? []).find(isServiceAccountTokenVolume);
    const source = volume?.projected?.sources?.find((s) => s.serviceAccountToken)?.serviceAccountToken;
    if (!volume || !source) return;
    this.tokenVolume = volume.name;
    await this.untilSetUp(async () => {
      try {
        await this.writeKubeconfig(source);
      } catch (err) {
        throw new Error(`MountVolume.SetUp failed for volume "${volume.name}" : ${(err as Error).message}`);
      }
    }, 'service account token request failed');
  }

  private async writeKubeconfig(source: { audience?: string; expirationSeconds?: number }): Promise<void> {
    const sa = this.pod.spec.serviceAccountName || 'default';
    const issued = this.deps.now();
    const res = await this.deps.client.create<{ status: { token: string; expirationTimestamp: string } }>(
      `/api/v1/namespaces/${this.namespace}/serviceaccounts/${sa}/token`,
      tokenRequest({ name: this.name, uid: this.uid }, source),
    );
    const dir = path.join(this.deps.config.runDir, `${this.namespace}_${this.name}_${this.uid}`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const file = path.join(dir, 'kubeconfig');
    const text = podKubeconfig({ server: this.deps.podApiServer, caData: this.deps.podCaData, token: res.status.token, namespace: this.namespace, serviceAccount: sa });
    writeFileSync(`${file}.tmp`, text, { mode: 0o600 });
    // rename: a client reading the file never sees half of it.
    renameSync(`${file}.tmp`, file);
    this.kubeconfigFile = file;
    clearTimeout(this.tokenTimer);
    if (this.stopped) return;
    const delay = tokenRefreshDelayMs(issued, Date.parse(res.status.expirationTimestamp));
    this.tokenTimer = setTimeout(() => {
      this.writeKubeconfig(source).catch((err) => this.logger.warn({ err: (err as Error).message }, 'token refresh failed'));
    }, Math.max(delay, 1_000));
    this.tokenTimer.unref();
  }

  // --- environment -------------------------------------------------------------------------------------------

  private async fetchOptional<T>(kind: 'configmaps' | 'secrets', name: string): Promise<T | null> {
    try {
      return await this.deps.client.get<T>(`/api/v1/namespaces/${this.namespace}/${kind}/${name}`);
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  private async prepareEnv(container: Container, image: ImageEntry): Promise<PreparedEnv> {
    const refs = referencedObjects(container);
    const configMaps = new Map<string, ConfigMap | null>();
    const secrets = new Map<string, Secret | null>();
    try {
      for (const name of refs.configMaps) configMaps.set(name, await this.fetchOptional<ConfigMap>('configmaps', name));
      for (const name of refs.secrets) secrets.set(name, await this.fetchOptional<Secret>('secrets', name));
    } catch (err) {
      return { ok: false, error: (err as Error).message };
    }
    const resolved = resolveEnv({
      pod: this.pod,
      container,
      podIPs: this.podIPs,
      hostIPs: [this.deps.hostIP],
      services: this.deps.services(),
      configMaps,
      secrets,
      nodeAllocatable: this.deps.allocatable,
    });
    if (!resolved.ok) return resolved;
    const mountsToken = this.tokenVolume !== undefined && (container.volumeMounts ?? []).some((m) => m.name === this.tokenVolume);
    const env = new Map<string, string>([
      // What a container runtime provides: PATH (from the image), HOSTNAME (the pod's hostname).
      ['PATH', process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      ['HOME', os.homedir()],
      ['HOSTNAME', (this.pod.spec.hostname ?? this.name).slice(0, 63)],
      ...Object.entries(image.env ?? {}),
      // The stand-in for the mounted service account token (see pod-kubeconfig.ts).
      ...(mountsToken && this.kubeconfigFile ? ([['KUBECONFIG', this.kubeconfigFile]] as const) : []),
      ...resolved.env,
    ]);
    return { ok: true, env };
  }

  // --- status ------------------------------------------------------------------------------------------------

  private view(): PodView {
    return {
      pod: this.pod,
      podIPs: this.podIPs,
      hostIPs: [this.deps.hostIP],
      startTime: this.startTime,
      sandboxReady: this.sandboxReady,
      initContainerStatuses: this.initRunners.map((r) => r.status),
      containerStatuses: this.runners.map((r) => r.status),
      terminal: this.terminal,
      rejected: this.rejected,
      now: iso(this.deps.now()),
    };
  }

  private markDirty(): void {
    if (this.silent || this.statusFrozen) return;
    this.dirty = true;
    this.syncing ??= this.syncLoop();
  }

  private async syncLoop(): Promise<void> {
    // Coalesce a burst of changes (a container starting changes several fields) into one patch.
    await new Promise((resolve) => setImmediate(resolve));
    while (this.dirty && !this.silent) {
      this.dirty = false;
      try {
        await this.syncOnce();
      } catch (err) {
        if (isNotFound(err) || isConflict(err)) {
          // The pod is gone, or the name now belongs to a successor (UID precondition): nothing to report to.
          this.logger.info({ err: (err as Error).message }, 'pod gone, status not written');
          break;
        }
        if (err instanceof KubeApiError && err.status >= 400 && err.status < 500 && err.status !== 429) {
          // Refused (forbidden, invalid): retrying the same patch would not help; the next change tries again.
          this.logger.error({ err: err.message }, 'pod status update refused');
          break;
        }
        this.logger.warn({ err: (err as Error).message }, 'pod status update failed, retrying');
        this.dirty = true;
        await sleep(STATUS_RETRY_MS);
      }
    }
    this.syncing = undefined;
  }

  private async syncOnce(): Promise<void> {
    const status = buildPodStatus(this.view());
    const text = JSON.stringify(status);
    if (text === this.lastSent) return;
    const updated = await this.deps.client.patch<Pod>(
      `/api/v1/namespaces/${this.namespace}/pods/${this.name}/status`,
      { metadata: { uid: this.uid }, status },
      PATCH.strategic,
    );
    // Unchanged conditions keep the transition times the API now has, so an unchanged status gives the same text.
    this.lastSent = text;
    if (!isOlder(updated, this.pod)) this.pod = updated;
  }

  /** Waits until the current status has been written (or can no longer be). */
  private async flushStatus(): Promise<void> {
    this.markDirty();
    while (this.syncing) await this.syncing;
  }

  // --- termination -------------------------------------------------------------------------------------------

  private graceMs(): number {
    const s = this.pod.metadata.deletionGracePeriodSeconds ?? this.pod.spec.terminationGracePeriodSeconds ?? 30;
    return Math.max(s * 1000, MIN_GRACE_MS);
  }

  private async stopContainers(graceMs: number): Promise<void> {
    this.stopping.abort();
    // Regular containers and (already finished or never started) init containers, all at once, as kubelet's killPod.
    await Promise.all([...this.runners, ...this.initRunners].map((r) => r.stop(graceMs)));
    await this.main;
  }

  /** The pod has a deletionTimestamp: stop everything, report, delete for good. */
  terminate(): Promise<void> {
    this.termination ??= (async () => {
      const graceMs = this.graceMs();
      this.logger.info({ graceMs }, 'pod terminating');
      await this.stopContainers(graceMs);
      for (const r of [...this.initRunners, ...this.runners]) r.markGone();
      this.terminal = true;
      this.releaseSandbox();
      if (!this.silent) {
        if (!this.statusFrozen) await this.flushStatus();
        await this.deleteFromApi();
      }
      this.silent = true;
      this.logger.info('pod deleted');
      this.deps.onFinished(this.uid);
    })();
    return this.termination;
  }

  private async deleteFromApi(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.deps.client.delete(`/api/v1/namespaces/${this.namespace}/pods/${this.name}`, {
          apiVersion: 'v1',
          kind: 'DeleteOptions',
          gracePeriodSeconds: 0,
          preconditions: { uid: this.uid },
        });
        return;
      } catch (err) {
        if (isNotFound(err) || isConflict(err)) return;
        this.logger.warn({ err: (err as Error).message, attempt }, 'final pod delete failed, retrying');
        if (attempt >= 30) return;
        await sleep(STATUS_RETRY_MS);
      }
    }
  }

  /** The pod object is gone from the API (force deletion, or our own final delete): stop without further API calls. */
  async removed(): Promise<void> {
    if (this.termination) return this.termination;
    this.silent = true;
    this.logger.info('pod removed from the API, stopping its containers');
    await this.stopContainers(MIN_GRACE_MS);
    this.releaseSandbox();
    this.deps.onFinished(this.uid);
  }

  /** The agent stops: containers get at most `graceMs`, the pod stays as it is in the API (a real node going away). */
  async shutdown(graceMs: number): Promise<void> {
    this.silent = true;
    await this.stopContainers(Math.max(Math.min(this.graceMs(), graceMs), 0));
    this.releaseSandbox();
  }
}
