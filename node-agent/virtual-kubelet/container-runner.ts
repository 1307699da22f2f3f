// TEST INFRASTRUCTURE (virtual kubelet). One container of a pod, run as a local process with kubelet's lifecycle:
// resolve env and command → spawn → postStart → probes → exit → restart per restartPolicy with crash-loop back-off.
//
// The container's status (the API's ContainerStatus) is kept here and reported through `onChange`:
// waiting (ContainerCreating / PodInitializing / ErrImagePull / ImagePullBackOff / CreateContainerConfigError /
// CrashLoopBackOff) → running (startedAt, started, ready from the probes) → terminated (exit code, Completed /
// Error / StartError), with lastState and restartCount as kubelet reports them. containerID is
// `process://<pid>`, so tests can check a container's process is gone.
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChildProcess } from 'node:child_process';
import { spawnOwned, terminate } from '../../lib/process.js';
import type { Logger } from '../../lib/logger.js';
import { restartDecision, shouldRestart } from './backoff.js';
import type { BackoffConfig, BackoffEntry } from './backoff.js';
import { runHandler } from './handlers.js';
import { commandLine, lookupImage, normalizeImage, unknownImageMessage } from './images.js';
import type { ImageEntry } from './images.js';
import { initialProbeState, observeProbe, probeApplies, probeTiming } from './probe-state.js';
import type { ProbeKind, ProbeState } from './probe-state.js';
import type { Container, ContainerStateTerminated, ContainerStatus, Pod, Probe } from './types.js';

/** kubelet's minimumGracePeriodInSeconds: a stop always leaves at least this long before SIGKILL. */
export const MIN_GRACE_MS = 2_000;

export type ContainerKind = 'init' | 'regular';

/** How the container's environment came out: the variables, or why it cannot start yet (CreateContainerConfigError). */
export type PreparedEnv = { ok: true; env: Map<string, string> } | { ok: false; error: string };

export interface RunnerContext {
  /** The latest pod object. */
  pod(): Pod;
  podIP(): string;
  nodeBinary: string;
  workDir: string;
  logFile: string;
  images: Readonly<Record<string, ImageEntry>>;
  backoff: BackoffConfig;
  /** The container's full environment (base, image, credentials, kubelet's resolution). */
  prepareEnv(container: Container, image: ImageEntry): Promise<PreparedEnv>;
  onChange(): void;
  logger: Logger;
  now(): number;
}

/** How a run of the container ended. */
export type RunOutcome = 'succeeded' | 'failed' | 'stopped';

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Go's time.Duration String() for the durations back-off uses ("10s", "1m20s", "5m0s", "250ms"). */
export function goDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const totalS = ms / 1000;
  const h = Math.floor(totalS / 3600);
  const m = Math.floor((totalS % 3600) / 60);
  const s = +(totalS % 60).toFixed(3);
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}

/** Whether `command` names an executable file (absolute, relative to `cwd`, or found in `PATH`). */
export function findExecutable(command: string, pathVar: string, cwd: string): boolean {
  const candidates = command.includes('/') ? [path.resolve(cwd, command)] : pathVar.split(':').filter((d) => d !== '').map((d) => path.join(d, command));
  return candidates.some((file) => {
    try {
      accessSync(file, constants.X_OK);
      return statSync(file).isFile();
    } catch {
      return false;
    }
  });
}

/** Exit code as a container runtime reports it: the code, or 128 + the signal's number. */
export function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const n = signal ? os.constants.signals[signal] : undefined;
  return n === undefined ? 137 : 128 + n;
}

interface ProbeLoop {
  kind: ProbeKind;
  probe: Probe;
  state: ProbeState;
}

export class ContainerRunner {
  readonly status: ContainerStatus;
  private child: ChildProcess | undefined;
  private childExited: Promise<void> = Promise.resolve();
  private env = new Map<string, string>();
  private backoff: BackoffEntry | undefined;
  private setupFailures = 0;
  private probes: ProbeLoop[] = [];
  /** Aborted when the current container instance ends (probe loops stop). */
  private instance = new AbortController();
  /** Aborted when the container must stop for good (cuts back-off waits short). */
  private readonly stopping = new AbortController();
  private killReason: string | undefined;
  private runPromise: Promise<RunOutcome> | undefined;
  private attempts = 0;
  /** When the last instance exited, to the millisecond (the API's timestamps have seconds only). */
  private finishedMs = 0;

