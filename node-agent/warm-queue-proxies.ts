// A pool of warm spare queue-proxies: booted processes waiting for an instance config on stdin, so a cold start skips Node boot and module loading.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { exited, spawnOwned } from '../lib/process.js';
import type { Logger } from '../lib/logger.js';
import { ReconnectBackoff } from '../lib/reconnect-backoff.js';
import type { ProcessPlan } from './launch-plan.js';

/*
 * Spare lifecycle:
 *
 * | from     | event                                   | to                                         |
 * |----------|-----------------------------------------|--------------------------------------------|
 * | —        | fill(): fewer than `count` spares        | BOOTING (spawned, stdin and IPC piped)     |
 * | BOOTING  | IPC message "ready" (modules loaded)     | READY                                      |
 * | READY    | handOff(config)                          | (owned by its instance, out of the pool)   |
 * | BOOTING  | handOff(config), no READY spare          | (owned by its instance; reads the config   |
 * |          |                                          |  once booted, still sooner than a spawn)   |
 * | any      | exits on its own                         | (removed); fill() again after a backoff    |
 * | any      | close()                                  | (killed)                                   |
 *
 * Spares are never instances: they hold no address and bind nothing until handed a config.
 */

/** Backoff between replacing spares that died on their own, so a broken queue-proxy script cannot spin. */
const RESPAWN_INITIAL_MS = 200;
const RESPAWN_MAX_MS = 10_000;

interface Spare {
  child: ChildProcess;
  ready: boolean;
  /** The pool's exit listener, removed on hand-off: the instance watches the process from then on. */
  onExit: (code: number | null, signal: NodeJS.Signals | null) => void;
}

export class WarmQueueProxies {
  private readonly spares: Spare[] = [];
  private readonly backoff = new ReconnectBackoff(RESPAWN_INITIAL_MS, RESPAWN_MAX_MS);
  private closed = false;
  private handOffCount = 0;

  /** `plan` returns the spawn plan of one spare, or undefined when none can run (e.g. no queue-proxy script). */
  constructor(
    private readonly count: number,
    private readonly plan: () => ProcessPlan | undefined,
    private readonly logger: Logger,
  ) {}

  /** Spares handed to instances so far. */
  get handOffs(): number {
    return this.handOffCount;
  }

  /** Pids of the spares that finished booting, oldest first. */
  readyPids(): number[] {
    return this.spares.filter((s) => s.ready && s.child.pid !== undefined).map((s) => s.child.pid!);
  }

  /** Spawns spares up to `count`, unless closed or a respawn backoff is pending. */
  fill(): void {
    if (this.closed || this.backoff.pending) return;
    while (this.spares.length < this.count) {
      const plan = this.plan();
      if (!plan) return;
      if (!this.spawn(plan)) return;
    }
  }

  /**
   * Takes the oldest ready spare (else the oldest still booting: it is further along than a new
   * process would be) out of the pool and writes `config` (one JSON line) to its stdin; from then
   * on the process is the caller's. Undefined when the pool is empty.
   */
  handOff(config: Record<string, string>): ChildProcess | undefined {
    const alive = (s: Spare): boolean => s.child.exitCode === null && s.child.signalCode === null;
    let index = this.spares.findIndex((s) => s.ready && alive(s));
    if (index < 0) index = this.spares.findIndex(alive);
    if (index < 0) return undefined;
    const [{ child, onExit }] = this.spares.splice(index, 1);
    child.off('exit', onExit);
    // A spare that dies right now shows up as the instance's queue-proxy exiting; no EPIPE crash here.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(`${JSON.stringify(config)}\n`);
    this.handOffCount++;
    return child;
  }

  /** Kills every spare, spawns no more, and resolves once they have exited (no process outlives the agent). */
  async close(): Promise<void> {
    this.closed = true;
    this.backoff.cancel();
    const spares = this.spares.splice(0);
    for (const { child } of spares) killGroup(child);
    await Promise.all(spares.map(({ child }) => exited(child)));
  }

  private spawn(plan: ProcessPlan): boolean {
    let child: ChildProcess;
    try {
      mkdirSync(path.dirname(plan.logFile), { recursive: true });
      child = spawnOwned(plan.command, plan.args, { env: plan.env, cwd: plan.cwd, logFile: plan.logFile, stdin: 'pipe', ipc: true });
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'could not spawn a warm queue-proxy');
      this.backoff.schedule(() => this.fill());
      return false;
    }
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
      const index = this.spares.indexOf(spare);
      if (index < 0) return; // handed off or closed
      this.spares.splice(index, 1);
      if (this.closed) return;
      this.logger.warn({ pid: child.pid, code, signal, retryInMs: this.backoff.nextDelayMs, log: plan.logFile }, 'warm queue-proxy exited');
      this.backoff.schedule(() => this.fill());
    };
    const spare: Spare = { child, ready: false, onExit };
    this.spares.push(spare);
    child.once('message', (message) => {
      if (message !== 'ready') return;
      spare.ready = true;
      this.backoff.reset();
    });
    child.stdin?.on('error', () => undefined);
    child.once('exit', onExit);
    child.once('error', (err) => {
      this.logger.warn({ err: err.message }, 'warm queue-proxy process error');
      if (child.pid === undefined) onExit(null, null);
    });
    return true;
  }
}

/** SIGKILL the spare's process group: it holds no requests, nothing to drain. */
function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
