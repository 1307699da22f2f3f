// Load on this host while a benchmark measures: the busy share of all its CPUs (/proc/stat), the CPU this
// benchmark's process tree used (bench/process-tree.ts), and what is left, the CPU other processes used meanwhile,
// so that a disturbed run can be told from a quiet one.
import { readFileSync } from 'node:fs';
import { clockTicksPerSecond } from './proc-cpu.js';
import { cpuMsSince, treeCpuMs } from './process-tree.js';

export interface HostCpuTicks {
  busy: number;
  idle: number;
}

/** All CPUs' busy and idle (idle + iowait) clock ticks from the "cpu" line of /proc/stat. */
export function parseHostCpu(procStat: string): HostCpuTicks {
  const line = procStat.split('\n').find((l) => /^cpu\s/.test(l));
  const fields = line?.trim().split(/\s+/).slice(1, 9).map(Number) ?? [];
  if (fields.length < 8 || fields.some((f) => !Number.isFinite(f))) throw new Error(`no "cpu" line in /proc/stat: ${procStat.slice(0, 80)}`);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = fields;
  return { busy: user + nice + system + irq + softirq + steal, idle: idle + iowait };
}

/** Share (%) of all CPUs busy between two readings. */
export function hostCpuBusy(before: HostCpuTicks, after: HostCpuTicks): number {
  const busy = after.busy - before.busy;
  const total = busy + after.idle - before.idle;
  return total > 0 ? (100 * busy) / total : 0;
}

/**
 * CPU seconds that others than the benchmark used between two readings: all CPUs' busy time less the `benchCpuMs`
 * its process tree used (never below zero; each reading is good to a clock tick per process).
 */
export function otherCpuSeconds(before: HostCpuTicks, after: HostCpuTicks, benchCpuMs: number, ticksPerSecond: number = clockTicksPerSecond()): number {
  return Math.max(0, (after.busy - before.busy) / ticksPerSecond - benchCpuMs / 1000);
}

export interface HostLoad {
  /** Share (%) of all this host's CPUs busy over the interval (whatever ran: the benchmark or anything else). */
  hostCpuBusy: number;
  /** CPU milliseconds this benchmark's process tree used over the interval. */
  benchCpuMs: number;
  /** CPU seconds the other processes on the host used over the interval. */
  otherCpuSeconds: number;
  /** The tree's CPU by pid at the start and at the end (for a split by role: process-tree.ts cpuMsByRole). */
  treeBefore: Map<number, number>;
  treeAfter: Map<number, number>;
}

/** Starts measuring the host's load; the function it returns ends the interval and says what was used in it. */
export function measureHostLoad(): () => HostLoad {
  const readHost = () => parseHostCpu(readFileSync('/proc/stat', 'utf8'));
  const hostBefore = readHost();
  const treeBefore = treeCpuMs();
  return () => {
    const hostAfter = readHost();
    const treeAfter = treeCpuMs();
    const benchCpuMs = cpuMsSince(treeBefore, treeAfter);
    return {
      hostCpuBusy: hostCpuBusy(hostBefore, hostAfter),
      benchCpuMs,
      otherCpuSeconds: otherCpuSeconds(hostBefore, hostAfter, benchCpuMs),
      treeBefore,
      treeAfter,
    };
  };
}
