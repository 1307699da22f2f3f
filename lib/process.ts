// Child processes that cannot outlive their parent: each runs under `setpriv --pdeathsig SIGKILL`, in its own process group.
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';

const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));

export interface SpawnOptions {
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** Append stdout and stderr to this file; inherit the parent's when absent. */
  logFile?: string;
  /** 'pipe' gives the child a writable `child.stdin`; otherwise stdin is ignored (with logFile) or inherited. */
  stdin?: 'pipe';
  /** Opens a Node.js IPC channel as the child's fd 3 (child.on('message'), process.send in the child). */
  ipc?: boolean;
}

/**
 * Spawns `command args` so that the kernel kills it when this process dies,
 * whatever the cause (crash, SIGKILL): no orphan processes. Without setpriv
 * (not Linux), falls back to a plain spawn and relies on the parent's cleanup.
 * The child gets its own process group, so a terminal's Ctrl-C reaches only the
 * parent, which then stops its children in order.
 */
export function spawnOwned(command: string, args: readonly string[], options: SpawnOptions): ChildProcess {
  let stdio: StdioOptions = 'inherit';
  let fd: number | undefined;
  if (options.logFile) {
    fd = openSync(options.logFile, 'a');
    stdio = ['ignore', fd, fd];
  }
  if (options.stdin === 'pipe' || options.ipc) {
    const output = fd ?? 'inherit';
    stdio = [options.stdin ?? (fd === undefined ? 'inherit' : 'ignore'), output, output, ...(options.ipc ? (['ipc'] as const) : [])];
  }
  const [file, argv] = SETPRIV
    ? [SETPRIV, ['--pdeathsig', 'SIGKILL', '--', command, ...args]]
    : [command, [...args]];
  try {
    return spawn(file, argv, { env: options.env, cwd: options.cwd, stdio, detached: true });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Whether a process with this pid exists (signal 0 checks without sending anything; EPERM: it exists, not ours). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Sends `signal` to the child's process group (the child and anything it started). */
export function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

/** Resolves when the child has exited (immediately if it already has). */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** SIGTERM, wait up to `graceMs`, then SIGKILL the group. */
export async function terminate(child: ChildProcess, graceMs: number, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  signalGroup(child, signal);
  const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), graceMs);
  await exited(child);
  clearTimeout(timer);
  // Anything the child started in its group goes too (signalGroup skips exited children, so signal directly).
  if (child.pid !== undefined) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // the group is already empty
    }
  }
}

/** The last `lines` lines of a log file, for error messages about a process that died. */
export function tailFile(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** A program and its arguments, as spawn() takes them. */
export interface CommandLine {
  command: string;
  args: string[];
}

/** Rewrites a command line, e.g. to run it inside a network namespace (`ip netns exec …`). */
export type CommandWrapper = (command: string, args: string[]) => CommandLine;

/** `command args`, through `wrap` when there is one. */
export function commandLine(command: string, args: string[], wrap?: CommandWrapper): CommandLine {
  return wrap ? wrap(command, args) : { command, args };
}
