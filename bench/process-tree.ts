// CPU time of a process tree (this benchmark and everything it started: components, queue-proxies, functions), read
// from /proc, so a round's cost can be told apart from other load on a shared host.
import { readdirSync, readFileSync } from 'node:fs';
import { processCpuMs } from './proc-cpu.js';

/** The parent pid in the text of /proc/<pid>/stat (field 4; fields are counted after the command name's last ")"). */
export function parseStatPpid(stat: string): number {
  const end = stat.lastIndexOf(')');
  const ppid = end === -1 ? NaN : Number(stat.slice(end + 2).split(' ')[1]);
  if (!Number.isInteger(ppid)) throw new Error(`not a /proc/<pid>/stat line: ${stat.slice(0, 80)}`);
  return ppid;
}

/** `root` and every process below it, given each process's parent. */
export function descendants(parents: ReadonlyMap<number, number>, root: number): number[] {
  const children = new Map<number, number[]>();
  for (const [pid, ppid] of parents) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  const out: number[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    out.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** What a process of the benchmark is, from its command line (NUL-separated, as in /proc/<pid>/cmdline). */
export function processRole(cmdline: string): string {
  const args = cmdline.split('\0');
  for (const component of ['activator', 'autoscaler', 'scheduler', 'node-agent', 'queue-proxy']) {
    if (args.some((a) => a.endsWith(`/${component}/main.js`))) return component;
  }
  if (args.some((a) => /\/examples\/[^/]+\/main\.js$/.test(a))) return 'function';
  return 'other';
}

/** CPU milliseconds used so far by `root` and each process below it, by pid (processes that exit meanwhile are skipped). */
export function treeCpuMs(root: number = process.pid): Map<number, number> {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      parents.set(Number(entry), parseStatPpid(readFileSync(`/proc/${entry}/stat`, 'utf8')));
    } catch {
      // Gone between readdir and read.
    }
  }
  const out = new Map<number, number>();
  for (const pid of descendants(parents, root)) {
    try {
      out.set(pid, processCpuMs(pid));
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}

/** CPU milliseconds the tree used between two readings (a process new since `before` counts from zero). */
export function cpuMsSince(before: ReadonlyMap<number, number>, after: ReadonlyMap<number, number>): number {
  let ms = 0;
  for (const [pid, now] of after) ms += Math.max(0, now - (before.get(pid) ?? 0));
  return ms;
}

/** The same, by role (`roles`: pid → role; this process is "bench", unknown pids "other"). */
export function cpuMsByRole(before: ReadonlyMap<number, number>, after: ReadonlyMap<number, number>, roles: ReadonlyMap<number, string>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [pid, now] of after) {
    const role = roles.get(pid) ?? 'other';
    out[role] = (out[role] ?? 0) + Math.max(0, now - (before.get(pid) ?? 0));
  }
  return out;
}

/** The role of each pid in `pids` (this process: "bench"), read from /proc. */
export function processRoles(pids: Iterable<number>): Map<number, string> {
  const roles = new Map<number, string>();
  for (const pid of pids) {
    if (pid === process.pid) {
      roles.set(pid, 'bench');
      continue;
    }
    try {
      roles.set(pid, processRole(readFileSync(`/proc/${pid}/cmdline`, 'utf8')));
    } catch {
      // Gone meanwhile.
    }
  }
  return roles;
}
