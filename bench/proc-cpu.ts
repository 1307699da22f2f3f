// CPU time of a process: from /proc/<pid>/stat (any process) or a Prometheus process_cpu_seconds_total (our components).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * utime + stime in clock ticks from the text of /proc/<pid>/stat. The command name (field 2)
 * may contain spaces and parentheses, so fields are counted after its last ")".
 */
export function parseProcStatTicks(stat: string): number {
  const end = stat.lastIndexOf(')');
  if (end === -1) throw new Error(`not a /proc/<pid>/stat line: ${stat.slice(0, 80)}`);
  // After ")": field 3 (state) is index 0, so utime (14) is 11 and stime (15) is 12.
  const fields = stat.slice(end + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isInteger(utime) || !Number.isInteger(stime)) throw new Error(`no utime/stime in /proc/<pid>/stat: ${stat.slice(0, 80)}`);
  return utime + stime;
}

/** Value of an unlabelled sample `name` in Prometheus text exposition, or undefined. */
export function parsePromSample(text: string, name: string): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== ' ') continue;
    const value = Number(rest.trim().split(' ')[0]);
    if (Number.isFinite(value)) return value;
  }
  return undefined;
}

let ticksPerSecond: number | undefined;

/** The kernel's clock ticks per second (CLK_TCK), the unit of /proc's CPU times; 100 when getconf cannot say. */
export function clockTicksPerSecond(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** CPU milliseconds (user + system) the process has used so far; resolution is one clock tick (usually 10 ms). */
export function processCpuMs(pid: number): number {
  return (parseProcStatTicks(readFileSync(`/proc/${pid}/stat`, 'utf8')) * 1000) / clockTicksPerSecond();
}

/** CPU milliseconds from a component's /metrics (prom-client's process_cpu_seconds_total, microsecond resolution). */
export async function metricsCpuMs(metricsUrl: string): Promise<number> {
  const res = await fetch(metricsUrl, { signal: AbortSignal.timeout(5_000) });
  const text = await res.text();
  const seconds = parsePromSample(text, 'process_cpu_seconds_total');
  if (seconds === undefined) throw new Error(`${metricsUrl} has no process_cpu_seconds_total`);
  return seconds * 1000;
}