  constructor(
    readonly spec: Container,
    readonly kind: ContainerKind,
    private readonly ctx: RunnerContext,
    /** The waiting reason before the first start: ContainerCreating, or PodInitializing behind init containers. */
    initialReason: string,
  ) {
    this.status = {
      name: spec.name,
      state: { waiting: { reason: initialReason } },
      lastState: {},
      ready: false,
      restartCount: 0,
      image: spec.image ?? '',
      imageID: '',
      started: false,
    };
  }

  get name(): string {
    return this.spec.name;
  }

  /** Pid of the running process, if any. */
  get pid(): number | undefined {
    return this.child && this.child.exitCode === null && this.child.signalCode === null ? this.child.pid : undefined;
  }

  /** Runs the container until it will not be started again; one call per runner. */
  run(): Promise<RunOutcome> {
    this.runPromise ??= this.loop();
    return this.runPromise;
  }

  private get stopped(): boolean {
    return this.stopping.signal.aborted;
  }

  private changed(): void {
    this.ctx.onChange();
  }

  /** A terminated instance becomes lastState once the container moves on (waits again or runs anew). */
  private leaveTerminated(): void {
    if (this.status.state.terminated) this.status.lastState = { terminated: this.status.state.terminated };
  }

  private setWaiting(reason: string, message?: string): void {
    this.leaveTerminated();
    this.status.state = { waiting: { reason, ...(message ? { message } : {}) } };
    this.status.ready = false;
    this.status.started = false;
    this.changed();
  }

  /** Waits `ms` unless the container is being stopped. */
  private async pause(ms: number): Promise<void> {
    try {
      await sleep(ms, undefined, { signal: this.stopping.signal });
    } catch {
      // stopping
    }
  }

  private restartPolicy(): string {
    const policy = this.ctx.pod().spec.restartPolicy ?? 'Always';
    // Init containers run to completion: Always behaves as OnFailure for them.
    return this.kind === 'init' && policy === 'Always' ? 'OnFailure' : policy;
  }

  private async loop(): Promise<RunOutcome> {
    while (!this.stopped) {
      const image = lookupImage(this.spec.image ?? '', this.ctx.images);
      const imageProblem = image ? this.missingScript(image) : unknownImageMessage(this.spec.image ?? '', this.ctx.images);
      if (imageProblem || !image) {
        this.setupFailures++;
        this.setWaiting(this.setupFailures === 1 ? 'ErrImagePull' : 'ImagePullBackOff', imageProblem);
        this.ctx.logger.warn({ container: this.name, image: this.spec.image, reason: imageProblem }, 'image has no local command');
        await this.setupBackoff();
        continue;
      }
      const env = await this.ctx.prepareEnv(this.spec, image);
      if (this.stopped) break;
      if (!env.ok) {
        this.setupFailures++;
        this.setWaiting('CreateContainerConfigError', env.error);
        this.ctx.logger.warn({ container: this.name, reason: env.error }, 'container config error');
        await this.setupBackoff();
        continue;
      }
      const line = commandLine(image, this.spec, env.env, this.ctx.nodeBinary);
      if ('error' in line) {
        this.setupFailures++;
        this.setWaiting('CreateContainerError', line.error);
        await this.setupBackoff();
        continue;
      }
      this.setupFailures = 0;
      this.env = env.env;
      this.status.imageID = `process://${normalizeImage(this.spec.image ?? '')}`;
      const exit = await this.runInstance(line.command, line.args);
      if (this.stopped) return 'stopped';
      if (!shouldRestart(this.restartPolicy(), exit.exitCode)) return exit.exitCode === 0 ? 'succeeded' : 'failed';
      const decision = restartDecision(this.backoff, this.finishedMs, this.ctx.now(), this.ctx.backoff);
      this.backoff = decision.next;
      if (decision.waitMs > 0) {
        const pod = this.ctx.pod();
        const delay = goDuration(decision.delayMs);
        this.leaveTerminated();
        this.status.state = {
          waiting: {
            reason: 'CrashLoopBackOff',
            message: `back-off ${delay} restarting failed container=${this.name} pod=${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`,
          },
        };
        this.changed();
        await this.pause(decision.waitMs);
      }
    }
    return 'stopped';
  }

  /** A built-in image whose script is not built yet counts as an image that cannot be pulled. */
  private missingScript(image: ImageEntry): string | undefined {
    const script = image.entrypoint[0] === 'node' ? image.entrypoint[1] : undefined;
    if (script === undefined || !/\.[cm]?js$/.test(script) || this.spec.command?.length) return undefined;
    const file = path.resolve(this.ctx.workDir, script);
    return existsSync(file) ? undefined : `image "${this.spec.image}" maps to node ${script}, but ${file} does not exist (run npm run build)`;
  }

  private async setupBackoff(): Promise<void> {
    const delay = Math.min(this.ctx.backoff.initialMs * 2 ** Math.max(0, this.setupFailures - 1), this.ctx.backoff.maxMs);
    await this.pause(delay);
  }

  /** One container instance: spawn, hooks and probes, until the process exits. */
  private async runInstance(command: string, args: string[]): Promise<ContainerStateTerminated> {
    const startedMs = this.ctx.now();
    if (this.attempts > 0) this.status.restartCount++;
    this.attempts++;
    await appendFile(this.ctx.logFile, `--- virtual-kubelet ${iso(startedMs)}: start ${this.name} (restart ${this.status.restartCount}): ${[command, ...args].join(' ')}\n`).catch(() => undefined);
    this.instance = new AbortController();
    this.killReason = undefined;
    let child: ChildProcess;
    let spawnError: Error | undefined;
    // Through setpriv a missing program would be setpriv's exit 127; a runtime reports StartError (128) instead.
    if (!findExecutable(command, this.env.get('PATH') ?? '', this.ctx.workDir)) {
      const message = `exec: "${command}": ${command.includes('/') ? 'no such file or directory' : 'executable file not found in $PATH'}`;
      return this.terminated({ exitCode: 128, reason: 'StartError', message, startedAt: iso(startedMs), finishedAt: iso(this.ctx.now()) });
    }
    try {
      child = spawnOwned(command, args, { env: Object.fromEntries(this.env), cwd: this.ctx.workDir, logFile: this.ctx.logFile });
    } catch (err) {
      return this.terminated({ exitCode: 128, reason: 'StartError', message: (err as Error).message, startedAt: iso(startedMs), finishedAt: iso(this.ctx.now()) });
    }
    this.child = child;
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
      child.once('error', (err) => {
        if (child.pid === undefined) {
          spawnError = err;
          resolve({ code: 128, signal: null });
        } else this.ctx.logger.warn({ err: err.message, container: this.name }, 'process error');
      });
    });
    this.childExited = exited.then(() => undefined);
    if (child.pid !== undefined) {
      const startupProbe = this.spec.startupProbe;
      this.status.containerID = `process://${child.pid}`;
      this.leaveTerminated();
      this.status.state = { running: { startedAt: iso(startedMs) } };
      this.status.started = false;
      this.status.ready = false;
      this.ctx.logger.info({ container: this.name, pid: child.pid, command, args }, 'container started');
      this.changed();
      void this.afterStart(startupProbe === undefined);
    }
    const { code, signal } = await exited;
    this.instance.abort();
    this.child = undefined;
    const exitCode = exitCodeOf(code, signal);
    const finishedAt = iso(this.ctx.now());
    if (spawnError) return this.terminated({ exitCode: 128, reason: 'StartError', message: spawnError.message, startedAt: iso(startedMs), finishedAt });
    const reason = exitCode === 0 ? 'Completed' : 'Error';
    this.ctx.logger.info({ container: this.name, exitCode, signal, killReason: this.killReason }, 'container exited');
    return this.terminated({ exitCode, reason, ...(this.killReason ? { message: this.killReason } : {}), startedAt: iso(startedMs), finishedAt });
  }

  private terminated(t: ContainerStateTerminated): ContainerStateTerminated {
    this.finishedMs = this.ctx.now();
    const state = { ...t, ...(this.status.containerID ? { containerID: this.status.containerID } : {}) };
    this.status.state = { terminated: state };
    this.status.ready = this.kind === 'init' && t.exitCode === 0;
    this.status.started = false;
    this.changed();
    return state;
  }

  /** postStart, then the probes; `started` right away when there is no startup probe. */
  private async afterStart(startedWithoutProbe: boolean): Promise<void> {
    const signal = this.instance.signal;
    const postStart = this.spec.lifecycle?.postStart;
    if (postStart) {
      const outcome = await runHandler(postStart, this.handlerContext(30_000, signal));
      if (signal.aborted) return;
      if (outcome.result !== 'success') {
        void this.kill(`FailedPostStartHook: ${outcome.message}`);
        return;
      }
    }
    if (startedWithoutProbe) {
      this.status.started = true;
      this.status.ready = this.kind === 'init' ? false : this.spec.readinessProbe === undefined;
      this.changed();
    }
    this.probes = (
      [
        ['startup', this.spec.startupProbe],
        ['liveness', this.spec.livenessProbe],
        ['readiness', this.spec.readinessProbe],
      ] as const
    )
      .filter((p): p is [ProbeKind, Probe] => p[1] !== undefined)
      .map(([kind, probe]) => ({ kind, probe, state: initialProbeState(kind) }));
    for (const loop of this.probes) void this.probeLoop(loop, signal);
  }

  private handlerContext(timeoutMs: number, signal: AbortSignal) {
    return { podIP: this.ctx.podIP(), container: this.spec, env: this.env, cwd: this.ctx.workDir, timeoutMs, nodeBinary: this.ctx.nodeBinary, signal };
  }

  private async probeLoop(loop: ProbeLoop, signal: AbortSignal): Promise<void> {
    const timing = probeTiming(loop.probe);
    try {
      await sleep(timing.initialDelayMs, undefined, { signal });
      while (!signal.aborted) {
        const deleting = this.ctx.pod().metadata.deletionTimestamp !== undefined;
        // kubelet: a pod being deleted stops liveness and startup probing (quiet shutdown); readiness goes on.
        if (deleting && loop.kind !== 'readiness') return;
        if (probeApplies(loop.kind, this.status.started === true) && !loop.state.onHold) {
          const outcome = await runHandler(loop.probe, this.handlerContext(timing.timeoutMs, signal));
          if (signal.aborted) return;
          const before = loop.state.result;
          loop.state = observeProbe(loop.state, loop.kind, outcome.result, timing);
          if (loop.state.result !== before || loop.state.onHold) this.onProbeResult(loop, outcome.message);
        }
        await sleep(timing.periodMs, undefined, { signal });
      }
    } catch {
      // the instance ended
    }
  }

  private onProbeResult(loop: ProbeLoop, message: string): void {
    const { kind, state } = loop;
    if (kind === 'startup') {
      if (state.result === 'success') {
        this.status.started = true;
        this.status.ready = this.spec.readinessProbe === undefined;
        this.changed();
      } else if (state.result === 'failure') {
        void this.kill(`Startup probe failed: ${message}`);
      }
    } else if (kind === 'liveness' && state.result === 'failure') {
      void this.kill(`Liveness probe failed: ${message}`);
    } else if (kind === 'readiness') {
      const ready = state.result === 'success';
      if (ready !== this.status.ready) {
        this.status.ready = ready;
        this.ctx.logger.info({ container: this.name, ready, message }, 'readiness changed');
        this.changed();
      }
    }
  }

  /** Kills the current instance (probe failure, failed hook) with the pod's grace period; the restart policy decides what follows. */
  private async kill(reason: string): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.killReason = reason;
    this.ctx.logger.warn({ container: this.name, reason }, 'killing container');
    const probeGrace = this.spec.livenessProbe?.terminationGracePeriodSeconds;
    const graceS = probeGrace ?? this.ctx.pod().spec.terminationGracePeriodSeconds ?? 30;
    await terminate(child, Math.max(graceS * 1000, MIN_GRACE_MS), (this.spec.lifecycle?.stopSignal as NodeJS.Signals | undefined) ?? 'SIGTERM');
  }

  /**
   * Stops the container for good: no more restarts; a running instance gets preStop and then the stop
   * signal, SIGKILL when `graceMs` (at least 2 s after preStop) runs out. Resolves once the run loop ended.
   */
  async stop(graceMs: number): Promise<void> {
    this.stopping.abort();
    const child = this.child;
    if (child) {
      const deadline = this.ctx.now() + graceMs;
      const preStop = this.spec.lifecycle?.preStop;
      if (preStop && graceMs > 0) {
        const cut = new AbortController();
        const timer = setTimeout(() => cut.abort(), graceMs);
        const outcome = await runHandler(preStop, this.handlerContext(graceMs, AbortSignal.any([cut.signal, this.instance.signal])));
        clearTimeout(timer);
        if (outcome.result !== 'success') this.ctx.logger.warn({ container: this.name, message: outcome.message }, 'preStop hook failed');
      }
      const remaining = Math.max(deadline - this.ctx.now(), MIN_GRACE_MS);
      await terminate(child, remaining, (this.spec.lifecycle?.stopSignal as NodeJS.Signals | undefined) ?? 'SIGTERM');
    }
    await this.childExited;
    await this.runPromise;
  }

  /** For a pod that is finished: a container that never got a terminated state gets kubelet's "could not be located" one. */
  markGone(): void {
    if (this.status.state.terminated) return;
    this.status.state = { terminated: { exitCode: 137, reason: 'ContainerStatusUnknown', message: 'The container could not be located when the pod was terminated' } };
    this.status.ready = false;
    this.status.started = false;
  }
}
